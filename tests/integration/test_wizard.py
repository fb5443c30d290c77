"""/algorithm/: the three-step wizard, its partials, its errors and its query counts."""

import json
import re

import pytest
from django.core.management import call_command

from algorithm.links import wizard_url

pytestmark = pytest.mark.django_db

URL = "/algorithm/"
DOUBLE_REFRACTORY = {
    "len_status": "refractory",
    "anti_cd38_status": "refractory",
    "anti_cd38_agent_last": "daratumumab",
    "prior_lines": "2",
}


def _options(html: str) -> list[str]:
    return re.findall(r'<details class="option-card[^"]*" id="option-([^"]+)"', html)


def test_wizard_step1_full_page_has_every_history_field_with_unknown(board_client, knowledge_base):
    response = board_client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    for label in ("Lenalidomide status", "Anti-CD38 antibody status", "Prior lines of therapy",
                  "Months from start of first line to progression", "Drug classes received before"):  # fmt: skip
        assert label in html
    assert html.count('value="unknown" selected') >= 6
    assert "within 60 days of the last dose" in html
    assert "low-dose (10 mg) maintenance" in html
    assert 'data-hx-get="/algorithm/"' in html


def test_wizard_step2_carries_step1_facts_as_hidden_fields(board_client, knowledge_base):
    response = board_client.get(URL, {"step": "2", **DOUBLE_REFRACTORY})

    html = response.content.decode()
    assert "Step 2: Patient factors" in html
    assert '<input type="hidden" name="len_status" value="refractory">' in html
    assert "IMWG frailty" in html
    assert "Charlson" in html  # the file's definition of IMWG frailty


def test_wizard_htmx_request_gets_only_the_step_partial_and_a_canonical_url(board_client, knowledge_base):
    params = {"step": "2", **DOUBLE_REFRACTORY, "frailty": "unknown"}

    response = board_client.get(URL, params, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="wizard"')
    assert "frailty" not in response["HX-Push-Url"]  # "not known" is left out of the shared URL
    assert response["HX-Push-Url"].startswith("/algorithm/?step=2&")
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_wizard_boosted_or_history_restore_request_gets_the_full_page(board_client, knowledge_base, header):
    headers = {"HX-Request": "true", header: "true"}

    response = board_client.get(URL, {"step": "1"}, headers=headers)

    assert "<html" in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_wizard_invalid_fact_shows_field_error_on_its_step_with_200(board_client, knowledge_base, htmx):
    headers = {"HX-Request": "true"} if htmx else {}

    response = board_client.get(
        URL, {"step": "3", "len_status": "refractory", "prior_lines": "0"}, headers=headers
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Step 1: History and refractoriness" in html
    assert 'id="id_prior_lines_error"' in html
    assert "must be a whole number from 1 to 30" in html
    assert 'aria-invalid="true"' in html


def test_wizard_patient_factor_error_goes_to_step_2(board_client, knowledge_base):
    response = board_client.get(URL, {"step": "3", **DOUBLE_REFRACTORY, "ecog": "9"})

    html = response.content.decode()
    assert "Step 2: Patient factors" in html
    assert 'id="id_ecog_error"' in html


def test_wizard_contradiction_is_reported_on_the_field(board_client, knowledge_base):
    params = {"step": "2", "anti_cd38_status": "naive", "anti_cd38_agent_last": "daratumumab"}

    html = board_client.get(URL, params).content.decode()

    assert 'id="id_anti_cd38_agent_last_error"' in html
    assert "must be none (or unknown) when anti_cd38_status is naive" in html


def test_wizard_options_double_refractory(board_client, knowledge_base):
    params = {"step": "3", **DOUBLE_REFRACTORY, "peripheral_neuropathy_grade": "2"}

    response = board_client.get(URL, params)

    html = response.content.decode()
    assert response.status_code == 200
    options = _options(html)
    assert "SVD" in options
    # the setting and why
    assert "Double refractory" in html
    assert "lenalidomide status is refractory" in html
    # key trial with headline numbers and its source
    assert 'href="/trials/BOSTON/"' in html
    assert "13.93 months" in html and "0.7</strong> (95% CI 0.53–0.93)" in html
    # cautions for this patient
    assert "peripheral neuropathy grade (CTCAE) is 2" in html
    # approvals by agency
    assert re.search(r'class="badge ema status-\w+"', html)
    assert re.search(r'class="badge aifa status-\w+"', html)
    # not recommended, and why
    assert "Not recommended here, and why" in html
    assert "anti-CD38-refractory" in html
    # version, sources, compare link, seed differences
    assert "Algorithm version <strong>2026.1</strong>" in html
    assert "Barilà G" in html
    assert re.search(r'href="/compare/\?regimens=[A-Z0-9,-]*SVD', html)
    assert "Where the review differs from the trials" in html
    assert "KarMMa-3" in html and "DPd, DVd, IRd, Kd and EPd" in html
    # regimen links
    assert 'href="/regimens/SVD/"' in html


def test_wizard_options_future_toggle_is_a_plain_link(board_client, knowledge_base):
    params = {"step": "3", **DOUBLE_REFRACTORY}

    hidden = board_client.get(URL, params).content.decode()
    shown = board_client.get(URL, {**params, "future": "1"}).content.decode()

    future = set(_options(shown)) - set(_options(hidden))
    assert future, "the double-refractory setting lists future options"
    assert re.search(
        r'<a href="/algorithm/\?step=3&amp;future=1&amp;[^"]+"[^>]*>Show \d+ future option', hidden
    )
    assert "Hide future options" in shown


def test_wizard_url_of_facts_answers_the_options_directly(board_client, knowledge_base):
    url = wizard_url({**DOUBLE_REFRACTORY, "prior_lines": 2, "bcma_exposed": None})

    response = board_client.get(url)

    assert response.status_code == 200  # canonical already: no redirect
    assert "SVD" in _options(response.content.decode())


def test_wizard_no_matching_setting_is_said_plainly(board_client, knowledge_base):
    html = board_client.get(URL, {"step": "3", "prior_lines": "25", "len_status": "naive"}).content.decode()

    assert "No matching setting" in html
    assert "No setting of the algorithm matches these facts" in html


def test_wizard_prior_exposure_checkboxes_round_trip(board_client, knowledge_base):
    params = {"step": "1", "prior_exposure": ["IMiD", "PI"]}

    html = board_client.get(URL, params).content.decode()

    assert re.search(r'<input type="checkbox" name="prior_exposure" value="IMiD"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="prior_exposure" value="XPO1"[^>]*checked', html)


def test_wizard_same_options_as_cli_and_api(board_client, knowledge_base, tmp_path):
    facts = {**DOUBLE_REFRACTORY, "prior_lines": 2, "cardiovascular_risk": "heart_failure_or_reduced_lvef"}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(facts))
    import io

    out = io.StringIO()
    call_command("recommend", str(path), stdout=out)
    cli = [(o["key"], o["category"]) for o in json.loads(out.getvalue())["options"]]

    from algorithm.api import recommend as api_view  # the API operation, called directly

    class _Request:
        body = json.dumps(facts).encode()

        class auth:  # noqa: N801
            @staticmethod
            def has_perm(perm):
                return True

    api = [(o["key"], o["category"]) for o in api_view(_Request()).value["options"]]
    html = board_client.get(URL, {"step": "3", **{k: str(v) for k, v in facts.items()}, "future": "1"})
    wizard = _options(html.content.decode())

    assert cli == api
    assert wizard == [key for key, _ in cli]


@pytest.mark.parametrize(
    ("params", "cold_queries"),
    [
        # session, user, the user's and the groups' permissions, published version, revision: 6
        ({}, 7),  # + the version's document (input definitions), then kept
        ({"step": "2", **DOUBLE_REFRACTORY}, 7),
        # + rules with their trial evidence, regimens, approvals, actions, trials, arms, results,
        # sources ..., then kept
        ({"step": "3", **DOUBLE_REFRACTORY, "future": "1"}, 26),
        ({"step": "3", "len_status": "refractory", "anti_cd38_status": "naive", "prior_lines": "1"}, 26),
    ],
)
def test_wizard_query_count_is_pinned(
    board_client, knowledge_base, django_assert_num_queries, params, cold_queries
):
    with django_assert_num_queries(cold_queries):
        response = board_client.get(URL, params)
    assert response.status_code == 200
    # Warm: the document, compiled rules and rendered options are kept per (version, revision).
    with django_assert_num_queries(6):
        warm = board_client.get(URL, params)
    assert warm.status_code == 200
    step = response.content.decode().split('<div id="wizard"')[1].split("</main>")[0]
    assert step in warm.content.decode()  # the same step (the page around it has new nonces)


def test_wizard_anonymous_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_wizard_post_is_refused(board_client):
    assert board_client.post(URL).status_code == 405


def test_wizard_plain_get_with_unknowns_redirects_to_the_short_url(board_client, knowledge_base):
    params = {"len_status": "refractory", "frailty": "unknown", "crcl_ml_min": "", "step": "2", "utm": "x"}

    response = board_client.get(URL, params)

    assert response.status_code == 302
    assert response["Location"] == "/algorithm/?step=2&len_status=refractory"
    assert board_client.get(response["Location"]).status_code == 200
