"""Clinical vignettes: realistic relapses with the behaviour a board must see, each backed by a source.

Each file in tests/clinical/vignettes/ holds vignettes: `facts` (the algorithm's inputs) and
`expect`, a list of properties that must hold of the recommendation. Every property names the
`source` that justifies it: a source key of algorithm.yaml or of a trials file, or
`algorithm.yaml#<section>` for a rule of the algorithm file itself (e.g. its setting rule).

Property kinds (one per item, plus `source` and an optional `why`):
  present: [KEY, ...]            offered
  absent: [KEY, ...]             not offered (whatever the reason)
  category: {KEY: category}
  not_recommended: {KEY: words}  listed as not recommended, the reason containing the words
  not_applicable: {KEY: words}   listed as not applicable here, the reason containing the words
  not_placed: {KEY: words}       listed as not placed here, the reason containing the words
  caution: {option, contains, key?}    a caution of the option whose text contains the words
  no_caution: {option, key}
  check: {option, key, needs?}   a rule that may apply, needing a fact
  order: [A, B, ...]             offered in this order (others may come between)
  first: KEY                     the first option shown
  first_setting: key             the setting that decides (the first matched)
  conditional: {KEY: fact}       offered, but needs this fact
  dominance: {option, trial, effect}
  no_setting: true               no setting matches (the answer says what it would need)
Runs without a database, on the shipped files (tests/unit builds the same rules).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from algorithm.engine import CaseFacts, evaluate
from algorithm.engine.engine import Recommendation
from tests.unit.test_algorithm_engine import load_algorithm, load_rules, load_trial_documents

VIGNETTES = Path(__file__).parent / "vignettes"
KINDS = {
    "present", "absent", "category", "not_recommended", "not_applicable", "not_placed", "caution",
    "no_caution", "check", "order", "first", "first_setting", "conditional", "dominance", "no_setting",
}  # fmt: skip


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(VIGNETTES.glob("*.yaml")):
        with open(path) as f:
            for vignette in yaml.safe_load(f)["vignettes"]:
                out.append((path.name, vignette))
    return out


ALL = _load()
PROPERTIES = [
    pytest.param(v, i, prop, id=f"{v['id']}-{i + 1}-{next(k for k in prop if k in KINDS)}")
    for _, v in ALL
    for i, prop in enumerate(v["expect"])
]


@functools.cache
def _recommend(vignette_id: str) -> Recommendation:
    vignette = next(v for _, v in ALL if v["id"] == vignette_id)
    return evaluate(CaseFacts.from_dict(vignette["facts"]), load_rules())


def _reasons(items) -> dict[str, str]:
    return {n.key: n.reason for n in items}


def _option(rec: Recommendation, key: str):
    option = rec.option(key)
    assert option is not None, f"{key} is not offered; offered: {[o.key for o in rec.options]}"
    return option


@pytest.mark.parametrize(("vignette", "index", "prop"), PROPERTIES)
def test_vignette_property_holds(vignette: dict[str, Any], index: int, prop: dict[str, Any]) -> None:
    rec = _recommend(vignette["id"])
    offered = [o.key for o in rec.options]
    kind = next(k for k in prop if k in KINDS)
    value = prop[kind]

    if kind == "present":
        assert set(value) <= set(offered), f"missing: {set(value) - set(offered)}"
    elif kind == "absent":
        assert not set(value) & set(offered), f"offered: {set(value) & set(offered)}"
    elif kind == "category":
        for key, category in value.items():
            assert _option(rec, key).category == category, (key, _option(rec, key).category_reason)
    elif kind in ("not_recommended", "not_applicable", "not_placed"):
        reasons = _reasons(getattr(rec, kind))
        for key, words in value.items():
            assert key in reasons, f"{key} not in {kind}: {sorted(reasons)}"
            assert words in reasons[key], reasons[key]
    elif kind == "caution":
        option = _option(rec, value["option"])
        texts = [c.message for c in option.cautions if value.get("key") in (None, c.modifier)]
        assert any(value["contains"] in t for t in texts), texts
    elif kind == "no_caution":
        option = _option(rec, value["option"])
        assert value["key"] not in [c.modifier for c in option.cautions]
    elif kind == "check":
        option = _option(rec, value["option"])
        check = next((c for c in option.checks if c.modifier == value["key"]), None)
        assert check is not None, [c.modifier for c in option.checks]
        if "needs" in value:
            assert value["needs"] in check.needs
    elif kind == "order":
        positions = [offered.index(k) for k in value if k in offered]
        assert len(positions) == len(value), f"not all offered: {value}"
        assert positions == sorted(positions), [offered[p] for p in sorted(positions)]
    elif kind == "first":
        assert offered and offered[0] == value, offered
    elif kind == "first_setting":
        assert rec.settings and rec.settings[0].key == value, [s.key for s in rec.settings]
    elif kind == "conditional":
        for key, fact in value.items():
            option = _option(rec, key)
            assert option.conditional and fact in option.needs, option.needs
    elif kind == "dominance":
        option = _option(rec, value["option"])
        found = [(d.trial, d.effect) for d in option.dominance]
        assert (value["trial"], value["effect"]) in found, found
    elif kind == "no_setting":
        assert not rec.settings and rec.no_match_message


def _known_sources() -> set[str]:
    keys = {s["key"] for s in load_algorithm()["sources"]}
    for doc in load_trial_documents():
        for trial in [*(doc.get("trials") or ()), *(doc.get("additions") or ())]:
            keys.update(s["key"] for s in trial.get("sources") or ())
    return keys


def test_there_are_at_least_forty_vignettes_with_unique_ids() -> None:
    ids = [v["id"] for _, v in ALL]
    assert len(ids) >= 40
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("name", "vignette"), ALL, ids=[v["id"] for _, v in ALL])
def test_every_vignette_property_names_a_source_that_exists(name: str, vignette: dict[str, Any]) -> None:
    known = _known_sources()
    sections = set(load_algorithm())
    CaseFacts.from_dict(vignette["facts"])  # the facts are valid
    assert vignette["expect"], "a vignette states what must hold"
    for prop in vignette["expect"]:
        kinds = [k for k in prop if k in KINDS]
        assert len(kinds) == 1, f"one property per item: {prop}"
        assert set(prop) <= KINDS | {"source", "why"}, prop
        source = prop.get("source")
        assert source, f"{vignette['id']}: property without a source: {prop}"
        if source.startswith("algorithm.yaml#"):
            assert source.removeprefix("algorithm.yaml#").split(".")[0] in sections, source
        else:
            assert source in known, f"{vignette['id']}: unknown source {source}"
