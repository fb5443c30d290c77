"""The relapse-algorithm engine against the project's own algorithm file.

Most tests are generated from the file: for every setting, facts that satisfy its
`when` must match it and bring its options; for every modifier action, facts that
trigger it must show its effect. Named scenarios follow the source review.
No database, no Django.
"""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from algorithm.engine import (
    CaseFacts,
    FactsError,
    Rules,
    RulesError,
    evaluate,
    rules_from_dict,
    trial_evidence_from_documents,
)
from algorithm.engine.engine import DEMOTED_CATEGORY, SAFETY_RULES, Recommendation
from algorithm.engine.facts import EXPOSURE_CLASSES, FIELD_SPECS
from algorithm.engine.rules import (
    CATEGORIES,
    AllOf,
    Always,
    AnyOf,
    Comparison,
    Condition,
    compile_condition,
)
from tests.unit.helpers import regimen_components

ROOT = Path(__file__).resolve().parents[2]
PROJECT_EVIDENCE = ROOT / "regimens" / "evidence"
SHARED_EVIDENCE = ROOT.parent / "shared" / "evidence"


# -- loading (once per test session) ---------------------------------------------


@functools.cache
def load_algorithm() -> dict[str, Any]:
    with open(PROJECT_EVIDENCE / "algorithm.yaml") as f:
        return yaml.safe_load(f)


@functools.cache
def load_regimen_documents() -> tuple[dict[str, Any], ...]:
    # The project's regimen files when present, else the shared curated ones.
    paths = sorted(PROJECT_EVIDENCE.glob("regimens_*.yaml")) or sorted(
        SHARED_EVIDENCE.glob("regimens_*.yaml")
    )
    docs = []
    for path in paths:
        with open(path) as f:
            docs.append(yaml.safe_load(f))
    return tuple(docs)


@functools.cache
def load_trial_documents() -> tuple[dict[str, Any], ...]:
    paths = sorted(PROJECT_EVIDENCE.glob("trials_*.yaml")) or sorted(SHARED_EVIDENCE.glob("trials_*.yaml"))
    docs = []
    for path in paths:
        with open(path) as f:
            docs.append(yaml.safe_load(f))
    return tuple(docs)


@functools.cache
def load_rules() -> Rules:
    components, actions = regimen_components(load_regimen_documents())
    evidence = trial_evidence_from_documents(load_trial_documents(), load_regimen_documents())
    return rules_from_dict(load_algorithm(), components, actions, evidence=evidence)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


def recommend(rules: Rules, **facts: Any) -> Recommendation:
    return evaluate(CaseFacts.from_dict(facts), rules)


def option_keys(rec: Recommendation) -> list[str]:
    return [o.key for o in rec.options]


# -- a small solver: facts that satisfy a condition ---------------------------------


class _OneFact:
    def __init__(self, value: Any) -> None:
        self.value = value

    def fact(self, name: str) -> Any:
        return self.value

    def known_members(self, name: str) -> frozenset[str]:
        return frozenset()


def terms(condition: Condition | None) -> list[list[Comparison]]:
    """The condition as a list of alternatives, each a list of tests that must all hold."""
    if condition is None or isinstance(condition, Always):
        return [[]]
    if isinstance(condition, Comparison):
        return [[condition]]
    if isinstance(condition, AllOf):
        return [sum(combo, []) for combo in itertools.product(*(terms(p) for p in condition.parts))]
    if isinstance(condition, AnyOf):
        return [t for p in condition.parts for t in terms(p)]
    raise TypeError(condition)


def candidates(name: str, tests: list[Comparison]) -> list[Any]:
    spec = FIELD_SPECS[name]
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "bool":
        return [True, False]
    if spec.kind == "classes":
        wanted = {c for t in tests for c in t.operand}
        return [frozenset(wanted), frozenset(EXPOSURE_CLASSES), frozenset()]
    numbers: set[float] = {0, 1, 2, 3, 4}
    for t in tests:
        for x in t.operand if isinstance(t.operand, tuple) else (t.operand,):
            numbers |= {x - 1, x, x + 1}
    lo, hi = spec.minimum or 0, spec.maximum or 1000
    return sorted(int(n) for n in numbers if lo <= n <= hi)


def value_for(name: str, tests: list[Comparison], holds: bool = True) -> Any:
    for value in candidates(name, tests):
        if all((t.evaluate(_OneFact(value)).value is True) == holds for t in tests):
            return value
    return None


def solve_values(*conditions: Condition | None, base: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """First consistent fact values satisfying all conditions (plus `base`), or None."""
    for combo in itertools.product(*(terms(c) for c in conditions)):
        values = dict(base or {})
        by_input: dict[str, list[Comparison]] = {}
        for t in (t for term in combo for t in term):
            by_input.setdefault(t.input, []).append(t)
        for name, group in by_input.items():
            if name in values:
                if not all(t.evaluate(_OneFact(values[name])).value for t in group):
                    break
                continue
            value = value_for(name, group)
            if value is None:
                break
            values[name] = value
        else:
            try:
                CaseFacts(**values)
            except FactsError:
                continue
            return values
    return None


def solve(*conditions: Condition | None, base: dict[str, Any] | None = None) -> CaseFacts | None:
    values = solve_values(*conditions, base=base)
    return None if values is None else CaseFacts(**values)


# -- cases generated from the file ------------------------------------------------------

SETTINGS = load_rules().settings
MODIFIERS = load_rules().modifiers


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_setting_matches_facts_that_satisfy_its_conditions(rules: Rules, setting) -> None:
    facts = solve(setting.when)
    assert facts is not None, f"no facts satisfy {setting.when.describe()}"

    rec = evaluate(facts, rules)

    assert setting.key in [s.key for s in rec.settings]
    match = next(s for s in rec.settings if s.key == setting.key)
    assert match.conditions, "a matched setting says which conditions held"
    accounted = {o.key for o in rec.options} | {n.key for n in rec.not_recommended}
    accounted |= {n.key for n in rec.not_applicable}
    for option in setting.options:
        assert option.key in accounted, f"{option.key} vanished without a reason"
        if option.category == "preferred":
            assert option.key in option_keys(rec), f"preferred {option.key} missing"


OPTIONS_WITH_REQUIRES = [(s, o) for s in SETTINGS for o in s.options if o.requires is not None]


@pytest.mark.parametrize("setting, option", OPTIONS_WITH_REQUIRES, ids=lambda x: getattr(x, "key", ""))
def test_option_is_offered_without_condition_when_its_requires_hold(rules: Rules, setting, option) -> None:
    facts = solve(setting.when, option.requires)
    assert facts is not None

    offered = evaluate(facts, rules).option(option.key)

    assert offered is not None
    assert not set(offered.needs) & option.requires.inputs()


def _facts_leaving_requires_unknown(setting, option) -> tuple[CaseFacts, list[str]]:
    """Facts of the setting with the option's own inputs left out, and those still unknown."""
    values = solve_values(setting.when, option.requires)
    left_out = option.requires.inputs() - setting.when.inputs()
    facts = CaseFacts(**{k: v for k, v in values.items() if k not in left_out})
    return facts, [n for n in left_out if facts.fact(n) is None]


# Some requirements are decided by other facts (statuses imply a drug class): not unknowable.
OPTIONS_WITH_UNKNOWABLE_REQUIRES = [
    (s, o) for s, o in OPTIONS_WITH_REQUIRES if _facts_leaving_requires_unknown(s, o)[1]
]


@pytest.mark.parametrize(
    "setting, option", OPTIONS_WITH_UNKNOWABLE_REQUIRES, ids=lambda x: getattr(x, "key", "")
)
def test_option_is_conditional_when_its_requires_are_unknown(rules: Rules, setting, option) -> None:
    facts, unknown = _facts_leaving_requires_unknown(setting, option)

    rec = evaluate(facts, rules)

    offered = rec.option(option.key)
    assert offered is not None or rec.excluded(option.key) is not None
    if offered:
        assert offered.conditional and set(unknown) <= set(offered.needs)
        assert offered.needs_text.startswith("needs: ")


def _failing_requirements(setting, option) -> list[tuple[Any, CaseFacts]]:
    """(requirement, facts of the setting where exactly that requirement fails)."""
    when_inputs = setting.when.inputs()
    out = []
    for leaf in terms(option.requires)[0]:
        if leaf.input in when_inputs:
            continue
        failing = value_for(leaf.input, [leaf], holds=False)
        others = AllOf(tuple(t for t in terms(option.requires)[0] if t is not leaf))
        facts = solve(setting.when, others, base={leaf.input: failing})
        if facts is not None and leaf.evaluate(facts).value is False:
            out.append((leaf, facts))  # else other facts decide it (statuses imply a drug class)
    return out


OPTIONS_WITH_FAILABLE_REQUIRES = [(s, o) for s, o in OPTIONS_WITH_REQUIRES if _failing_requirements(s, o)]


@pytest.mark.parametrize(
    "setting, option", OPTIONS_WITH_FAILABLE_REQUIRES, ids=lambda x: getattr(x, "key", "")
)
def test_option_is_not_offered_when_a_requirement_fails(rules: Rules, setting, option) -> None:
    for leaf, facts in _failing_requirements(setting, option):
        rec = evaluate(facts, rules)

        assert option.key not in option_keys(rec)
        reasons = {n.key: n.reason for n in (*rec.not_applicable, *rec.not_recommended)}
        assert reasons.get(option.key), f"{option.key} dropped without a reason ({leaf.describe()})"


def test_generated_cases_cover_most_options_with_requirements() -> None:
    # The filters above drop requirements other facts decide; they must not drop everything.
    assert len(OPTIONS_WITH_UNKNOWABLE_REQUIRES) > len(OPTIONS_WITH_REQUIRES) // 2
    assert len(OPTIONS_WITH_FAILABLE_REQUIRES) > len(OPTIONS_WITH_REQUIRES) // 2


def _placements(modifier, action) -> list[tuple[Any, Any]]:
    out = []
    rules = load_rules()
    for setting in SETTINGS:
        for option in setting.options:
            targets = action.targets
            components = rules.components(option.key)
            reached = (
                targets.matches(option.key, components)
                if targets is not None
                else modifier.reaches(option.key, option.cautions, components)
            )
            if reached:
                out.append((setting, option))
    return out


MODIFIER_ACTIONS = [(m, a) for m in MODIFIERS for a in m.actions]


def _modifier_id(x: Any) -> str:
    return getattr(x, "key", None) or getattr(x, "action", "")


@pytest.mark.parametrize("modifier, action", MODIFIER_ACTIONS, ids=_modifier_id)
def test_modifier_action_takes_effect_when_triggered(rules: Rules, modifier, action) -> None:
    condition = action.when or modifier.trigger
    tried = 0
    for setting, option in _placements(modifier, action):
        facts = solve(setting.when, option.requires, condition)
        if facts is None:
            continue
        rec = evaluate(facts, rules)
        if rec.excluded(option.key) and rec.excluded(option.key).basis != "modifier":
            continue  # a safety rule or the setting removed it first
        offered = rec.option(option.key)
        if action.action in ("caution", "demote", "favour") and offered is None:
            continue  # hidden by another rule (e.g. CAR-T eligibility) for these facts
        tried += 1
        if action.action == "caution":
            assert offered and modifier.key in [c.modifier for c in offered.cautions]
        elif action.action == "demote":
            caution = next(c for c in offered.cautions if c.modifier == modifier.key)
            assert caution.action == "demote"
            placed = next(p.category for p in offered.settings)
            expected = action.at_most or DEMOTED_CATEGORY[placed]
            if placed == "future":
                expected = "future"
            assert CATEGORIES.index(offered.category) >= CATEGORIES.index(expected)
            assert offered.demotion, "a demotion always says what it did, also at the bottom category"
        elif action.action == "favour":
            caution = next(c for c in offered.cautions if c.modifier == modifier.key)
            assert caution.action == "favour" and offered.favoured
        elif action.action == "hide":
            assert offered is None
            hidden = next(n for n in rec.not_applicable if n.key == option.key)
            assert hidden.modifier == modifier.key and hidden.reason
        elif action.action == "exclude":
            assert offered is None
            assert rec.excluded(option.key).modifier == modifier.key
    if tried == 0:
        # The file never offers a target together with this trigger (e.g. anti-CD38
        # retreatment is only offered to anti-CD38 naive or sensitive disease), so the
        # rule is a safeguard: the targets must not be offered when it is triggered.
        assert action.action in ("hide", "exclude"), f"{modifier.key} {action.action} is never exercised"
        facts = solve(condition)
        offered = option_keys(evaluate(facts, rules))
        targets = action.targets or modifier.applies_to or frozenset()
        assert not set(offered) & targets


def _offer_with_unknown_trigger(rules: Rules, modifier, action):
    """The first option this action reaches, offered to facts that leave its trigger unknown."""
    condition = action.when or modifier.trigger
    if not condition.inputs():
        return None  # always applies: never unknown
    for setting, option in _placements(modifier, action):
        facts = solve(setting.when, option.requires)
        if facts is None or condition.evaluate(facts).value is not None:
            continue
        offered = evaluate(facts, rules).option(option.key)
        if offered is not None:
            return offered
    return None


MODIFIER_ACTIONS_WITH_UNKNOWABLE_TRIGGER = [
    (m, a) for m, a in MODIFIER_ACTIONS if _offer_with_unknown_trigger(load_rules(), m, a) is not None
]


@pytest.mark.parametrize("modifier, action", MODIFIER_ACTIONS_WITH_UNKNOWABLE_TRIGGER, ids=_modifier_id)
def test_modifier_with_unknown_trigger_asks_for_the_fact(rules: Rules, modifier, action) -> None:
    offered = _offer_with_unknown_trigger(rules, modifier, action)

    if action.action in ("hide", "exclude"):
        assert offered.conditional
    assert modifier.key in [c.modifier for c in offered.checks] + [c.modifier for c in offered.cautions]


def test_most_modifier_actions_can_be_left_unknown() -> None:
    assert len(MODIFIER_ACTIONS_WITH_UNKNOWABLE_TRIGGER) > len(MODIFIER_ACTIONS) // 2


def test_every_modifier_action_of_the_file_is_read(rules: Rules) -> None:
    data = load_algorithm()
    keys = {m.key for m in rules.modifiers} | {r.key for r in rules.input_rules}

    assert keys == {m["key"] for m in data["modifiers"]}
    assert [r.key for r in rules.input_rules] == ["MOD-LEN-LOW-DOSE"]
    assert rules.input_rules[0].input == "len_status"


# -- the facts schema follows the file ----------------------------------------------------


def test_facts_allow_exactly_the_values_the_file_lists() -> None:
    for item in load_algorithm()["inputs"]:
        spec = FIELD_SPECS[item["key"]]
        values = item["values"]
        if isinstance(values, list) and spec.kind == "bool":
            assert {v for v in values if v != "unknown"} == {True, False}, item["key"]
        elif isinstance(values, list):
            assert tuple(values) == spec.choices, item["key"]
    exposure = next(i for i in load_algorithm()["inputs"] if i["key"] == "prior_exposure")
    listed = exposure["values"].split("[", 1)[1].rstrip("]").split(", ")
    assert tuple(listed) == EXPOSURE_CLASSES


def test_every_input_of_the_file_is_a_fact() -> None:
    inputs = {i["key"] for i in load_algorithm()["inputs"]}
    derived = {i["derived"]["key"] for i in load_algorithm()["inputs"] if "derived" in i}

    assert inputs | derived | {"on_dialysis"} == set(FIELD_SPECS)
    assert set(CaseFacts.__dataclass_fields__) == set(FIELD_SPECS)


def test_safety_rules_cite_sources_of_the_file(rules: Rules) -> None:
    for rule in SAFETY_RULES:
        assert set(rule.sources) <= rules.known_sources


def test_every_condition_operator_of_the_file_compiles() -> None:
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            seen.update(
                k for k in node if k in ("all", "any", "always", "in", "eq", "gt", "gte", "lt", "between")
            )
            seen.update(k for k in node if k == "includes")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    data = load_algorithm()
    walk([s["when"] for s in data["settings"]])
    walk([o.get("requires") for s in data["settings"] for o in s["options"]])
    walk([m["trigger"] for m in data["modifiers"]])

    assert seen == {"all", "any", "always", "in", "eq", "gt", "gte", "lt", "between", "includes"}


# -- named scenarios --------------------------------------------------------------------

LEN_REFRACTORY_CD38_NAIVE = {
    "len_status": "refractory",
    "anti_cd38_status": "naive",
    "anti_cd38_agent_last": "none",
    "bortezomib_status": "exposed_sensitive",
    "carfilzomib_status": "naive",
    "pomalidomide_status": "naive",
    "prior_lines": 1,
}
DARA_LEN_DOUBLE_REFRACTORY = {
    "len_status": "refractory",
    "anti_cd38_status": "refractory",
    "anti_cd38_agent_last": "daratumumab",
    "bortezomib_status": "exposed_sensitive",
    "carfilzomib_status": "naive",
    "pomalidomide_status": "naive",
    "prior_lines": 1,
}


def test_len_refractory_cd38_naive_first_relapse_offers_isakd_and_dpd_first(rules: Rules) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE)

    assert [s.key for s in rec.settings] == ["len_refractory_cd38_naive_or_sensitive"]
    categories = {o.key: o.category for o in rec.options}
    assert option_keys(rec)[0] == "ISA-KD"
    # The seed's two preferred options, and cilta-cel with them: CARTITUDE-4 beat PVd/DPd on PFS.
    assert {k for k, c in categories.items() if c == "preferred"} == {"ISA-KD", "DPD", "CILTA-CEL"}
    assert option_keys(rec).index("CILTA-CEL") < option_keys(rec).index("DPD")
    # BPd and BVd rank with the regimens DREAMM-8 and DREAMM-7 beat (PVd, DVd).
    assert {"SVD", "PVD", "KD", "DKD", "DVD", "BVD", "BPD"} == {
        k for k, c in categories.items() if c == "alternative"
    }
    assert option_keys(rec).index("BPD") < option_keys(rec).index("PVD")
    assert option_keys(rec).index("BVD") < option_keys(rec).index("DVD")
    assert categories["VEN-VD"] == "consider"
    assert "lenalidomide status is refractory" in rec.settings[0].conditions


def test_len_refractory_case_lists_lenalidomide_regimens_as_not_recommended(rules: Rules) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE)

    for key in ("DRD", "KRD", "ERD", "IRD"):
        excluded = rec.excluded(key)
        assert excluded and excluded.basis == "safety" and excluded.modifier == "REFRACTORY-LEN"
        assert "lenalidomide-refractory" in excluded.reason
        assert key not in option_keys(rec)


def test_dara_len_double_refractory_offers_svd_first(rules: Rules) -> None:
    rec = recommend(rules, **DARA_LEN_DOUBLE_REFRACTORY)

    assert [s.key for s in rec.settings] == ["len_and_cd38_refractory"]
    assert rec.options[0].key == "SVD" and rec.options[0].category == "preferred"
    assert {"PVD", "KD"} <= {o.key for o in rec.options if o.category == "alternative"}
    assert rec.option("BVD").category == "future"


def test_dara_len_double_refractory_excludes_anti_cd38_retreatment_with_reason(rules: Rules) -> None:
    rec = recommend(rules, **DARA_LEN_DOUBLE_REFRACTORY)

    for key in ("DKD", "ISA-KD", "DPD", "ISA-PD", "DVD"):
        excluded = rec.excluded(key)
        assert excluded is not None and key not in option_keys(rec)
        assert "anti-CD38" in excluded.reason
        assert "seed-barila-2025" in excluded.sources and "LYNX" in excluded.trials
        assert excluded.modifier == "REFRACTORY-CD38"
    assert not any(
        "DARATUMUMAB" in rules.components(k) or "ISATUXIMAB" in rules.components(k) for k in option_keys(rec)
    )


@pytest.mark.parametrize(
    "t_11_14, expected", [(True, "offered"), (None, "conditional"), (False, "not_recommended")]
)
def test_ven_vd_only_with_t11_14(rules: Rules, t_11_14: bool | None, expected: str) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE, t_11_14=t_11_14)

    ven = rec.option("VEN-VD")
    if expected == "offered":
        assert ven and not ven.conditional
        assert "MOD-T1114" in [c.modifier for c in ven.cautions]
    elif expected == "conditional":
        assert ven and ven.conditional and "t_11_14" in ven.needs
    else:
        assert ven is None
        assert "t(11;14)" in rec.excluded("VEN-VD").reason


def test_ven_vd_not_offered_when_bortezomib_refractory(rules: Rules) -> None:
    rec = recommend(rules, **{**LEN_REFRACTORY_CD38_NAIVE, "bortezomib_status": "refractory"}, t_11_14=True)

    assert rec.option("VEN-VD") is None
    assert "bortezomib-refractory" in rec.excluded("VEN-VD").reason


def test_unknown_car_t_eligibility_makes_car_t_conditional(rules: Rules) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE)

    cilta = rec.option("CILTA-CEL")
    assert cilta is not None and cilta.conditional
    assert "car_t_eligible" in cilta.needs
    assert "eligible for CAR-T" in cilta.needs_text


def test_car_t_offered_when_eligible_and_hidden_when_not(rules: Rules) -> None:
    eligible = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE, car_t_eligible=True, ecog=1)
    not_eligible = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE, car_t_eligible=False)

    assert eligible.option("CILTA-CEL") and not eligible.option("CILTA-CEL").conditional
    assert not_eligible.option("CILTA-CEL") is None
    assert any(n.key == "CILTA-CEL" for n in not_eligible.not_applicable)


def test_ecog_2_hides_car_t_with_the_modifier_reason(rules: Rules) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE, car_t_eligible=True, ecog=2)

    hidden = next(n for n in rec.not_applicable if n.key == "CILTA-CEL")
    assert hidden.modifier == "MOD-CART-BRIDGING"
    assert "ECOG performance status is 2" in hidden.reason


def test_heart_failure_ranks_carfilzomib_regimens_below_dpd(rules: Rules) -> None:
    rec = recommend(rules, **LEN_REFRACTORY_CD38_NAIVE, cardiovascular_risk="heart_failure_or_reduced_lvef")

    keys = option_keys(rec)
    isakd = rec.option("ISA-KD")
    assert keys.index("DPD") < keys.index("ISA-KD")
    # Out of preferred and alternative; the trials that excluded LVEF < 40% are named.
    assert isakd.category == "consider" and isakd.demoted_from == "preferred"
    assert "IKEMA" in next(c.message for c in isakd.cautions if c.modifier == "TRIAL-FIT")
    assert keys.index("ISA-KD") > keys.index("SVD") and keys.index("ISA-KD") > keys.index("PVD")
    caution = next(c for c in isakd.cautions if c.modifier == "MOD-CFZ-CV")
    assert caution.action == "demote" and caution.source == "emn-siia-cfz-2019"
    assert "cardiovascular risk is heart failure or reduced LVEF" in caution.because


def test_grade_2_neuropathy_cautions_bortezomib_regimens(rules: Rules) -> None:
    rec = recommend(rules, **DARA_LEN_DOUBLE_REFRACTORY, peripheral_neuropathy_grade=2)

    svd = rec.option("SVD")
    assert "MOD-BTZ-PN" in [c.modifier for c in svd.cautions]
    assert svd.demoted_from == "preferred"


def test_belantamab_always_carries_the_eye_examination_caution(rules: Rules) -> None:
    rec = recommend(rules, **DARA_LEN_DOUBLE_REFRACTORY, ocular_surface_disease=False)

    bpd = rec.option("BPD")
    assert "MOD-BELA-OCULAR" in [c.modifier for c in bpd.cautions]
    assert bpd.demoted_from is None


def test_most_specific_setting_comes_first(rules: Rules) -> None:
    rec = recommend(rules, **{**LEN_REFRACTORY_CD38_NAIVE, "prior_lines": 2})

    assert [s.key for s in rec.settings] == [
        "third_line_len_and_pi_exposed_cd38_naive",
        "len_refractory_cd38_naive_or_sensitive",
    ]
    dpd = rec.option("DPD")
    assert [p.setting for p in dpd.settings] == [s.key for s in rec.settings]
    assert dpd.category == "alternative"  # as the more specific third-line setting places it


def test_triple_class_exposed_case_after_bcma_therapy(rules: Rules) -> None:
    rec = recommend(
        rules,
        len_status="refractory",
        pomalidomide_status="refractory",
        bortezomib_status="refractory",
        carfilzomib_status="refractory",
        anti_cd38_status="refractory",
        anti_cd38_agent_last="daratumumab",
        prior_lines=5,
        bcma_exposed="car_t",
        gprc5d_exposed=False,
    )

    keys = [s.key for s in rec.settings]
    assert keys[0] == "post_bcma_or_penta_refractory"
    assert "triple_class_exposed_3plus_prior_lines" in keys
    assert rec.options[0].key == "CLINICAL-TRIAL" and rec.options[0].kind == "action"
    assert rec.option("TALQUETAMAB") and not rec.option("TALQUETAMAB").conditional
    assert rec.facts["penta_refractory"] is True


def test_no_matching_setting_is_said_plainly(rules: Rules) -> None:
    rec = recommend(rules)

    assert rec.settings == () and rec.options == ()
    assert rec.no_match_message.startswith("No setting of the algorithm matches these facts")
    assert "lenalidomide status" in rec.no_match_message
    assert {p.key for p in rec.possible_settings} >= {"len_and_cd38_refractory"}


def test_recommendation_is_json_ready(rules: Rules) -> None:
    rec = recommend(rules, **DARA_LEN_DOUBLE_REFRACTORY, t_11_14=False)

    data = json.loads(json.dumps(rec.to_dict()))

    assert data["algorithm_version"] == rules.version
    assert {"key", "kind", "category", "rank", "rationale", "trials", "cautions", "settings", "needs"} <= set(
        data["options"][0]
    )
    assert {"key", "reason", "source"} <= set(data["not_recommended"][0])
    assert data["settings"][0]["conditions"]


# -- the engine enforces safety whatever the rules say ----------------------------------


def _rules_offering(rules: Rules, keys: list[str]) -> Rules:
    """Hand-made rules that offer `keys` to everyone, to show the engine's own safety net."""
    data = {
        "meta": {"version": "test"},
        "settings": [
            {
                "key": "everyone",
                "label": "Everyone",
                "when": {"always": True},
                "options": [{"regimen": k, "category": "preferred"} for k in keys],
            }
        ],
        "modifiers": [],
    }
    return rules_from_dict(data, rules.regimen_components, rules.action_keys)


@pytest.mark.parametrize(
    "key, facts, words",
    [
        ("DRD", {"len_status": "refractory"}, "contains lenalidomide, to which the disease is refractory"),
        ("DPD", {"anti_cd38_status": "refractory"}, "contains an anti-CD38 antibody"),
        ("ISA-KD", {"anti_cd38_status": "refractory"}, "contains an anti-CD38 antibody"),
        ("PVD", {"pomalidomide_status": "refractory"}, "contains pomalidomide"),
        ("KD", {"carfilzomib_status": "refractory"}, "contains carfilzomib"),
        ("VEN-VD", {"t_11_14": False}, "t(11;14)"),
    ],
)
def test_safety_rules_hold_even_if_the_rules_offer_the_regimen(rules: Rules, key, facts, words) -> None:
    other = "SD" if key == "PVD" else "PVD"
    rec = evaluate(CaseFacts(**facts), _rules_offering(rules, [key, other]))

    assert option_keys(rec) == [other]
    assert rec.excluded(key).basis == "safety" and words in rec.excluded(key).reason


def test_rules_from_dict_names_the_bad_path(rules: Rules) -> None:
    data = load_algorithm()
    bad_input = {
        **data,
        "settings": [{**data["settings"][0], "when": {"input": "len_stat", "in": ["naive"]}}],
    }
    bad_value = {
        **data,
        "settings": [{**data["settings"][0], "when": {"input": "len_status", "in": ["sens"]}}],
    }
    bad_key = {
        **data,
        "settings": [{**data["settings"][0], "options": [{"regimen": "XYZ", "category": "preferred"}]}],
    }

    for broken, path in [
        (bad_input, "settings[0].when.input"),
        (bad_value, "settings[0].when.in"),
        (bad_key, "settings[0].options[0].regimen"),
    ]:
        with pytest.raises(RulesError) as error:
            rules_from_dict(broken, rules.regimen_components, rules.action_keys)
        assert error.value.path == path


def test_condition_explains_itself() -> None:
    condition = compile_condition(
        {"all": [{"input": "len_status", "in": ["refractory"]}, {"input": "prior_lines", "between": [1, 3]}]},
        "t",
    )

    held = condition.evaluate(CaseFacts(len_status="refractory", prior_lines=2))
    unknown = condition.evaluate(CaseFacts(len_status="refractory"))
    failed = condition.evaluate(CaseFacts(len_status="naive", prior_lines=2))

    assert held.value is True
    assert held.held == ("lenalidomide status is refractory", "prior lines of therapy is 2 (between 1 and 3)")
    assert unknown.value is None and unknown.needs == ("prior_lines",)
    assert failed.value is False and "needs: lenalidomide status is refractory" in failed.failed[0]


# -- derived facts --------------------------------------------------------------------


def test_derived_facts_follow_the_file_definitions() -> None:
    facts = CaseFacts(
        len_status="refractory",
        pomalidomide_status="refractory",
        bortezomib_status="refractory",
        carfilzomib_status="refractory",
        anti_cd38_status="refractory",
        months_from_start_of_frontline_to_progression=14,
    )

    assert facts.triple_class_exposed and facts.triple_class_refractory and facts.penta_refractory
    assert facts.pi_sensitive is False
    assert facts.early_relapse is True


def test_derived_facts_stay_unknown_when_the_statuses_do_not_decide() -> None:
    facts = CaseFacts(len_status="refractory")

    assert facts.triple_class_exposed is None and facts.pi_sensitive is None and facts.early_relapse is None


def test_contradicting_derived_fact_names_the_field() -> None:
    with pytest.raises(FactsError) as error:
        CaseFacts(anti_cd38_status="naive", triple_class_exposed=True)

    assert error.value.field == "triple_class_exposed"


def test_prior_exposure_gains_the_classes_the_statuses_prove() -> None:
    facts = CaseFacts.from_dict({"len_status": "refractory", "prior_exposure": ["PI", "anti_CD38"]})

    assert facts.prior_exposure == {"IMiD", "PI", "anti_CD38"}
    assert facts.triple_class_exposed is True
    assert facts.bcma_exposed == "none" and facts.gprc5d_exposed is False
