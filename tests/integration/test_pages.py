"""The knowledge-base pages: regimens and trials, as a board member reads them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regimens.fragments import forget_all
from regimens.models import Agency, ApprovalStatus, DrugClass, Endpoint, Phase, Regimen, Source, Trial, Unit
from tests.integration.factories import (
    HTMX,
    ApprovalFactory,
    CautionFactory,
    DrugFactory,
    RegimenComponentFactory,
    RegimenFactory,
    ResultFactory,
    SourceFactory,
    TrialArmFactory,
    TrialFactory,
    build_knowledge_base,
    build_regimens,
    build_trials,
)

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- Regimen list ------------------------------------------------------------------------------------


def test_regimen_list_board_member_sees_classes_approvals_and_key_trials(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)
    regimen = regimens[0]

    html = _text(board_client.get(reverse("regimens:regimen_list")))

    assert f'href="{regimen.get_absolute_url()}">{regimen.abbreviation}</a>' in html
    assert regimen.name in html
    first_class = regimen.components.first().drug.get_drug_class_display()
    assert first_class in html
    assert "EMA 2020 · approved" in html
    assert "FDA 2019 · conditional / accelerated" in html
    assert "AIFA 2021 · reimbursed" in html
    assert f'href="{trials[0].get_absolute_url()}">{trials[0].name}</a>' in html
    assert "3 regimens" in html


def test_regimen_list_filters_by_drug_class(board_client):
    wanted = RegimenFactory(abbreviation="CarWanted")
    RegimenComponentFactory(regimen=wanted, drug=DrugFactory(drug_class=DrugClass.BCMA_CAR_T))
    other = RegimenFactory(abbreviation="PiOther")
    RegimenComponentFactory(regimen=other, drug=DrugFactory(drug_class=DrugClass.PROTEASOME_INHIBITOR))

    html = _text(board_client.get(reverse("regimens:regimen_list"), {"drug_class": DrugClass.BCMA_CAR_T}))

    assert "CarWanted" in html
    assert "PiOther" not in html
    assert "1 regimen matches the filters" in html


def test_regimen_list_filters_by_agency_approval_in_force(board_client):
    ApprovalFactory(regimen=RegimenFactory(abbreviation="AifaYes"), agency=Agency.AIFA)
    ApprovalFactory(
        regimen=RegimenFactory(abbreviation="AifaGone"), agency=Agency.AIFA, status=ApprovalStatus.WITHDRAWN
    )
    ApprovalFactory(regimen=RegimenFactory(abbreviation="EmaOnly"), agency=Agency.EMA)
    ApprovalFactory(
        regimen=RegimenFactory(abbreviation="AifaClassified"),
        agency=Agency.AIFA,
        status=ApprovalStatus.CLASSIFIED,
    )

    html = _text(board_client.get(reverse("regimens:regimen_list"), {"agency": "AIFA"}))

    assert "AifaYes" in html
    assert "AifaGone" not in html
    assert "EmaOnly" not in html
    assert "AifaClassified" not in html


def test_regimen_list_approval_without_year_reads_year_not_reported(board_client):
    regimen = RegimenFactory()
    ApprovalFactory(regimen=regimen, agency=Agency.EMA, year=None, status=ApprovalStatus.PENDING)
    ApprovalFactory(regimen=regimen, agency=Agency.EMA, year=2024)

    html = _text(board_client.get(reverse("regimens:regimen_list")))

    assert html.index("EMA 2024 · approved") < html.index(
        "EMA (year not reported) · positive opinion, decision pending"
    )
    assert "None" not in html


@pytest.mark.parametrize("query", ["isakd", "isatuximab", "Isa-KD-alias"])
def test_regimen_list_search_matches_abbreviation_name_or_alias(board_client, query):
    RegimenFactory(
        abbreviation="IsaKd", name="isatuximab, carfilzomib, dexamethasone", aliases=["Isa-KD-alias"]
    )
    RegimenFactory(abbreviation="NotIsa", name="something else", aliases=[])

    html = _text(board_client.get(reverse("regimens:regimen_list"), {"q": query}))

    assert "IsaKd" in html
    assert "NotIsa" not in html


def test_regimen_list_unknown_filter_value_is_reported_not_a_crash(board_client):
    RegimenFactory(abbreviation="StillShown")

    html = _text(board_client.get(reverse("regimens:regimen_list"), {"drug_class": "nonsense"}))

    assert "StillShown" in html
    assert "Select a valid choice" in html


def test_regimen_list_filter_form_works_without_javascript(board_client):
    html = _text(board_client.get(reverse("regimens:regimen_list")))

    assert 'method="get" action="/regimens/"' in html
    assert '<button type="submit">' in html
    assert 'data-hx-get="/regimens/"' in html
    assert 'data-hx-push-url="true"' in html
    assert '<label for="id_drug_class">Drug class</label>' in html


def test_regimen_list_htmx_request_returns_only_the_results_partial(board_client):
    RegimenFactory(abbreviation="PartialRd")

    response = board_client.get(reverse("regimens:regimen_list"), {"q": "Partial"}, **HTMX)

    html = _text(response)
    assert "PartialRd" in html
    assert "<html" not in html
    assert "<form" not in html
    assert "HX-Request" in response["Vary"]


def test_regimen_list_htmx_history_restore_gets_the_whole_page(board_client):
    response = board_client.get(
        reverse("regimens:regimen_list"), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in _text(response)


# --- Regimen detail ----------------------------------------------------------------------------------


def test_regimen_detail_board_member_sees_components_cautions_approvals_and_evidence(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)
    regimen = regimens[0]
    component = regimen.components.select_related("drug").first()
    caution = component.drug.cautions.exclude(source=None).first()
    approval = regimen.approvals.get(agency=Agency.EMA)

    html = _text(board_client.get(regimen.get_absolute_url()))

    assert f"<h1>{regimen.abbreviation}" in html
    assert component.drug.name in html
    assert component.drug.get_drug_class_display() in html
    assert regimen.schedule in html
    assert f'href="{regimen.schedule_source.url}"' in html
    assert caution.label in html
    assert f'href="{caution.source.url}"' in html
    assert "Synthetic withdrawal of an indication" in html  # regulatory history
    assert approval.indication in html
    assert f'href="{approval.source.url}"' in html
    assert f'href="{trials[0].get_absolute_url()}">{trials[0].name}</a>' in html
    assert f'href="/trials/?regimen={regimen.key}"' in html
    # key results of the arms that use this regimen, each with its source
    assert "14 months" in html
    assert "70%" in html
    assert "95% CI 0.4–0.7" in html
    assert "Lenalidomide-refractory" in html
    result_source = trials[0].results.filter(arm__regimen=regimen).first().source
    assert f'href="{result_source.url}"' in html
    assert "prescribe" not in html.lower()


def test_regimen_detail_route_missing_reads_not_reported(board_client):
    regimen = RegimenFactory()
    RegimenComponentFactory(regimen=regimen, drug=DrugFactory(route=""))

    html = _text(board_client.get(regimen.get_absolute_url()))

    assert '<span class="not-reported">not reported</span>' in html


def test_regimen_detail_unknown_key_is_404(board_client):
    assert board_client.get(reverse("regimens:regimen_detail", args=["NO-SUCH"])).status_code == 404


# --- Trial list --------------------------------------------------------------------------------------


def test_trial_list_board_member_sees_phase_nct_arms_and_fingerprint(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)
    trial = trials[0]

    html = _text(board_client.get(reverse("regimens:trial_list")))

    assert f'href="{trial.get_absolute_url()}">{trial.name}</a>' in html
    assert trial.get_phase_display() in html
    assert f'href="https://clinicaltrials.gov/study/{trial.nct}"' in html
    assert f'href="{regimens[0].get_absolute_url()}">{regimens[0].abbreviation}</a>' in html
    assert "n=150" in html
    assert "1–3" in html
    assert "30.5%" in html


def test_trial_list_missing_len_refractory_share_reads_not_reported(board_client):
    TrialFactory(name="NoShare", len_refractory_pct=None, prior_lines_min=None, prior_lines_max=None)

    html = _text(board_client.get(reverse("regimens:trial_list")))

    row = html[html.index("NoShare") :]
    row = row[: row.index("</tr>")]
    assert row.count('<span class="not-reported">not reported</span>') == 2
    assert "0%" not in row


@pytest.mark.parametrize("query", ["Alpha", "alpha-key", "NCT01234567"])
def test_trial_list_search_matches_name_key_or_nct(board_client, query):
    TrialFactory(name="Alpha-1", key="ALPHA-KEY", nct="NCT01234567")
    TrialFactory(name="Beta-2", key="BETA-2", nct="NCT07654321")

    html = _text(board_client.get(reverse("regimens:trial_list"), {"q": query}))

    assert "Alpha-1" in html
    assert "Beta-2" not in html


def test_trial_list_filters_by_phase_and_regimen(board_client):
    regimen = RegimenFactory(key="REG-WANTED")
    TrialArmFactory(trial=TrialFactory(name="PhaseTwoWith", phase=Phase.P2), regimen=regimen)
    TrialArmFactory(trial=TrialFactory(name="PhaseThreeWith", phase=Phase.P3), regimen=regimen)
    TrialArmFactory(trial=TrialFactory(name="PhaseTwoWithout", phase=Phase.P2))

    by_phase = _text(board_client.get(reverse("regimens:trial_list"), {"phase": "2"}))
    by_regimen = _text(board_client.get(reverse("regimens:trial_list"), {"regimen": "REG-WANTED"}))
    both = _text(board_client.get(reverse("regimens:trial_list"), {"phase": "2", "regimen": "REG-WANTED"}))

    assert "PhaseTwoWith<" in by_phase and "PhaseTwoWithout" in by_phase and "PhaseThreeWith" not in by_phase
    assert (
        "PhaseTwoWith<" in by_regimen
        and "PhaseThreeWith" in by_regimen
        and "PhaseTwoWithout" not in by_regimen
    )
    assert "PhaseTwoWith<" in both and "PhaseThreeWith" not in both and "PhaseTwoWithout" not in both


def test_trial_list_htmx_request_returns_only_the_results_partial(board_client):
    TrialFactory(name="PartialTrial", phase=Phase.P2)

    response = board_client.get(reverse("regimens:trial_list"), {"phase": "2"}, **HTMX)

    html = _text(response)
    assert "PartialTrial" in html
    assert "<html" not in html
    assert "<form" not in html
    assert "HX-Request" in response["Vary"]


# --- Trial detail ------------------------------------------------------------------------------------


def test_trial_detail_board_member_sees_header_fingerprint_arms_results_and_sources(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)
    trial = trials[0]
    source = trial.sources.order_by("key").first()

    html = _text(board_client.get(trial.get_absolute_url()))

    assert f"<h1>{trial.name}" in html
    assert f'href="https://clinicaltrials.gov/study/{trial.nct}"' in html
    assert trial.design in html
    assert trial.population in html
    assert "Synthetic caveat: crossover allowed on progression." in html
    # fingerprint: prior lines, shares, and "not reported" for the missing one
    assert "1–3" in html
    assert "30.5%" in html
    assert "10%" in html
    fingerprint = html[html.index("Triple-class-refractory") :]
    assert fingerprint[: fingerprint.index("</div>")].count("not reported") == 1
    # arms: regimen link; n missing for the comparator
    assert f'href="{regimens[0].get_absolute_url()}">{regimens[0].abbreviation}</a>' in html
    # results grouped by population then endpoint
    assert "<caption>Intention to treat (ITT)</caption>" in html
    assert "<caption>Lenalidomide-refractory</caption>" in html
    assert "Median PFS" in html and "PFS hazard ratio" in html and "Overall response rate" in html
    assert "14 months" in html and "7 months" in html
    assert "95% CI 6–20" in html
    assert "&lt;0.001" in html
    # every figure's source, and the sources list with DOI and PMID
    assert f'href="{source.url}" title="{source.citation}"' in html
    assert f'href="https://doi.org/{source.doi}"' in html
    assert f"https://pubmed.ncbi.nlm.nih.gov/{source.pmid}/" in html


def test_trial_detail_missing_ci_and_n_read_not_reported(board_client):
    arm = TrialArmFactory(n=None)
    ResultFactory(arm=arm, endpoint=Endpoint.ORR, unit=Unit.PERCENT, value=42, ci_low=None, ci_high=None)

    html = _text(board_client.get(arm.trial.get_absolute_url()))

    arms = html[html.index('id="arms-heading"') : html.index('id="results-heading"')]
    assert "not reported" in arms
    results = html[html.index('id="results-heading"') : html.index('id="sources-heading"')]
    assert "42%" in results
    assert '<td class="ci"><span class="not-reported">not reported</span></td>' in results


def test_trial_detail_median_not_reached_reads_not_reached(board_client):
    arm = TrialArmFactory()
    ResultFactory(arm=arm, value=None, not_reached=True, ci_low=20.0, ci_high=None)

    html = _text(board_client.get(arm.trial.get_absolute_url()))

    assert "not reached" in html
    assert "95% CI 20–NE" in html


def test_trial_detail_notes_link_source_keys_and_stay_escaped(board_client):
    trial = TrialFactory(notes="Crossover confounds OS [src-a]; see [unknown-key]. <b>bold</b>")
    trial.sources.add(SourceFactory(key="src-a"))

    html = _text(board_client.get(trial.get_absolute_url()))

    assert '<a href="#source-src-a">[src-a]</a>' in html
    assert 'id="source-src-a"' in html
    assert "see [unknown-key]." in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_trial_detail_shows_a_quote_beside_its_source_link(board_client):
    arm = TrialArmFactory()
    quoted = ResultFactory(
        arm=arm,
        value=41.7,
        ci_low=None,
        ci_high=None,
        quote="mPFS was 41.7 months with Isa-Kd vs 20.8 months",
    )
    ResultFactory(arm=arm, endpoint=Endpoint.ORR, unit=Unit.PERCENT, value=42, ci_low=None, ci_high=None)

    html = _text(board_client.get(arm.trial.get_absolute_url()))

    row = _row_with(html, "41.7 months</td>")
    link = f'<a class="source" lang="en" href="{quoted.source.url}" title="{quoted.source.citation}" rel="external noopener" aria-describedby="quote-result-{quoted.pk}">'
    assert link in row
    tip = row[row.index(f'<span class="quote-tip" id="quote-result-{quoted.pk}" lang="en">') :]
    assert "“mPFS was 41.7 months with Isa-Kd vs 20.8 months”" in tip[: tip.index("</td>")]
    assert (
        '<span class="not-reported">not reported</span>' in row
    )  # no CI from the source: still not reported
    assert "quote-tip" not in _row_with(html, "42%")  # a first-curation figure carries no quote


def test_regimen_detail_shows_the_quotes_of_cautions_and_approvals(board_client):
    regimen = RegimenFactory()
    drug = DrugFactory()
    RegimenComponentFactory(regimen=regimen, drug=drug)
    caution = CautionFactory(
        drug=drug, description="Antiemetic prophylaxis", quote="Provide prophylactic antiemetics"
    )
    approval = ApprovalFactory(regimen=regimen, quote="approved for adults after one prior therapy")

    html = _text(board_client.get(regimen.get_absolute_url()))

    caution_row = _row_with(html, "Antiemetic prophylaxis")
    assert f'aria-describedby="quote-caution-{caution.pk}"' in caution_row
    assert (
        f'id="quote-caution-{caution.pk}"' in caution_row
        and "“Provide prophylactic antiemetics”" in caution_row
    )
    approval_row = _row_with(html, approval.indication)
    assert f'aria-describedby="quote-approval-{approval.pk}"' in approval_row
    assert "“approved for adults after one prior therapy”" in approval_row


def test_trial_detail_unknown_key_is_404(board_client):
    assert board_client.get(reverse("regimens:trial_detail", args=["NO-SUCH"])).status_code == 404


# --- Access ------------------------------------------------------------------------------------------


def _urls() -> list[str]:
    regimens, trials = build_knowledge_base(trials=1, regimens=2)
    return [
        reverse("regimens:regimen_list"),
        regimens[0].get_absolute_url(),
        reverse("regimens:trial_list"),
        trials[0].get_absolute_url(),
    ]


def test_pages_anonymous_is_sent_to_login(client):
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_pages_logged_in_user_without_a_role_is_forbidden(outsider_client):
    for url in _urls():
        assert outsider_client.get(url).status_code == 403, url


def test_pages_refuse_post(board_client):
    for url in _urls():
        assert board_client.post(url).status_code == 405, url


# --- Constant queries --------------------------------------------------------------------------------

# Pinned: session, user, the user's and the groups' permissions (4), then the page's own queries.
PAGE_QUERIES = {
    # revision, count, regimens of the page, components+drugs, approvals, key trials
    "regimen_list": 10,
    "regimen_list_filtered": 10,
    "regimen_detail": 12,  # regimen, components+drugs, cautions, approvals, key trials, regulatory events, results, arms
    "trial_list": 9,  # revision, count, trials of the page, arms+regimens, the regimen filter's choices
    "trial_list_filtered": 10,  # + the chosen regimen
    "trial_detail": 10,  # trial, arms, results (arm, comparator, source), sources, arm and comparator regimens
}


def _page_url(page_name: str, regimens, trials) -> str:
    return {
        "regimen_list": reverse("regimens:regimen_list"),
        "regimen_list_filtered": reverse("regimens:regimen_list") + "?agency=EMA&drug_class=imid&q=Rd",
        "regimen_detail": regimens[1].get_absolute_url(),
        "trial_list": reverse("regimens:trial_list"),
        "trial_list_filtered": reverse("regimens:trial_list") + f"?phase=3&regimen={regimens[1].key}&q=Trial",
        "trial_detail": trials[1].get_absolute_url(),
    }[page_name]


def _count_queries(client, url: str, **headers) -> int:
    """The queries of a request that renders the page (list results are kept once rendered)."""
    forget_all()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("page_name", PAGE_QUERIES)
def test_page_queries_are_constant_from_2_to_30_trials(
    board_client, django_assert_max_num_queries, page_name
):
    regimens = build_regimens(20)
    trials = build_trials(2, regimens)
    url = _page_url(page_name, regimens, trials)
    small = _count_queries(board_client, url)

    build_trials(28, regimens, start=2)
    with django_assert_max_num_queries(PAGE_QUERIES[page_name]):
        response = board_client.get(url)

    assert response.status_code == 200
    assert _count_queries(board_client, url) == small


@pytest.mark.parametrize("page_name", ["regimen_list", "trial_list"])
def test_page_partial_queries_are_constant(board_client, django_assert_max_num_queries, page_name):
    regimens, trials = build_knowledge_base()
    url = _page_url(page_name, regimens, trials)

    with django_assert_max_num_queries(PAGE_QUERIES[page_name]):
        response = board_client.get(url, **HTMX)

    assert "<html" not in _text(response)


# --- The shipped knowledge base ----------------------------------------------------------------------


def _row_with(html: str, text: str) -> str:
    """The table row (<tr>...</tr>) of the first occurrence of text."""
    at = html.index(text)
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_trial_detail_karmma3_shows_pfs_medians_with_their_source(board_client, knowledge_base):
    source = Source.objects.get(key="rodriguez-otero-2023-targetedonc")

    html = _text(board_client.get(reverse("regimens:trial_detail", args=["KARMMA-3"])))

    for figure in ("13.3 months", "4.4 months"):
        row = _row_with(html, figure)
        assert f'href="{source.link}"' in row, figure
    assert "crossover" in html  # the caveat is on the page
    assert "not reported" in html  # KarMMa-3 did not report its lenalidomide-refractory share


def test_trial_detail_candor_len_refractory_os_carries_its_quote_beside_the_source(
    board_client, knowledge_base
):
    source = Source.objects.get(key="candor-bloodadv-2023")

    html = _text(board_client.get(reverse("regimens:trial_detail", args=["CANDOR"])))

    row = _row_with(html, "38.2 months")
    assert f'href="{source.link}"' in row
    assert 'aria-describedby="quote-result-' in row
    assert (
        "“patients refractory to lenalidomide (KdD, not reached vs Kd, 38.2 months; HR, 0.69 [0.43-1.11])”"
        in row
    )


def test_trial_detail_ikema_final_hr_keeps_its_95_4_percent_ci_and_quote(board_client, knowledge_base):
    html = _text(board_client.get(reverse("regimens:trial_detail", args=["IKEMA"])))

    hr = _row_with(html, "95.4% CI 0.42–0.83")
    assert "“(HR = 0.59; 95.4% CI: 0.42-0.83)”" in hr
    assert 'href="https://kyprolis-hcp.com/combinations"' in hr
    median = _row_with(html, "41.7 months")
    assert '<span class="not-reported">not reported</span>' in median  # the page gives no CI for the median


def test_regimen_detail_shows_a_researched_caution_with_its_quote(board_client, knowledge_base):
    html = _text(board_client.get(reverse("regimens:regimen_detail", args=["SVD"])))

    row = _row_with(html, "Antiemetic prophylaxis")
    assert 'href="https://reference.medscape.com/drug/xpovio-selinexor-1000301"' in row
    assert "Provide prophylactic concomitant treatment with a 5–HT3 antagonist" in row


def test_pages_with_the_full_knowledge_base_run_pinned_queries(
    board_client, knowledge_base, django_assert_max_num_queries
):
    urls = {
        "regimen_list": [reverse("regimens:regimen_list")],
        "regimen_detail": [r.get_absolute_url() for r in Regimen.objects.all()],
        "trial_list": [reverse("regimens:trial_list")],
        "trial_detail": [t.get_absolute_url() for t in Trial.objects.all()],
    }
    assert len(urls["regimen_detail"]) >= 20 and len(urls["trial_detail"]) >= 30

    for page_name, page_urls in urls.items():
        for url in page_urls:
            with django_assert_max_num_queries(PAGE_QUERIES[page_name], info=url):
                response = board_client.get(url)
            assert response.status_code == 200, url
            assert ">None<" not in response.content.decode(), url


def test_trial_and_regimen_pages_link_to_the_comparison(board_client, knowledge_base):
    trial_page = board_client.get(reverse("regimens:trial_detail", args=["KARMMA-3"])).content.decode()
    assert 'href="/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&amp;trial=KARMMA-3"' in trial_page

    regimen_page = board_client.get(reverse("regimens:regimen_detail", args=["SVD"])).content.decode()
    assert 'href="/compare/?regimens=SVD"' in regimen_page  # its arms across trials
    assert 'href="/compare/?regimens=SVD,VD&amp;trial=BOSTON"' in regimen_page  # BOSTON's arms side by side
