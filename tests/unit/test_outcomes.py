"""cases/outcomes.py: concordance from a frozen recommendation, PFS and TTNT of a course, groups."""

from __future__ import annotations

from datetime import date

from cases import outcomes
from cases.outcomes import Course, Filters

RECOMMENDATION = {
    "settings": [
        {"key": "len_refractory", "label": "Lenalidomide-refractory"},
        {"key": "triple_class", "label": "Triple-class exposed"},
    ],
    "options": [
        {"key": "DPD", "category": "preferred", "settings": [{"setting": "len_refractory"}]},
        {"key": "TECLISTAMAB", "category": "alternative", "settings": [{"setting": "triple_class"}]},
        {"key": "SVD", "category": "consider", "settings": []},
    ],
    "not_recommended": [{"key": "DRD", "reason": "lenalidomide-refractory"}],
}


def test_concordance_is_the_chosen_options_category_or_where_it_stood():
    assert outcomes.concordance_of("DPD", RECOMMENDATION) == "preferred"
    assert outcomes.concordance_of("TECLISTAMAB", RECOMMENDATION) == "alternative"
    assert outcomes.concordance_of("SVD", RECOMMENDATION) == "consider"
    assert outcomes.concordance_of("OTHER", RECOMMENDATION) == "not_among_options"
    assert outcomes.concordance_of("DRD", RECOMMENDATION) == "not_recommended"
    assert (
        outcomes.concordance_of("DPD", {"error": "No algorithm version is published yet."})
        == "no_recommendation"
    )


def test_setting_is_the_chosen_options_own_else_the_first_matched():
    assert outcomes.decision_setting("TECLISTAMAB", RECOMMENDATION) == (
        "triple_class",
        "Triple-class exposed",
    )
    assert outcomes.decision_setting("OTHER", RECOMMENDATION) == ("len_refractory", "Lenalidomide-refractory")
    assert outcomes.decision_setting("DPD", {"settings": []}) == ("", "")


def _course(code="MM-1", **fields) -> Course:
    base = {"decision_id": 1, "code": code, "decided": date(2025, 1, 10), "option_key": "DPD", "option_label": "DPd",
                "setting": "len_refractory", "setting_label": "Lenalidomide-refractory", "version": "2025.1",
                "concordance": "preferred", "status": "started", "start": date(2025, 1, 20)}  # fmt: skip
    return Course(**{**base, **fields})


def test_pfs_ends_at_progression_or_death_whichever_first():
    course = _course(progression=date(2025, 7, 20), death=date(2025, 9, 1), next_treatment=date(2025, 8, 1))

    pfs = course.observation(outcomes.PFS)
    ttnt = course.observation(outcomes.TTNT)

    assert pfs.event and round(pfs.duration, 2) == round(181 / (365.25 / 12), 2)
    assert ttnt.event and round(ttnt.duration, 2) == round(193 / (365.25 / 12), 2)


def test_pfs_without_event_is_censored_at_the_last_date_known_alive_and_free_of_progression():
    course = _course(last_contact=date(2025, 4, 20), responses=((date(2025, 6, 20), "VGPR"),))

    pfs = course.observation(outcomes.PFS)

    assert not pfs.event
    assert round(pfs.duration, 2) == round(151 / (365.25 / 12), 2)  # the response, after the last contact


def test_a_course_that_did_not_start_has_no_observation():
    assert _course(status="not_started", start=None).observation(outcomes.PFS) is None
    assert _course(status="planned", start=None).observation(outcomes.TTNT) is None


def test_a_month_counts_from_its_middle():
    assert outcomes.point(date(2025, 3, 1), "month") == date(2025, 3, 15)
    assert outcomes.point(date(2025, 3, 1), "day") == date(2025, 3, 1)


def test_groups_of_fewer_than_ten_patients_get_no_curve():
    many = [_course(code=f"MM-{n}", progression=date(2025, 3 + n % 6, 1)) for n in range(10)]
    few = [_course(code=f"MM-X{n}", option_key="KD", option_label="Kd", last_contact=date(2025, 5, 1))
           for n in range(9)]  # fmt: skip

    groups = {g.key: g for g in outcomes.survival_groups(many + few, outcomes.PFS, outcomes.by_regimen)}

    assert groups["DPD"].drawn and groups["DPD"].patients == 10
    assert not groups["KD"].drawn and groups["KD"].patients == 9 and groups["KD"].censored == 9
    assert groups["KD"].risk_times == groups["DPD"].risk_times
    assert groups["DPD"].at_risk[0] == 10


def test_ten_courses_of_fewer_than_ten_patients_get_no_curve():
    same_patient = [_course(code="MM-1", progression=date(2025, 5, 1)) for _ in range(10)]

    (group,) = outcomes.survival_groups(same_patient, outcomes.PFS, outcomes.by_regimen)

    assert group.patients == 1 and not group.drawn


def test_filters_keep_decisions_of_the_period_setting_regimen_and_version():
    today = date(2026, 12, 6)
    old, recent = _course(decided=date(2024, 5, 1)), _course(decided=date(2026, 6, 1), option_key="KD")

    assert [c.option_key for c in (old, recent) if Filters(period="12m").keep(c, today)] == ["KD"]
    assert [c.option_key for c in (old, recent) if Filters(period="2024").keep(c, today)] == ["DPD"]
    assert [c.option_key for c in (old, recent) if Filters(regimen="KD").keep(c, today)] == ["KD"]
    assert not Filters(version="2024.9").keep(old, today)
    assert Filters(setting="len_refractory").keep(old, today)


def test_concordance_rows_and_delays():
    courses = [
        _course(decided=date(2025, 1, 10), start=date(2025, 1, 20)),
        _course(decided=date(2025, 2, 10), start=date(2025, 3, 12), concordance="not_among_options"),
        _course(
            decided=date(2025, 4, 10), status="not_started", start=None, deviation_reason="patient_choice"
        ),
    ]

    rows = {r.key: r for r in outcomes.concordance_rows(courses, outcomes.by_quarter)}
    (delay,) = outcomes.start_delays(courses, None)

    assert rows["2025-Q1"].total == 2 and rows["2025-Q1"].share("preferred") == 50.0
    assert rows["2025-Q2"].counts["preferred"] == 1
    assert outcomes.deviation_counts(courses) == {"patient_choice": 1}
    assert (delay.n, delay.median, delay.q1, delay.q3) == (2, 20.0, 15.0, 25.0)
