"""Helpers of the unit tests (no database, no Django)."""

from collections.abc import Iterable, Mapping
from typing import Any


def regimen_components(
    documents: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """From parsed regimens_*.yaml documents: regimen key -> its drug keys and drug classes, and the action keys.

    A drug may be defined in another document than the regimen that uses it, so
    all documents are read together.
    """
    documents = list(documents)
    drug_class: dict[str, str] = {}
    for doc in documents:
        for drug in doc.get("drugs") or ():
            if drug.get("drug_class"):
                drug_class[drug["key"]] = str(drug["drug_class"]).lower()
    components: dict[str, frozenset[str]] = {}
    actions: set[str] = set()
    for doc in documents:
        for regimen in doc.get("regimens") or ():
            drugs = [_drug_key(d) for d in regimen.get("drugs") or regimen.get("components") or ()]
            classes = {drug_class[d] for d in drugs if d in drug_class}
            components[regimen["key"]] = frozenset(drugs) | classes
        actions.update(action["key"] for action in doc.get("actions") or ())
    return components, frozenset(actions)


def _drug_key(item: Any) -> str:
    if isinstance(item, Mapping):
        return str(item.get("drug") or item.get("key"))
    return str(item)
