"""python manage.py algorithm_impact DRAFT [--against V] [--format text|json]: which cases in care change.

Runs every case in care (on an upcoming agenda, or with a decision in force
that is planned, started or recent) through version V (default: the published
one) and through DRAFT, and lists the cases whose options change: counts first,
then each case with its changes and the decision in force. Progress goes to
stderr. The result is stored with the draft, as if run from its page.

JSON: {draft, against, counts, cases: [{code, changes: [{option, before, after,
kind, label[, cautions_added]}], kinds, decision}]}; `before`/`after` are a
category, "not_recommended", or null (not listed); `decision` is null or
{option, label, category, status, recorded_at}.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand

from algorithm import impact
from algorithm.management.commands.algorithm_diff import get_version
from regimens.models import AlgorithmVersion


class Command(BaseCommand):
    help = "Which cases in care change if DRAFT replaces the published version (text or JSON; progress on stderr)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("draft", help="The draft's label.")
        parser.add_argument("--against", help="The version to compare with (default: the published one).")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        draft = get_version(options["draft"], "DRAFT", self._fail)
        if options["against"]:
            against = get_version(options["against"], "--against", self._fail)
        else:
            against = AlgorithmVersion.objects.filter(status="published").first()
            if against is None:
                self._fail("--against: no version is published; name one")
        run = impact.create_run(draft, against)
        impact.execute(run, report=self._progress(draft.label, against.label))
        cases = [{k: v for k, v in case.items() if k != "case_id"} for case in run.results]
        if options["format"] == "json":
            data = {"draft": draft.label, "against": against.label, "counts": run.counts, "cases": cases}
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        counts = run.counts
        self.stdout.write(
            f"Impact of {draft.label} against {against.label}: {counts['changed']} of {counts['in_care']} "
            "cases in care change."
        )
        for kind, title in impact.KINDS.items():
            self.stdout.write(f"  {counts['kinds'][kind]:>5}  {title}")
        if counts["errors"]:
            self.stdout.write(f"  {counts['errors']:>5}  could not be run through the engine: {run.error}")
        for case in cases:
            decision = case["decision"]
            held = (
                f"decision in force: {decision['label']} ({decision['status']})"
                if decision
                else "no decision"
            )
            changes = "; ".join(impact.describe_change(c) for c in case["changes"])
            self.stdout.write(f"{case['code']}  {held}  {changes}")

    def _progress(self, draft: str, against: str):
        stream, tty = self.stderr, sys.stderr.isatty()
        shown = {"tenth": -1}

        def report(done: int, total: int) -> None:
            line = f"impact of {draft} against {against}: {done}/{total} cases"
            if tty:
                stream.write(f"\r{line}", ending="\n" if done == total else "")
                stream.flush()
            elif (tenth := 10 * done // max(total, 1)) > shown["tenth"]:
                shown["tenth"] = tenth
                stream.write(line)

        return report

    def _fail(self, line: str) -> NoReturn:
        self.stderr.write(" ".join(line.split()))
        raise SystemExit(2)
