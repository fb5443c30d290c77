"""Links into the wizard: one function turns facts into the wizard's URL, in its canonical form."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from algorithm.engine.facts import FIELD_SPECS, NOT_KNOWN


def facts_query(facts: Mapping[str, Any], **extra: Any) -> list[tuple[str, str]]:
    """Query pairs for these (given) facts, in a stable order, plus extra parameters first."""
    pairs = [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    for name in FIELD_SPECS:
        value = facts.get(name)
        if value is None or value == NOT_KNOWN:  # the wizard reads "not known" as absent
            continue
        if isinstance(value, list | tuple | set | frozenset):
            pairs.extend((name, str(v)) for v in sorted(value))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


def wizard_url(facts: Mapping[str, Any], step: int = 3, **extra: Any) -> str:
    """The wizard at `step` (the options by default) for these facts: the canonical URL, so no redirect."""
    return f"{reverse('algorithm')}?{urlencode(facts_query(facts, step=step, **extra))}"
