"""python manage.py load_algorithm FILE --as-draft LABEL: an algorithm file as a new draft version.

The file has the structure of regimens/evidence/algorithm.yaml (YAML or JSON).
All or nothing: every setting, option and modifier is checked (conditions,
regimen, action and trial keys, categories, modifier keys) before anything is
written; on the first problem nothing is written and one line on stderr names
it (exit code 2). The draft is for curators to review, compare
(`algorithm_diff`), assess (`algorithm_impact`) and publish in the admin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import yaml
from django.core.management.base import BaseCommand

from algorithm.versions import DraftError, load_draft


class Command(BaseCommand):
    help = "Load an algorithm file (YAML or JSON, the structure of algorithm.yaml) as a new draft version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The algorithm file.")
        parser.add_argument(
            "--as-draft", required=True, metavar="LABEL", help='The draft\'s label, e.g. "2026.1".'
        )
        parser.add_argument("--notes", default="", help="Change notes (default: where the draft came from).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self._fail(f"{path}: cannot read the file ({getattr(error, 'strerror', None) or error})")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            self._fail(f"{path.name}: {where}not valid YAML ({getattr(error, 'problem', None) or error})")
        notes = options["notes"] or f"Loaded from {path.name}."
        try:
            draft = load_draft(data, options["as_draft"], notes)
        except DraftError as error:
            self._fail(f"{path.name}: {error}")
        settings = draft.settings.count()
        self.stdout.write(
            f"Loaded {path.name} as draft {draft.label}: {settings} settings, "
            f"{sum(s.options.count() for s in draft.settings.all())} options, {draft.modifiers.count()} modifiers."
        )

    def _fail(self, line: str) -> NoReturn:
        self.stderr.write(" ".join(line.split()))
        raise SystemExit(2)
