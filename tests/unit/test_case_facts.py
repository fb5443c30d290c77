"""IMWG derivation: therapy-line histories -> statuses, with reasons. No database."""

from datetime import date

import pytest

from algorithm.engine.facts import FIELD_SPECS
from cases import derivation

LEN = derivation.Drug("LENALIDOMIDE", "lenalidomide", "imid")
POM = derivation.Drug("POMALIDOMIDE", "pomalidomide", "imid")
BTZ = derivation.Drug("BORTEZOMIB", "bortezomib", "proteasome_inhibitor")
CFZ = derivation.Drug("CARFILZOMIB", "carfilzomib", "proteasome_inhibitor")
DARA = derivation.Drug("DARATUMUMAB", "daratumumab", "anti_cd38")
ISA = derivation.Drug("ISATUXIMAB", "isatuximab", "anti_cd38")
DEX = derivation.Drug("DEXAMETHASONE", "dexamethasone", "corticosteroid")
TEC = derivation.Drug("TECLISTAMAB", "teclistamab", "bcma_bispecific")


def m(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def line(number, drugs, start, outcome, end=None, progression=None, **kw):
    return derivation.Line(
        number=number,
        label=kw.pop("label", "/".join(d.key[:3] for d in drugs)),
        drugs=tuple(drugs),
        start=m(start),
        outcome=outcome,
        end=m(end) if end else None,
        progression=m(progression) if progression else None,
        **kw,
    )


VRD_ASCT_R_PROGRESSING_ON_10MG = line(
    1, [BTZ, LEN, DEX], "2021-02", "progression_on_therapy", end="2025-03", progression="2025-03",
    asct=True, asct_date=m("2021-07"), maintenance=(LEN,), maintenance_start=m("2021-10"),
    len_dose_at_progression_mg=10.0, best_response="VGPR", label="VRd",
)  # fmt: skip


def derive(*lines, **case):
    return derivation.derive(
        derivation.CaseData(lines=tuple(lines), as_of=case.pop("as_of", m("2025-04")), **case)
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            (),
            {"len_status": "naive", "anti_cd38_status": "naive", "bortezomib_status": "naive"},
            id="no lines",
        ),
        pytest.param(
            (VRD_ASCT_R_PROGRESSING_ON_10MG,),
            {
                "len_status": "refractory",
                "bortezomib_status": "exposed_sensitive",
                "prior_lines": 1,
                "anti_cd38_status": "naive",
                "anti_cd38_agent_last": "none",
            },
            id="VRd-ASCT-R: progression on low-dose maintenance is refractory; one line",
        ),
        pytest.param(
            (line(1, [DARA, LEN, DEX], "2020-10", "progression_on_therapy", end="2024-06"),),
            {
                "len_status": "refractory",
                "anti_cd38_status": "refractory",
                "anti_cd38_agent_last": "daratumumab",
            },
            id="DRd progression on therapy: double refractory",
        ),
        pytest.param(
            (
                line(
                    1,
                    [BTZ, LEN, DEX],
                    "2020-01",
                    "progression_within_60_days",
                    end="2020-08",
                    progression="2020-09",
                ),
            ),
            {"len_status": "refractory", "bortezomib_status": "refractory"},
            id="progression within 60 days of the last dose: refractory",
        ),
        pytest.param(
            (line(1, [BTZ, LEN, DEX], "2020-01", "progression_later", end="2020-08", progression="2020-09"),),
            {"len_status": "refractory", "bortezomib_status": "refractory"},
            id="a 'later' progression one month after the last dose is within 60 days",
        ),
        pytest.param(
            (line(1, [BTZ, LEN, DEX], "2020-01", "progression_later", end="2020-08", progression="2020-11"),),
            {"len_status": "exposed_sensitive", "bortezomib_status": "exposed_sensitive"},
            id="progression three months after the last dose: sensitive",
        ),
        pytest.param(
            (line(1, [BTZ, LEN, DEX], "2020-01", "completed", end="2020-08", best_response="SD"),),
            {"len_status": "refractory", "bortezomib_status": "refractory"},
            id="best response SD on therapy: primary refractory",
        ),
        pytest.param(
            (line(1, [CFZ, DEX], "2020-01", "toxicity", end="2020-04"),),
            {"carfilzomib_status": "intolerant", "len_status": "naive"},
            id="stopped for toxicity: PI intolerant",
        ),
        pytest.param(
            (
                line(
                    1, [BTZ, LEN, DEX], "2018-01", "progression_later", end="2018-08", progression="2020-01"
                ),
                line(2, [ISA, CFZ, DEX], "2020-02", "progression_on_therapy", end="2022-05"),
            ),
            {
                "len_status": "exposed_sensitive",
                "anti_cd38_status": "refractory",
                "anti_cd38_agent_last": "isatuximab",
                "carfilzomib_status": "refractory",
                "bortezomib_status": "exposed_sensitive",
                "prior_lines": 2,
                "triple_class_exposed": True,
                "triple_class_refractory": False,
            },
            id="IsaKd after VRd: triple-class exposed, not refractory to an IMiD",
        ),
        pytest.param(
            (
                VRD_ASCT_R_PROGRESSING_ON_10MG,
                line(2, [DARA, POM, DEX], "2025-04", "progression_on_therapy", end="2026-01"),
                line(3, [BTZ, CFZ, DEX], "2026-02", "progression_on_therapy", end="2026-09"),
            ),
            {"triple_class_refractory": True, "penta_refractory": True, "pomalidomide_status": "refractory"},
            id="penta-refractory",
        ),
        pytest.param(
            (line(1, [TEC], "2024-01", "progression_on_therapy", end="2025-01"),),
            {"bcma_exposed": "bispecific", "gprc5d_exposed": False},
            id="BCMA bispecific exposure",
        ),
    ],
)
def test_derive_statuses_table(lines, expected):
    facts = derive(*lines)
    assert {key: facts[key].value for key in expected} == expected


def test_derive_reason_names_line_maintenance_dose_and_month():
    facts = derive(VRD_ASCT_R_PROGRESSING_ON_10MG)
    assert (
        facts["len_status"].reason
        == "refractory: progressed on line 1 maintenance, lenalidomide 10 mg, 03/2025"
    )
    assert "stopped before the maintenance" in facts["bortezomib_status"].reason
    assert "one line" in facts["prior_lines"].reason


def test_derive_refractory_in_any_line_persists_after_a_later_sensitive_exposure():
    facts = derive(
        line(1, [LEN, DEX], "2018-01", "progression_on_therapy", end="2019-01"),
        line(2, [LEN, DARA, DEX], "2019-02", "progression_later", end="2020-01", progression="2021-01"),
    )
    assert facts["len_status"].value == "refractory"
    assert "line 1" in facts["len_status"].reason


def test_derive_time_intervals_and_early_relapse():
    facts = derive(VRD_ASCT_R_PROGRESSING_ON_10MG, as_of=m("2025-09"))
    assert facts["months_from_start_of_frontline_to_progression"].value == 49
    assert facts["early_relapse"].value is False
    assert facts["prior_asct_remission_months"].value == 44
    assert facts["months_since_end_of_last_therapy"].value == 6
    early = derive(line(1, [BTZ, LEN, DEX], "2024-01", "progression_on_therapy", end="2025-03"))
    assert early["early_relapse"].value is True


def test_derive_case_factors_and_unknowns():
    facts = derive(
        t_11_14="present",
        fish_high_risk={"del(17p)": "absent", "t(4;14)": "unknown"},
        frailty="frail",
        ecog=2,
        car_t_eligible="unknown",
    )
    assert facts["t_11_14"].value is True
    assert facts["high_risk_cytogenetics"].value == "unknown"
    assert facts["frailty"].value == "frail"
    assert "car_t_eligible" not in facts
    assert "crcl_ml_min" not in facts
    engine = derivation.engine_facts(facts)
    assert "early_relapse" not in engine
    assert engine["ecog"] == 2


def test_derive_override_wins_and_keeps_the_derived_value_in_its_reason():
    facts = derive(
        VRD_ASCT_R_PROGRESSING_ON_10MG,
        overrides={
            "len_status": derivation.Override(
                "exposed_sensitive", "dose reduced to 5 mg for cytopenia", "editor"
            )
        },
    )
    fact = facts["len_status"]
    assert fact.value == "exposed_sensitive"
    assert fact.derived_value == "refractory"
    assert "overridden by editor: dose reduced" in fact.reason
    assert "derived: refractory" in fact.reason


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("len_status", "refractory", "refractory"),
        ("prior_lines", "3", 3),
        ("triple_class_exposed", "yes", True),
    ],
)
def test_parse_override_valid(key, raw, expected):
    assert derivation.parse_override(key, raw) == expected


@pytest.mark.parametrize(("key", "raw"), [("len_status", "very"), ("prior_lines", "two"), ("frailty", "fit")])
def test_parse_override_invalid_raises_value_error(key, raw):
    with pytest.raises(ValueError):
        derivation.parse_override(key, raw)


def test_value_words_do_not_confuse_numbers_with_booleans():
    assert derivation.Fact("prior_lines", 1, "").value_label == "1"
    assert derivation.Fact("peripheral_neuropathy_grade", 0, "").value_label == "0 — none"
    assert derivation.Fact("car_t_eligible", True, "").value_label == "yes"


def test_every_fact_a_case_derives_is_a_known_fact_with_a_title():
    facts = derive(
        VRD_ASCT_R_PROGRESSING_ON_10MG,
        line(2, [DARA, POM, DEX], "2025-05", "completed", end="2025-11"),
        line(3, [TEC], "2026-01", "ongoing"),
        t_11_14="present",
        fish_high_risk={"del(17p)": "absent"},
        frailty="fit",
        ecog=1,
        cardiovascular_risk="none",
        peripheral_neuropathy_grade=1,
        crcl_ml_min=60,
        car_t_eligible="yes",
        ocular_surface_disease="no",
        prefers_fewer_hospital_visits="no",
    )

    unknown = sorted(set(facts) - set(FIELD_SPECS))
    assert not unknown, f"facts derived from a case but not in the engine's fact specs: {unknown}"
    assert all(fact.label == FIELD_SPECS[key].title for key, fact in facts.items())


def test_overridable_facts_are_the_ones_the_specs_mark():
    assert "len_status" in derivation.OVERRIDABLE
    assert "frailty" not in derivation.OVERRIDABLE  # recorded on the case, not derived


def test_facts_module_is_pure():
    with open(derivation.__file__, encoding="utf-8") as handle:
        source = handle.read()
    assert "import django" not in source
    assert "from django" not in source
