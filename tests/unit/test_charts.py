"""compare.charts on synthetic rows: the figures carry exactly the stored numbers."""

import pytest

from compare import charts
from compare.charts import ArmRef, ResultRow

A = ArmRef("TRIAL-A", "Trial A", "new", "NEW", colour=0, trial_design="randomised phase 3")
B = ArmRef("TRIAL-A", "Trial A", "ctl", "CTL", colour=1, trial_design="randomised phase 3")
C = ArmRef("TRIAL-B", "Trial B", "new", "NEW", colour=0, trial_design="single-arm phase 2")


def row(arm: ArmRef, endpoint: str, value, **extra) -> ResultRow:
    defaults = {
        "population": "ITT",
        "analysis": "primary analysis, median follow-up 20.1 months",
        "source_label": f"Source for {arm.trial_name}",
        "source_url": "https://example.org/a",
        "unit": {"pfs_median": "months", "pfs_hr": "", "os_hr": ""}.get(endpoint, "percent"),
    }
    defaults.update(extra)
    return ResultRow(arm.trial_key, arm.trial_name, arm.arm_key, arm.label, endpoint, value=value, **defaults)


def traces(fig: dict, kind: str) -> list[dict]:
    return [t for t in fig["data"] if t.get("meta", {}).get("kind") == kind]


def test_pfs_figure_points_and_ci_equal_the_rows():
    rows = [
        row(A, "pfs_median", 13.3, ci_low=11.8, ci_high=16.1),
        row(B, "pfs_median", 4.4, ci_low=3.4, ci_high=5.9),
    ]

    fig = charts.pfs_figure([A, B], rows, cross_trial=False)

    medians = traces(fig, "median")
    assert [(t["x"], t["y"]) for t in medians] == [([13.3], ["NEW"]), ([4.4], ["CTL"])]
    cis = traces(fig, "ci")
    assert cis[0]["x"] == [11.8, 16.1, None] and cis[1]["x"] == [3.4, 5.9, None]
    assert "13.3 months" in medians[0]["hovertext"][0]
    assert "95% CI 11.8–16.1" in medians[0]["hovertext"][0]
    assert "Source for Trial A" in medians[0]["hovertext"][0]
    # within one trial: one panel, filled markers, solid CI
    assert medians[0]["marker"]["symbol"] == "circle" and cis[0]["line"]["dash"] == "solid"
    assert "yaxis2" not in fig["layout"]


def test_pfs_figure_not_reached_is_an_open_arrow_from_the_lower_bound_never_a_number():
    rows = [row(A, "pfs_median", None, not_reached=True, ci_low=25.0), row(B, "pfs_median", 4.4)]

    fig = charts.pfs_figure([A, B], rows, cross_trial=False)

    (arrow,) = traces(fig, "not_reached")
    assert arrow["x"][0] == 25.0
    assert arrow["marker"]["symbol"][-1] == "triangle-right-open"
    assert "not reached" in arrow["text"]
    assert all("25" not in text for text in arrow["text"])
    assert [t["x"] for t in traces(fig, "median")] == [[4.4]]


def test_pfs_figure_arm_without_data_says_not_reported():
    fig = charts.pfs_figure([A, B], [row(A, "pfs_median", 13.3)], cross_trial=False)

    (missing,) = traces(fig, "not_reported")
    assert missing["y"] == ["CTL"] and missing["text"] == ["not reported"]


def test_pfs_figure_cross_trial_has_a_panel_per_trial_hollow_markers_dotted_ci():
    rows = [
        row(A, "pfs_median", 13.3, ci_low=11.8, ci_high=16.1),
        row(C, "pfs_median", 8.8, ci_low=5.0, ci_high=12.0),
    ]

    fig = charts.pfs_figure([A, C], rows, cross_trial=True)

    medians = traces(fig, "median")
    assert [t["yaxis"] for t in medians] == ["y", "y2"]
    assert all(t["marker"]["symbol"].endswith("-open") for t in medians)
    assert all(t["line"]["dash"] == "dot" for t in traces(fig, "ci"))
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[0].startswith("Trial A") and titles[1].startswith("Trial B")


def test_pfs_figure_several_analyses_of_one_arm_get_distinct_labels():
    rows = [
        row(A, "pfs_median", 13.3, analysis="interim analysis"),
        row(A, "pfs_median", 13.8, analysis="final analysis"),
    ]

    fig = charts.pfs_figure([A], rows, cross_trial=False)

    (medians,) = traces(fig, "median")
    assert medians["y"] == ["NEW · interim analysis", "NEW · final analysis"]


def test_response_segments_are_derived_from_cumulative_figures():
    orr = row(A, "orr", 71)
    depth = [row(A, "cr_or_better", 39), row(A, "vgpr_or_better", 60)]

    assert charts.response_segments(orr, depth) == [("≥CR", 39), ("VGPR", 21), ("PR", 11)]


@pytest.mark.parametrize(
    "depth",
    [
        [row(A, "cr_or_better", 39, analysis="another analysis")],  # different analysis
        [row(A, "cr_or_better", 39, population="len_refractory")],  # different population
        [row(A, "cr_or_better", 80)],  # inconsistent: ≥CR above ORR
        [],
    ],
)
def test_response_segments_fall_back_to_orr_alone(depth):
    assert charts.response_segments(row(A, "orr", 71), depth) == [("ORR (depth not reported)", 71)]


def test_response_segments_with_cr_only_stack_cr_and_the_rest():
    segments = charts.response_segments(row(A, "orr", 71), [row(A, "cr_or_better", 44)])

    assert segments == [("≥CR", 44), ("VGPR or PR", 27)]


def test_response_figure_stacks_sum_to_the_orr():
    rows = [row(A, "orr", 71), row(A, "cr_or_better", 39), row(A, "vgpr_or_better", 60), row(B, "orr", 42)]

    fig = charts.response_figure([A, B], rows, cross_trial=False)

    segments = {t["name"]: dict(zip(t["y"], t["x"], strict=True)) for t in traces(fig, "segment")}
    assert segments["≥CR"]["NEW"] + segments["VGPR"]["NEW"] + segments["PR"]["NEW"] == 71
    assert segments["ORR (depth not reported)"] == {"CTL": 42}
    assert fig["layout"]["barmode"] == "stack"


def test_hr_figure_is_a_log_forest_with_a_line_at_one_and_favours_labels():
    rows = [
        row(A, "pfs_hr", 0.49, ci_low=0.38, ci_high=0.65, vs_key="ctl", vs_label="CTL", p="<0.001"),
        row(A, "os_hr", 1.01, ci_low=0.73, ci_high=1.4, vs_key="ctl", vs_label="CTL", note="56% crossover"),
    ]

    fig = charts.hr_figure(rows)

    points = {t["meta"]["endpoint"]: t for t in traces(fig, "hr")}
    assert points["pfs_hr"]["x"] == [0.49] and points["os_hr"]["x"] == [1.01]
    cis = {t["meta"]["endpoint"]: t["x"] for t in traces(fig, "ci")}
    assert cis == {"pfs_hr": [0.38, 0.65, None], "os_hr": [0.73, 1.4, None]}
    assert fig["layout"]["xaxis"]["type"] == "log"
    (line,) = fig["layout"]["shapes"]
    low, high = fig["layout"]["xaxis"]["range"]
    assert line["x0"] == pytest.approx(-low / (high - low))
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert "◀ favours NEW" in texts and "favours CTL ▶" in texts
    assert "56% crossover" in points["os_hr"]["hovertext"][0]


def test_captions_state_the_finding_in_words():
    rows = [row(A, "pfs_median", 13.3), row(B, "pfs_median", 4.4)]
    hr = [row(A, "pfs_hr", 0.49, ci_low=0.38, ci_high=0.65, vs_label="CTL")]

    assert charts.pfs_caption([A, B], rows, "ITT") == (
        "Trial A, ITT — primary analysis: median PFS 13.3 months with NEW vs 4.4 months with CTL."
    )
    assert "favouring NEW" in charts.hr_caption(hr, "ITT")
    assert "not reported for CTL" in charts.pfs_caption([A, B], rows[:1], "ITT")


def test_figures_use_no_markup_that_plotly_draws_with_style_attributes():
    rows = [row(A, "pfs_median", 13.3), row(A, "orr", 71), row(A, "pfs_hr", 0.5, vs_label="CTL", note="n")]
    figs = [
        charts.pfs_figure([A, C], rows, cross_trial=True),
        charts.response_figure([A, C], rows, cross_trial=True),
        charts.hr_figure(rows),
    ]

    text = repr(figs)
    assert "<b>" not in text and "<i>" not in text and "style=" not in text


def test_labels_escape_markup_from_the_data():
    evil = ArmRef("T", "<script>", "a", "A&B")
    fig = charts.pfs_figure([evil], [row(evil, "pfs_median", 1.0)], cross_trial=False)

    assert "<script>" not in repr(fig)


def test_csv_has_a_header_and_one_line_per_row():
    rows = charts.table_rows(
        [A, B], [row(A, "pfs_median", 13.3, ci_low=11.8, ci_high=16.1)], ["pfs_median"], "ITT"
    )

    lines = charts.to_csv(rows).splitlines()
    assert lines[0] == ",".join(charts.CSV_HEADER)
    assert lines[1].startswith("Trial A,NEW,median PFS,13.3 months,95% CI 11.8–16.1,ITT,")
    assert lines[2].startswith("Trial A,CTL,median PFS,not reported")


def test_analysis_stages_and_follow_up_come_from_the_analysis_text():
    assert charts.analysis_stages("interim (primary) analysis, median follow-up 18.6 months") == {
        "interim",
        "primary",
    }
    assert charts.follow_up("final PFS analysis, median follow-up 30.9 months") == "30.9 months"
    assert charts.follow_up("final analysis") == ""


def test_rows_for_population_itt_shows_a_trial_without_itt_in_its_own_whole_population():
    randomised = [row(A, "pfs_median", 13.3), row(A, "pfs_median", 11.0, population="len_refractory")]
    single_arm = [
        row(C, "orr", 73, population="treated (n=128)"),
        row(C, "pfs_median", 8.8, population="treated (n=128)"),
        row(C, "pfs_median", 6.0, population="len_refractory"),
        row(C, "orr", 70, population="len_refractory"),
        row(C, "orr", 80, population="all enrolled (n=140)"),
    ]

    shown = charts.rows_for_population(randomised + single_arm, "ITT")

    assert [(r.trial_key, r.value, r.population) for r in shown] == [
        ("TRIAL-A", 13.3, "ITT"),
        ("TRIAL-B", 73, "treated (n=128)"),  # the population with most figures, never a subgroup
        ("TRIAL-B", 8.8, "treated (n=128)"),
    ]
    assert charts.rows_for_population(single_arm, "len_refractory") == [single_arm[2], single_arm[3]]
    caption = charts.pfs_caption([A, C], shown, "ITT")
    assert "Trial A, ITT — primary analysis: median PFS 13.3 months with NEW." in caption
    assert "Trial B, treated (n=128), the trial's analysis population (it reports no ITT figures)" in caption


def test_rows_for_population_itt_never_puts_a_subgroup_in_place_of_the_trial():
    only_subgroup = [row(C, "pfs_median", 6.0, population="len_refractory")]

    assert charts.rows_for_population(only_subgroup, "ITT") == []
    assert charts.pfs_caption([C], [], "ITT") == "Trial B, ITT: median PFS not reported."
