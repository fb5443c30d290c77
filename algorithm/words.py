"""The engine's fact vocabulary in the active language.

`algorithm.engine.facts` holds every fact's title and value words in English and marks
them for the catalogue; this module says them in the language of the request
(gettext), with numbers in the language's format. The engine, its JSON and the
API stay in English (stable contracts); pages and forms read these.
"""

from __future__ import annotations

from typing import Any

from django.utils import formats
from django.utils.translation import gettext

from algorithm.engine import facts


def title(name: str) -> str:
    """A fact's title ("Stato lenalidomide")."""
    return gettext(facts.title(name))


def say(name: str, value: Any) -> str:
    """A value of a fact in that fact's words, translated ("refrattario", "sì")."""
    if isinstance(value, (frozenset, set, list, tuple)):
        return ", ".join(say(name, v) for v in sorted(value, key=str)) or gettext("none")
    if isinstance(value, float):
        return f"{value:g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))
    spec = facts.FIELD_SPECS.get(name)
    word = spec.words.get(value) if spec else None
    return gettext(word or facts.value_words(value))
