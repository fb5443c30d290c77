"""python manage.py recommend [FILE|-]: case facts as JSON in, the recommendation as JSON out.

The keys are the `inputs` keys of regimens/evidence/algorithm.yaml, e.g.

    echo '{"len_status": "refractory", "anti_cd38_status": "refractory",
           "anti_cd38_agent_last": "daratumumab", "prior_lines": 2}' | python manage.py recommend -

prints the options, the settings that matched, what is not recommended and
why, and the algorithm version (JSON, indent 2). Invalid facts or invalid JSON:
exit code 2 and one line on stderr naming the field and what is allowed. The
output lists options for the board to weigh; it is not a prescription.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError

from algorithm import services
from algorithm.engine import FactsError


class Command(BaseCommand):
    help = "Case facts (JSON, keys = the algorithm's inputs) in; recommendation JSON out. '-' reads stdin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="A JSON file of facts, or - for stdin.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = self._read(options["file"])
        try:
            facts = json.loads(text)
        except json.JSONDecodeError as error:
            self._fail(f"facts: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})")
        try:
            recommendation = services.recommend(facts)
        except FactsError as error:
            self._fail(f"{error.field}: {error.message}")
        except services.NoPublishedAlgorithm as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(recommendation, indent=2, ensure_ascii=False))

    def _read(self, name: str) -> str:
        if name == "-":
            return sys.stdin.read()
        try:
            with open(name, encoding="utf-8") as handle:
                return handle.read()
        except OSError as error:
            self._fail(f"file: cannot read {name} ({error.strerror})")

    def _fail(self, line: str) -> NoReturn:
        # One line, whatever the message holds, then exit code 2 (a usage error).
        self.stderr.write(" ".join(line.split()))
        raise SystemExit(2)
