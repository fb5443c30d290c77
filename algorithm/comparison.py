"""One patient's options under two algorithm versions, compared: pure Python, no Django.

algorithm/impact.py derives each case's facts from the database and hands them
here in batches of (key, facts, chosen option); `evaluate_batch` runs them
through both compiled versions and returns each key's changes. Tested without
a database (tests/unit/test_algorithm_changes.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from algorithm.engine import CaseFacts, FactsError, Recommendation, Rules, evaluate

NOT_RECOMMENDED = "not_recommended"
# Kinds of change, most serious first (algorithm/impact.py names them for the pages).
CHOSEN_WITHDRAWN = "chosen_withdrawn"
NEW_PREFERRED = "new_preferred"
CATEGORY = "category"
NEW_CAUTION = "new_caution"
KIND_ORDER = (CHOSEN_WITHDRAWN, NEW_PREFERRED, CATEGORY, NEW_CAUTION)


def standing(recommendation: Recommendation, key: str) -> str | None:
    """An option's category in a recommendation, "not_recommended", or None when not listed."""
    option = recommendation.option(key)
    if option is not None:
        return option.category
    return NOT_RECOMMENDED if recommendation.excluded(key) is not None else None


def _offered(value: str | None) -> bool:
    return value not in (None, NOT_RECOMMENDED)


def compare(old: Recommendation, new: Recommendation, chosen: str | None = None) -> list[dict[str, Any]]:
    """The changes from `old` to `new` for one case, each {option, before, after, kind[, cautions_added]}.

    `chosen` is the option of the case's decision in force. Moving between "not listed" and
    "not recommended" is no change for the patient (neither is an option) unless it is the chosen one.
    """
    keys = [o.key for o in old.options] + [o.key for o in new.options if old.option(o.key) is None]
    if chosen and chosen not in keys:
        keys.append(chosen)
    changes = []
    for key in keys:
        before, after = standing(old, key), standing(new, key)
        cautions: list[str] = []
        if _offered(before) and _offered(after):
            had = {c.modifier for c in old.option(key).cautions}
            cautions = [c.modifier for c in new.option(key).cautions if c.modifier not in had]
        if before == after and not cautions:
            continue
        if not _offered(before) and not _offered(after) and key != chosen:
            continue
        if key == chosen and not _offered(after) and (_offered(before) or after == NOT_RECOMMENDED):
            kind = CHOSEN_WITHDRAWN
        elif after == "preferred" and before != "preferred":
            kind = NEW_PREFERRED
        elif before != after:
            kind = CATEGORY
        else:
            kind = NEW_CAUTION
        change: dict[str, Any] = {"option": key, "before": before, "after": after, "kind": kind}
        if cautions:
            change["cautions_added"] = cautions
        changes.append(change)
    return changes


Item = tuple[Any, dict[str, Any], str | None]  # (key, the case's facts as JSON, the option chosen)
Outcome = tuple[Any, list[dict[str, Any]] | None, str | None]  # (key, changes, or the facts' error)


def evaluate_batch(items: Iterable[Item], versions: tuple[Rules, Rules]) -> list[Outcome]:
    """Each item's facts through both versions (before, after), compared."""
    before, after = versions
    out: list[Outcome] = []
    for key, facts, chosen in items:
        try:
            case_facts = CaseFacts.from_dict(facts)
        except FactsError as error:
            out.append((key, None, f"{error.field}: {error.message}"))
            continue
        out.append((key, compare(evaluate(case_facts, before), evaluate(case_facts, after), chosen), None))
    return out
