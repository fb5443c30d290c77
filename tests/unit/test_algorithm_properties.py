"""Properties of the engine for any facts (hypothesis): it always answers, and it
never offers what the safety rules forbid."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from algorithm.engine import CaseFacts, FactsError, evaluate
from algorithm.engine.engine import _population_matches
from algorithm.engine.facts import EXPOSURE_CLASSES, FIELD_SPECS, STATUS_DRUGS, FieldSpec
from algorithm.engine.rules import CATEGORIES
from tests.unit.test_algorithm_engine import load_rules

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(int(spec.minimum), int(spec.maximum))
    if spec.kind == "number":
        return st.one_of(
            st.integers(int(spec.minimum), int(spec.maximum)),
            st.floats(spec.minimum, spec.maximum, allow_nan=False, allow_infinity=False),
        )
    return st.lists(st.sampled_from(EXPOSURE_CLASSES), unique=True).map(sorted)


def fact_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """JSON-like fact dicts; derived facts are mostly left for the engine to compute."""
    entries = {}
    for name, spec in FIELD_SPECS.items():
        # Given derived facts may contradict the statuses (refused by design), so give them rarely.
        nones = [st.none()] * (3 if spec.derived else 1)
        entries[name] = st.one_of(*nones, valid_value(spec))
    return st.fixed_dictionaries({}, optional=entries)


def facts_from(data: dict[str, Any]) -> CaseFacts:
    try:
        return CaseFacts.from_dict(data)
    except FactsError:
        reject()  # contradicting facts (e.g. triple-class exposed but anti-CD38 naive) are refused by design
        raise


def offered_components(facts: CaseFacts) -> list[tuple[str, frozenset[str]]]:
    rules = load_rules()
    rec = evaluate(facts, rules)
    return [(o.key, rules.components(o.key)) for o in rec.options]


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_engine_answers_for_any_valid_facts(data: dict[str, Any]) -> None:
    facts = facts_from(data)

    rec = evaluate(facts, load_rules())

    json.dumps(rec.to_dict())
    assert rec.options or rec.no_match_message or rec.settings
    assert bool(rec.settings) != bool(rec.no_match_message)
    for option in rec.options:
        assert all(facts.fact(n) is None for n in option.needs), "needs only names facts left unknown"


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_never_offers_lenalidomide_to_lenalidomide_refractory(data: dict[str, Any]) -> None:
    facts = facts_from({**data, "len_status": "refractory"})

    for key, components in offered_components(facts):
        assert "LENALIDOMIDE" not in components, key


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_never_offers_anti_cd38_to_anti_cd38_refractory(data: dict[str, Any]) -> None:
    data = {**data, "anti_cd38_status": "refractory"}
    if data.get("anti_cd38_agent_last") == "none":
        data["anti_cd38_agent_last"] = "daratumumab"
    facts = facts_from(data)

    for key, components in offered_components(facts):
        assert "anti_cd38" not in components, key


@pytest.mark.parametrize("status", ["pomalidomide_status", "bortezomib_status", "carfilzomib_status"])
@PROPERTY_SETTINGS
@given(data=fact_dicts())
def test_never_offers_a_drug_the_disease_is_refractory_to(status: str, data: dict[str, Any]) -> None:
    facts = facts_from({**data, status: "refractory"})
    drug = STATUS_DRUGS[status][0]
    rules = load_rules()

    for option in evaluate(facts, rules).options:
        if drug in rules.components(option.key):
            # the one exception: a trial cited for it enrolled such patients, and a caution says so
            assert any(
                c.modifier.startswith("REFRACTORY-") and "enrolled" in c.message for c in option.cautions
            )


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_options_are_listed_by_category_and_randomised_evidence_is_never_ranked_below(
    data: dict[str, Any],
) -> None:
    facts = facts_from(data)
    rules = load_rules()

    rec = evaluate(facts, rules)

    order = [o.key for o in rec.options]
    categories = [CATEGORIES.index(o.category) for o in rec.options]
    assert categories == sorted(categories)
    for comp in rules.evidence.comparisons:
        if comp.better not in order or comp.worse not in order:
            continue
        if order.index(comp.better) < order.index(comp.worse):
            continue
        if _population_matches(facts, rules, comp.trial) is not True:
            continue
        better = rec.option(comp.better)
        assert better.demotion, f"{comp.better} below {comp.worse} ({comp.trial}) without a patient factor"
        assert any(d.trial == comp.trial and d.effect == "not_applied" for d in better.dominance)


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_never_offers_venetoclax_without_t11_14(data: dict[str, Any]) -> None:
    facts = facts_from({**data, "t_11_14": False})

    for key, components in offered_components(facts):
        assert "VENETOCLAX" not in components, key


def invalid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    words = st.text(min_size=1, max_size=12).filter(lambda w: w.strip().lower() not in ("", "unknown"))
    if spec.kind == "choice":
        return st.one_of(words.filter(lambda w: w.strip() not in map(str, spec.choices)), st.just([1]))
    if spec.kind == "bool":
        return st.one_of(
            words.filter(lambda w: w.strip().lower() not in ("true", "false", "yes", "no")), st.just(2)
        )
    if spec.kind in ("int", "number"):
        out_of_range = st.one_of(
            st.floats(max_value=spec.minimum, exclude_max=True, allow_nan=False),
            st.floats(min_value=spec.maximum, exclude_min=True, allow_nan=False),
        )
        return st.one_of(out_of_range, st.just(True), st.just("twelve"), st.just([3]))
    return st.one_of(st.just(["IMiD", "not-a-class"]), st.just("IMiD"), st.just([1]))


@st.composite
def invalid_fact_dicts(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    data = draw(fact_dicts())
    name = draw(st.sampled_from(sorted(FIELD_SPECS)))
    data[name] = draw(invalid_value(FIELD_SPECS[name]))
    return data, name


@PROPERTY_SETTINGS
@given(invalid_fact_dicts())
def test_invalid_fact_raises_facts_error_naming_the_field(case: tuple[dict[str, Any], str]) -> None:
    data, name = case
    try:
        CaseFacts.from_dict(data)
    except FactsError as error:
        assert error.field == name
        assert error.message
    else:
        raise AssertionError(f"{name}={data[name]!r} was accepted")


@PROPERTY_SETTINGS
@given(fact_dicts(), st.text(min_size=1, max_size=20).filter(lambda k: k not in FIELD_SPECS))
def test_unknown_key_raises_facts_error_naming_it(data: dict[str, Any], key: str) -> None:
    try:
        CaseFacts.from_dict({**data, key: 1})
    except FactsError as error:
        assert error.field == key
    else:
        raise AssertionError("an unknown key was accepted")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@PROPERTY_SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(FIELD_SPECS)), json_values))
def test_any_json_gives_facts_or_facts_error(data: dict[str, Any]) -> None:
    try:
        facts = CaseFacts.from_dict(data)
    except FactsError as error:
        assert error.field in FIELD_SPECS or error.field == "facts"
        return
    evaluate(facts, load_rules())


@PROPERTY_SETTINGS
@given(fact_dicts())
def test_facts_survive_a_json_round_trip(data: dict[str, Any]) -> None:
    facts = facts_from(data)

    again = CaseFacts.from_dict(json.loads(json.dumps(facts.to_dict())))

    assert again == facts
