"""python manage.py algorithm_diff A B [--format text|json]: what changes from version A to version B.

A and B are version labels (any status, e.g. `algorithm_diff 2025.1 2026.1`).
Text: the change notes, then settings, options, modifiers and the rest of the
file, one sentence each ("cilta-cel: consider → preferred in '...'"). JSON:
{from, to, change_notes, counts, changes: [{area, kind, text, before, after,
setting, option, modifier}]}. An unknown label: exit code 2, one line.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.core.management.base import BaseCommand

from algorithm.diff import diff_versions
from regimens.models import AlgorithmVersion

AREA_TITLES = {
    "setting": "Settings",
    "option": "Options",
    "modifier": "Modifiers",
    "document": "Rest of the file",
}


def get_version(label: str, what: str, fail) -> AlgorithmVersion:
    version = AlgorithmVersion.objects.filter(label=label).first()
    if version is None:
        known = ", ".join(AlgorithmVersion.objects.order_by("created_at").values_list("label", flat=True))
        fail(f"{what}: no algorithm version {label!r} (versions: {known or 'none'})")
    return version


class Command(BaseCommand):
    help = "What changes from algorithm version A to version B, in words (or JSON)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("a", help="The earlier version's label.")
        parser.add_argument("b", help="The later version's label.")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        old = get_version(options["a"], "A", self._fail)
        new = get_version(options["b"], "B", self._fail)
        diff = diff_versions(old, new)
        if options["format"] == "json":
            self.stdout.write(json.dumps(diff.to_dict(), indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"Algorithm {old.label} ({old.status}) → {new.label} ({new.status})")
        if new.change_notes:
            self.stdout.write(f"Change notes of {new.label}: {new.change_notes}")
        if not diff.changes:
            self.stdout.write("No differences in the rules.")
        for area, changes in diff.by_area():
            if changes:
                self.stdout.write(f"\n{AREA_TITLES[area]} ({len(changes)})")
                for change in changes:
                    self.stdout.write(f"- {change.text}")

    def _fail(self, line: str) -> NoReturn:
        self.stderr.write(" ".join(line.split()))
        raise SystemExit(2)
