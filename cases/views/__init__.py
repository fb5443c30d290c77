"""The views of cases: cases.py (cases and lines), meetings.py (agenda, walk-through, decisions), minutes.py."""
