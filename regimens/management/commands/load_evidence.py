"""Load the knowledge-base YAML files into the database (idempotent, all-or-nothing)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regimens.evidence.loader import EvidenceError, load_evidence


class Command(BaseCommand):
    help = (
        "Load the knowledge-base YAML files (default: regimens/evidence/*.yaml except algorithm.yaml). "
        "Upserts on natural keys in one transaction; on bad data, stops with one line naming file, "
        "record and field, and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="*", type=Path, metavar="PATH", help="A YAML file or a folder of them."
        )
        parser.add_argument(
            "--check", action="store_true", help="Validate and report the changes; write nothing."
        )

    def handle(self, *args, paths: list[Path], check: bool, verbosity: int, **options) -> None:
        try:
            report = load_evidence([Path(path) for path in paths], dry_run=check)
        except EvidenceError as error:
            raise CommandError(str(error)) from error
        if verbosity < 1:
            return
        if not report.files:
            self.stdout.write(self.style.WARNING("No evidence files found."))
            return
        for line in report.lines():
            self.stdout.write(line)
        files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
        if check:
            self.stdout.write(self.style.SUCCESS(f"Checked {files}: no errors. Nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Loaded {files}."))
