"""Write the knowledge base out in the format of the evidence files, for review and versioning."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regimens.evidence.exporter import FORMATS, dump, export_evidence


class Command(BaseCommand):
    help = (
        "Print the knowledge base (drugs, regimens, actions, trials) as one YAML or JSON document "
        "in the format of regimens/evidence/README.md; load_evidence reads it back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=FORMATS, default="yaml")
        parser.add_argument("--output", type=Path, metavar="FILE", help="Write to FILE instead of stdout.")

    def handle(self, *args, format: str, output: Path | None, verbosity: int, **options) -> None:
        document = export_evidence()
        text = dump(document, format)
        if output is None:
            self.stdout.write(text, ending="")
            return
        output = Path(output)  # call_command(output=...) passes the string through
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{output}: cannot write: {error.strerror}") from error
        if verbosity >= 1:
            counts = ", ".join(f"{len(document[name])} {name}" for name in document)
            self.stdout.write(self.style.SUCCESS(f"Wrote {counts} to {output}."))
