"""The knowledge-base files (YAML) and the code that loads and exports them.

`loader.load_evidence` reads the files, validates all of them, then writes
them in one transaction; `exporter.export_evidence` writes the database back
out in the same format (README.md in this folder is the format contract).
"""

from pathlib import Path

EVIDENCE_DIR = Path(__file__).resolve().parent


class EvidenceError(Exception):
    """Bad data in an evidence file; the message is one line naming file, record and field."""
