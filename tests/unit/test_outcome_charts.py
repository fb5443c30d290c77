"""cases/charts.py: the Kaplan-Meier and concordance figures, from plain groups (no database)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from cases import charts, outcomes
from cases.outcomes import Course


def _courses(n: int, key="SVD", label="SVd") -> list[Course]:
    return [
        Course(
            decision_id=i,
            code=f"MM-{key}-{i}",
            decided=date(2025, 1, 1),
            option_key=key,
            option_label=label,
            setting="s",
            setting_label="Setting",
            version="v",
            concordance="preferred",
            status="started",
            start=date(2025, 1, 10),
            progression=date(2025, 2 + i % 9, 10) if i % 3 else None,
            last_contact=date(2025, 12, 1),
        )  # fmt: skip
        for i in range(n)
    ]


REFERENCE = charts.TrialReference(
    regimen_key="SVD", trial_name="Syn-Trial", arm_label="SVd", value=13.5, ci_low=11.0, ci_high=15.0,
    population="synthetic population", analysis="primary", source_label="Synthetic 2020", source_url="https://example.org",
)  # fmt: skip


def _figure(groups):
    return charts.km_figure(
        groups, {"SVD": [REFERENCE]}, legends={g.key: f"{g.label} legend" for g in groups},
        x_title="months", at_risk_title="Number at risk", reference_note="another population",
        empty_message="nothing to draw",
    )  # fmt: skip


def _kinds(figure) -> Counter:
    return Counter(t["meta"]["kind"] for t in figure["data"])


def test_km_figure_draws_steps_bands_ticks_reference_and_numbers_at_risk_of_drawn_groups_only():
    groups = outcomes.survival_groups(
        _courses(12) + _courses(4, "KD", "Kd"), outcomes.PFS, outcomes.by_regimen
    )

    figure = _figure(groups)

    assert _kinds(figure) == Counter(
        {"ci_upper": 1, "ci_lower": 1, "km": 1, "censored": 1, "trial_reference": 1, "at_risk": 1}
    )
    (curve,) = [t for t in figure["data"] if t["meta"]["kind"] == "km"]
    assert curve["line"]["shape"] == "hv" and curve["name"] == "SVd legend"
    (reference,) = [t for t in figure["data"] if t["meta"]["kind"] == "trial_reference"]
    assert reference["x"] == [13.5] and reference["y"] == [0.5] and "another population" in reference["name"]
    (risk,) = [t for t in figure["data"] if t["meta"]["kind"] == "at_risk"]
    assert risk["yaxis"] == "y2" and risk["text"][0] == "12"


def test_km_figure_without_a_group_of_ten_says_so():
    groups = outcomes.survival_groups(_courses(4), outcomes.PFS, outcomes.by_regimen)

    figure = _figure(groups)

    assert figure["data"] == []
    assert figure["layout"]["annotations"][0]["text"] == "nothing to draw"


def test_steps_keep_every_change_and_the_last_point():
    times, survival = charts._steps([0, 1, 2, 3, 4], [1.0, 0.8, 0.8, 0.6, 0.6])

    assert times == [0, 1, 3, 4]
    assert survival == [1.0, 0.8, 0.6, 0.6]


def test_share_figure_stacks_to_one_hundred_percent_per_quarter():
    rows = outcomes.concordance_rows(
        [*_courses(3), Course(decision_id=9, code="MM-9", decided=date(2025, 2, 1), option_key="OTHER",
                              option_label="Other", setting="s", setting_label="S", version="v",
                              concordance="not_among_options", status="planned")],
        outcomes.by_quarter,
    )  # fmt: skip

    figure = charts.share_figure(rows, {"preferred": "preferred"}, horizontal=False, axis_title="share",
                                 empty_message="none")  # fmt: skip

    assert sum(t["y"][0] for t in figure["data"]) == 100.0
    assert {t["meta"]["concordance"] for t in figure["data"]} == {"preferred", "not_among_options"}
