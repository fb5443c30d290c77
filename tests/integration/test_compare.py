"""/compare/ against a small synthetic knowledge base (keys like TRIAL-A)."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regimens.models import Regimen, Result, Source, Trial, TrialArm

pytestmark = pytest.mark.django_db


def make_source(key="src-a"):
    return Source.objects.get_or_create(
        key=key, defaults={"citation": f"Citation {key}", "url": f"https://example.org/{key}"}
    )[0]


def make_regimen(key):
    return Regimen.objects.get_or_create(
        key=key, defaults={"abbreviation": key.title(), "name": key.lower()}
    )[0]


def make_trial(key, *, design="randomised 1:1, open-label", **extra):
    defaults = {
        "name": key.title(),
        "phase": "3",
        "design": design,
        "prior_lines_min": 1,
        "prior_lines_max": 3,
    }
    defaults.update(extra)
    return Trial.objects.create(key=key, **defaults)


def make_arm(trial, key, regimen, order=0):
    return TrialArm.objects.create(trial=trial, key=key, regimen=regimen, label=f"{key} arm", order=order)


def make_result(arm, endpoint, value, *, vs=None, population="ITT", analysis="primary analysis", **extra):
    unit = {"pfs_median": "months", "pfs_hr": "", "os_hr": ""}.get(endpoint, "percent")
    return Result.objects.create(
        trial=arm.trial,
        arm=arm,
        vs=vs,
        endpoint=endpoint,
        value=value,
        unit=unit,
        population=population,
        analysis=analysis,
        source=make_source(),
        **extra,
    )


@pytest.fixture
def kb():
    """TRIAL-A: NEW vs CTL randomised, with a len-refractory subgroup for NEW only; TRIAL-B: OTHER single arm."""
    new, ctl, other = make_regimen("NEW"), make_regimen("CTL"), make_regimen("OTHER")
    a = make_trial("TRIAL-A", len_refractory_pct=40.0, notes="Crossover allowed: OS confounded.")
    a_new, a_ctl = make_arm(a, "new", new, 0), make_arm(a, "ctl", ctl, 1)
    make_result(
        a_new,
        "pfs_median",
        13.3,
        ci_low=11.8,
        ci_high=16.1,
        analysis="interim analysis, median follow-up 18.6 months",
    )
    make_result(
        a_ctl,
        "pfs_median",
        4.4,
        ci_low=3.4,
        ci_high=5.9,
        analysis="interim analysis, median follow-up 18.6 months",
    )
    make_result(a_new, "pfs_median", 13.8, analysis="final analysis, median follow-up 30.9 months")
    make_result(a_ctl, "pfs_median", 4.4, analysis="final analysis, median follow-up 30.9 months")
    make_result(
        a_new, "pfs_hr", 0.49, vs=a_ctl, ci_low=0.38, ci_high=0.65, p="<0.001", analysis="interim analysis"
    )
    make_result(
        a_new,
        "os_hr",
        1.01,
        vs=a_ctl,
        ci_low=0.73,
        ci_high=1.40,
        analysis="interim OS analysis, 56% crossover",
    )
    make_result(a_new, "orr", 71, analysis="interim analysis")
    make_result(a_new, "cr_or_better", 39, analysis="interim analysis")
    make_result(a_new, "vgpr_or_better", 60, analysis="interim analysis")
    make_result(a_ctl, "orr", 42, analysis="interim analysis")
    make_result(a_new, "pfs_median", 11.0, population="len_refractory", analysis="interim analysis")
    b = make_trial("TRIAL-B", design="single-arm", phase="2", anti_cd38_refractory_pct=90.0)
    b_other = make_arm(b, "other", other)
    make_result(b_other, "pfs_median", None, not_reached=True, ci_low=20.0, analysis="primary analysis")
    return {"a": a, "b": b}


def test_compare_within_one_randomised_trial_has_no_cross_trial_banner(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Within-trial comparison (randomised)" in html
    assert "Cross-trial comparison" not in html
    assert 'id="chart-pfs-figure"' in html and 'data-plotly="chart-pfs-figure"' in html
    assert "interim analysis: median PFS 13.3 months with New vs 4.4 months with Ctl" in html
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in html


def test_compare_across_trials_shows_banner_and_fingerprints(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,OTHER"})

    html = response.content.decode()
    assert "Cross-trial comparison:" in html
    assert "differences are not randomised comparisons" in html
    assert "Who was in each trial" in html
    assert "40%" in html and "90%" in html  # len-refractory of A, anti-CD38-refractory of B
    assert "not reported" in html
    assert "18.6 months" in html  # median follow-up, read from the analysis text
    assert response.context["cross_trial"] is True


def test_compare_population_without_data_says_not_reported(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL", "population": "len_refractory"})

    pfs = response.context["charts"][0]
    assert [(row.arm, row.value) for row in pfs.table] == [("New", "11 months"), ("Ctl", "not reported")]
    assert "Median PFS not reported for Ctl" in pfs.caption
    choices = [value for value, _label in response.context["populations"]]
    assert choices == ["ITT", "len_refractory"]


def test_compare_analysis_selector_filters_the_rows(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL", "analysis": "final"})

    pfs = response.context["charts"][0]
    assert [row.value for row in pfs.table] == ["13.8 months", "4.4 months"]
    assert ("final", "final analyses") in response.context["analyses"]


def test_compare_figure_numbers_equal_the_stored_results(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL", "analysis": "interim"})

    figure = response.context["charts"][0].figure
    medians = [t for t in figure["data"] if t["meta"]["kind"] == "median"]
    stored = {
        r.arm.key: r
        for r in Result.objects.filter(
            endpoint="pfs_median", population="ITT", analysis__startswith="interim"
        )
    }
    assert [m["x"][0] for m in medians] == [stored["new"].value, stored["ctl"].value]
    assert stored["new"].ci_label in medians[0]["hovertext"][0]
    assert stored["new"].value_label in medians[0]["hovertext"][0]


def test_compare_csv_download(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL", "format": "csv", "chart": "hr"})

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["measure"], r["value"], r["ci"]) for r in rows] == [
        ("PFS hazard ratio", "0.49 (p <0.001)", "95% CI 0.38–0.65"),
        ("OS hazard ratio", "1.01", "95% CI 0.73–1.4"),
    ]
    assert rows[0]["source_url"] == "https://example.org/src-a"


def test_compare_data_table_and_csv_show_a_quote_beside_its_source(board_client, kb):
    Result.objects.filter(endpoint="pfs_hr").update(quote="HR, 0.49; 95% CI, 0.38-0.65")

    html = board_client.get("/compare/", {"regimens": "NEW,CTL"}).content.decode()
    csv_text = board_client.get("/compare/", {"regimens": "NEW,CTL", "format": "csv", "chart": "hr"})

    hr_table = html[html.index('id="chart-hr"') :]
    row = hr_table[hr_table.index("PFS hazard ratio</td>") :]
    row = row[: row.index("</tr>")]
    assert 'aria-describedby="chart-hr-quote-1"' in row
    assert (
        '<span class="quote-tip" id="chart-hr-quote-1" lang="en">' in row
        and "“HR, 0.49; 95% CI, 0.38-0.65”" in row
    )
    rows = list(csv.DictReader(io.StringIO(csv_text.content.decode())))
    assert [r["quote"] for r in rows] == ["HR, 0.49; 95% CI, 0.38-0.65", ""]


def test_compare_csv_link_is_beside_every_chart(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,CTL"})

    html = response.content.decode()
    for chart in ("pfs", "response", "hr"):
        assert "format=csv" in html and f"chart={chart}" in html


def test_compare_htmx_request_gets_the_partial(board_client, kb):
    response = board_client.get(
        "/compare/", {"regimens": "NEW,CTL", "population": "len_refractory"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="comparison"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_compare_boosted_request_gets_the_page(board_client, kb):
    response = board_client.get(
        "/compare/", {"regimens": "NEW,CTL"}, headers={"HX-Request": "true", "HX-Boosted": "true"}
    )

    assert "<html" in response.content.decode()


def test_compare_unknown_regimen_and_empty_selection(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NOPE"})

    html = response.content.decode()
    assert "Not in the knowledge base: NOPE" in html
    assert "No trial arm in the knowledge base matches" in html


def test_compare_trial_parameter_limits_to_one_trial(board_client, kb):
    response = board_client.get("/compare/", {"regimens": "NEW,OTHER", "trial": "TRIAL-A"})

    assert response.context["cross_trial"] is False
    assert {a.trial_key for a in response.context["comparison"].arms} == {"TRIAL-A"}


def test_compare_requires_login(client, kb):
    response = client.get("/compare/", {"regimens": "NEW,CTL"})

    assert response.status_code == 302


def test_compare_query_count_is_constant(board_client, kb):
    # more trials and arms must not mean more queries
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = board_client.get("/compare/", {"regimens": "NEW,CTL,OTHER"})
        assert response.status_code == 200
        return len(captured)

    before = queries()
    for n in range(8):
        trial = make_trial(f"TRIAL-X{n}")
        arm = make_arm(trial, "new", Regimen.objects.get(key="NEW"))
        make_result(arm, "pfs_median", 5.0 + n)
        make_result(arm, "orr", 50)

    assert queries() == before
    response = board_client.get("/compare/", {"regimens": "NEW,CTL,OTHER"})
    assert len(response.context["comparison"].trials) == 10


def test_compare_single_arm_trial_without_itt_shows_its_analysis_population(board_client, knowledge_base):
    # KarMMa (KARMMA-1) is single-arm: it reports its treated population, n=128, and no ITT figure.
    response = board_client.get("/compare/", {"regimens": "IDE-CEL,STANDARD-REGIMENS"})

    assert response.context["population"] == "ITT"
    pfs = response.context["charts"][0]
    karmma = [row for row in pfs.table if row.trial == "KarMMa"]
    assert [(row.value, row.ci, row.population) for row in karmma] == [
        ("8.8 months", "95% CI 5.6–11.6", "treated (n=128)")
    ]
    assert (
        "KarMMa, treated (n=128), the trial's analysis population (it reports no ITT figures) — "
        "primary analysis: median PFS 8.8 months with ide-cel." in pfs.caption
    )
    assert "KarMMa, ITT: median PFS not reported" not in pfs.caption
    # a randomised trial beside it keeps its ITT figures
    assert {row.population for row in pfs.table if row.trial == "KarMMa-3"} == {"ITT"}


def test_compare_itt_never_shows_a_subgroup_in_place_of_the_whole_population(board_client, kb):
    trial = make_trial("TRIAL-C", design="single-arm", phase="2")
    arm = make_arm(trial, "other", Regimen.objects.get(key="OTHER"))
    make_result(arm, "pfs_median", 7.0, population="len_refractory")

    response = board_client.get("/compare/", {"regimens": "OTHER"})  # TRIAL-B has ITT figures

    assert response.context["population"] == "ITT"
    pfs = response.context["charts"][0]
    assert [(row.value, row.population) for row in pfs.table if row.trial == "Trial-C"] == [
        ("not reported", "ITT")
    ]
    assert "Trial-C, ITT: median PFS not reported." in pfs.caption
