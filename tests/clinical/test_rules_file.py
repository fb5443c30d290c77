"""The algorithm file as a whole (issue 10): every input is read, every labelled regimen is placed
or said not to be, and every number a rationale quotes is a result row of the same analysis."""

from __future__ import annotations

import re
from typing import Any

import pytest

from algorithm.engine.facts import FIELD_SPECS, STATUS_DRUGS
from algorithm.engine.rules import AllOf, AnyOf, Comparison, compile_condition
from tests.unit.test_algorithm_engine import (
    load_algorithm,
    load_regimen_documents,
    load_rules,
    load_trial_documents,
    solve,
    terms,
)

# Which inputs each derived fact is computed from (algorithm/engine/facts.py, CaseFacts._derive).
DERIVED_FROM = {
    "pi_sensitive": ("bortezomib_status", "carfilzomib_status"),
    "triple_class_exposed": ("len_status", "pomalidomide_status", "bortezomib_status", "carfilzomib_status",
                             "anti_cd38_status", "prior_exposure"),
    "triple_class_refractory": ("len_status", "pomalidomide_status", "bortezomib_status", "carfilzomib_status",
                                "anti_cd38_status"),
    "penta_refractory": ("len_status", "pomalidomide_status", "bortezomib_status", "carfilzomib_status",
                         "anti_cd38_status"),
    "bcma_exposed": ("prior_exposure",),
    "gprc5d_exposed": ("prior_exposure",),
    "early_relapse": ("months_from_start_of_frontline_to_progression",),
}  # fmt: skip


def _inputs_read_by_rules() -> set[str]:
    rules = load_rules()
    read: set[str] = set()
    for setting in rules.settings:
        read |= setting.when.inputs()
        for option in setting.options:
            if option.requires:
                read |= option.requires.inputs()
    for modifier in rules.modifiers:
        read |= modifier.trigger.inputs()
        for action in modifier.actions:
            if action.when:
                read |= action.when.inputs()
    for rule in rules.refractory:
        read |= rule.when.inputs()
        for when, _, _ in rule.notes:
            read |= when.inputs()
    used = {f.criterion for facts in rules.eligibility.values() for f in facts}
    for key in used:
        read |= rules.criteria[key].when.inputs()
    if rules.dose_tiers:
        read |= {"crcl_ml_min", "on_dialysis"}
    return read


def test_every_input_of_the_file_is_read_by_a_rule_or_a_derived_fact() -> None:
    read = _inputs_read_by_rules()
    # A derived fact that a rule reads counts as reading its own inputs.
    for derived, sources in DERIVED_FROM.items():
        if derived in read:
            read |= set(sources)
    items = load_algorithm()["inputs"]
    inputs = [i["key"] for i in items] + [i["derived"]["key"] for i in items if "derived" in i]

    unread = [name for name in inputs if name not in read]

    assert not unread, f"inputs read by no rule or derived fact: {unread}"
    assert set(inputs) == set(FIELD_SPECS)


def test_the_refractoriness_rule_covers_every_drug_status_the_facts_track() -> None:
    statuses = {n for n, s in FIELD_SPECS.items() if s.kind == "choice" and "refractory" in s.choices}
    rules = load_rules()

    assert statuses == set(STATUS_DRUGS)
    assert {r.input for r in rules.refractory if r.input} == statuses
    for rule in rules.refractory:
        assert set(rule.sources) <= rules.known_sources, rule.key
        for _, _, sources in rule.notes:
            assert set(sources) <= rules.known_sources, rule.key


def test_trial_eligibility_and_renal_tiers_cite_sources_of_the_file() -> None:
    rules = load_rules()
    trial_keys = {t["key"] for doc in load_trial_documents() for t in doc.get("trials") or ()}
    for trial, facts in rules.eligibility.items():
        assert trial in trial_keys, trial
        for fact in facts:
            assert fact.source in rules.known_sources, (trial, fact.criterion)
    for tier in rules.dose_tiers:
        assert tier.source is None or tier.source in rules.known_sources, tier
        assert tier.kind == "standard" or tier.source, f"a dose change needs its source: {tier}"


NEW_SECTIONS = ("refractoriness", "trial_eligibility", "renal_dosing")
NEW_MODIFIERS = {
    "MOD-IMID-VTE", "MOD-SELINEXOR-ANTIEMETIC", "MOD-CFZ-CARDIAC", "MOD-CART-WORKUP", "MOD-FRAILTY-REGIMEN",
    "MOD-HIGH-RISK", "MOD-CFZ-CV", "MOD-BELA-OCULAR", "MOD-BISPECIFIC-INFECTION",
}  # fmt: skip


def _quotes(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "quote" and isinstance(v, str)] + [
            q for k, v in node.items() if k != "quote" for q in _quotes(v)
        ]
    if isinstance(node, list):
        return [q for v in node for q in _quotes(v)]
    return []


def test_facts_added_in_2026_keep_a_verbatim_quote_of_at_most_30_words() -> None:
    data = load_algorithm()
    quotes = [q for section in NEW_SECTIONS for q in _quotes(data[section])]
    quotes += [q for m in data["modifiers"] if m["key"] in NEW_MODIFIERS for q in _quotes(m["evidence"])]

    assert len(quotes) > 40
    assert all(len(q.split()) <= 30 for q in quotes), [q for q in quotes if len(q.split()) > 30]


# -- breadth: every regimen is placed where its label covers the setting, or said not to be --------


def _forced_refractory_drugs(setting) -> set[str]:
    """Drugs every case of the setting is refractory to (its conditions require it)."""
    forced = None
    for term in terms(setting.when):
        drugs = {
            STATUS_DRUGS[t.input][0]
            for t in term
            if t.input in STATUS_DRUGS and t.op in ("in", "eq") and set(_operands(t)) == {"refractory"}
        }
        forced = drugs if forced is None else forced & drugs
    return forced or set()


def _operands(test: Comparison) -> tuple:
    return test.operand if test.op == "in" else (test.operand,)


def _labels() -> dict[str, Any]:
    return {
        item["regimen"]: compile_condition(item["when"], f"labels.{item['regimen']}")
        for item in load_algorithm()["labels"]["items"]
    }


def test_every_regimen_of_the_knowledge_base_has_a_label_entry() -> None:
    regimens = {r["key"] for doc in load_regimen_documents() for r in doc.get("regimens") or ()}
    labels = load_algorithm()["labels"]
    listed = {i["regimen"] for i in labels["items"]} | {i["regimen"] for i in labels["without_label"]}

    assert regimens == listed, f"not listed: {regimens - listed}; unknown: {listed - regimens}"


BREADTH_CASES = [(s, key, label) for s in load_rules().settings for key, label in _labels().items()]


@pytest.mark.parametrize(
    ("setting", "key", "label"), BREADTH_CASES, ids=[f"{s.key}-{k}" for s, k, _ in BREADTH_CASES]
)
def test_a_regimen_its_label_covers_is_placed_in_the_setting_or_said_not_to_be(setting, key, label) -> None:
    if solve(setting.when, label) is None:
        return  # the label cannot cover any case of this setting
    rules = load_rules()
    if _forced_refractory_drugs(setting) & rules.components(key):
        return  # every case of the setting is refractory to a drug of it: the refractoriness rule says why
    placed = {o.key for o in setting.options}
    said = {k for rule in setting.not_placed for k in rule.keys}
    said |= {k for rule in setting.not_recommended for k in rule.keys}

    assert key in placed | said, f"{key} is on label in {setting.key} but neither placed nor said not to be"


def test_the_breadth_check_finds_overlaps_to_check() -> None:
    covered = [(s.key, k) for s, k, label in BREADTH_CASES if solve(s.when, label) is not None]
    assert len(covered) > 100
    assert ("first_relapse_len_not_refractory", "IDE-CEL") in covered  # TCE after 2-3 lines, Len-sensitive


# -- numbers in rationales --------------------------------------------------------------------------


def _trials() -> dict[str, dict[str, Any]]:
    trials: dict[str, dict[str, Any]] = {}
    for doc in load_trial_documents():
        for trial in doc.get("trials") or ():
            trials[trial["key"]] = {**trial, "results": list(trial.get("results") or ())}
    for doc in load_trial_documents():
        for addition in doc.get("additions") or ():
            trials[addition["trial"]]["results"] += addition.get("results") or []
    return trials


NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
# Words with letters and digits (DREAMM-7, CD38, 3L+, t(11;14), mg/m2) and "95% CI" carry no figure.
MIXED = re.compile(r"t\(11;14\)|\b95% CI\b|[A-Za-z][\w.\-]*\d[\w.+\-]*|\b\d+[A-Za-z][\w+]*")


def _analysis_key(text: str) -> str:
    text = re.sub(r"^\d+-(month|year) pfs( rate)?,\s*", "", text.lower())
    return re.split(r"[,(;]", text, maxsplit=1)[0].strip()


def _numbers_of_row(row: dict[str, Any]) -> set[float]:
    values = [row.get("value"), *(row.get("ci95") or [])]
    return {float(v) for v in values if v is not None}


def _words_numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER.findall(str(text))}


RATIONALES = [
    (s["key"], o["regimen"], o.get("trials") or [], o.get("rationale") or "")
    for s in load_algorithm()["settings"]
    for o in s["options"]
]


@pytest.mark.parametrize(
    ("setting", "key", "trial_keys", "rationale"), RATIONALES, ids=[f"{s}-{k}" for s, k, _, _ in RATIONALES]
)
def test_every_number_in_a_rationale_is_a_result_row_of_the_same_analysis(
    setting, key, trial_keys, rationale
):
    trials = _trials()
    rows = [r for t in trial_keys for r in trials[t]["results"]]
    ranges = {
        float(v) for t in trial_keys for v in (trials[t].get("prior_lines") or {}).values() if v is not None
    }
    for clause in re.split(r";|\.\s", MIXED.sub(" ", rationale)):
        numbers = [float(n) for n in NUMBER.findall(clause)]
        matched: list[list[dict[str, Any]]] = []
        extra: set[float] = set(ranges)
        for number in numbers:
            candidates = [r for r in rows if number in _numbers_of_row(r)]
            if candidates:
                matched.append(candidates)
        for candidates in matched:
            for row in candidates:
                extra |= _words_numbers(row.get("analysis", "")) | _words_numbers(row.get("population", ""))
        for number in numbers:
            found = any(number in _numbers_of_row(r) for r in rows)
            assert found or number in extra, (
                f"{key} in {setting}: {number:g} is no result row figure: {clause!r}"
            )
        keys = [{_analysis_key(r.get("analysis", "")) for r in candidates} for candidates in matched]
        if len(keys) > 1:
            common = [
                k
                for k in keys[0]
                if all(any(k in other or other in k for other in group) for group in keys[1:])
            ]
            assert common, f"{key} in {setting}: figures of different analyses in one clause: {clause!r}"


def test_rationale_check_is_not_vacuous() -> None:
    with_numbers = [r for *_, r in RATIONALES if NUMBER.search(MIXED.sub(" ", r))]
    assert len(with_numbers) > 30


def _walk_conditions(node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    if isinstance(node, (AllOf, AnyOf)):
        return [c for p in node.parts for c in _walk_conditions(p)]
    return []
