"""A case's history in words: what changed in the case, its lines, overrides and decisions, by whom."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, pgettext

from algorithm.words import title
from cases.models import Case, Decision, FactOverride, TherapyLine


@dataclass
class HistoryEntry:
    when: Any
    who: str
    what: str
    changes: list[str]


def _diff_history(records, label, fields) -> list[HistoryEntry]:
    """Consecutive historical rows of each object -> entries with the changed fields (no extra queries)."""
    entries: list[HistoryEntry] = []
    records = sorted(records, key=lambda r: (r.id, r.history_date))
    for _, rows in itertools.groupby(records, key=lambda r: r.id):
        previous = None
        for row in rows:
            kind = {
                "+": pgettext("history", "created"),
                "~": pgettext("history", "changed"),
                "-": pgettext("history", "deleted"),
            }[row.history_type]
            changes = []
            if previous is not None and row.history_type == "~":
                for name in fields:
                    old, new = getattr(previous, name, None), getattr(row, name, None)
                    if old != new:
                        changes.append(f"{name.replace('_', ' ')}: {short(old)} → {short(new)}")
            who = row.history_user.get_username() if row.history_user_id else gettext("system")
            entries.append(HistoryEntry(row.history_date, who, f"{label(row)} {kind}", changes))
            previous = row
    return entries


def short(value) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


CASE_HISTORY_FIELDS = [
    f.name for f in Case._meta.fields if f.name not in {"id", "created_at", "updated_at", "version"}
]
LINE_HISTORY_FIELDS = [f.attname for f in TherapyLine._meta.fields if f.name not in {"id", "case"}]


def case_history(case: Case, limit: int = 25) -> list[HistoryEntry]:
    """Case, line, override and decision changes, newest first: four queries."""
    entries = _diff_history(
        case.history.select_related("history_user"), lambda r: gettext("Case"), CASE_HISTORY_FIELDS
    )
    entries += _diff_history(
        TherapyLine.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: gettext("Line %(number)s") % {"number": r.number},
        LINE_HISTORY_FIELDS,
    )
    entries += _diff_history(
        FactOverride.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: (
            gettext("Override of %(fact)s (%(value)s: %(reason)s)")
            % {"fact": title(r.fact), "value": short(r.value), "reason": short(r.reason)}
        ),
        ["value", "reason"],
    )
    entries += _diff_history(
        Decision.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: gettext("Decision %(option)s") % {"option": r.option_label},
        ["status", "deviation_reason", "follow_up"],
    )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]
