"""The JSON API at /api/v1/: read-only regimens and trials, every figure with its source."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regimens.api import api
from tests.integration.factories import (
    ApprovalFactory,
    ResultFactory,
    build_knowledge_base,
    build_regimens,
    build_trials,
)

pytestmark = pytest.mark.django_db


def _urls() -> list[str]:
    _, trials = build_knowledge_base(trials=1, regimens=2)
    return [
        "/api/v1/regimens/",
        "/api/v1/trials/",
        f"/api/v1/trials/{trials[0].key}/",
        "/api/v1/openapi.json",
        "/api/v1/docs",
    ]


def test_api_anonymous_gets_401_json_not_a_login_redirect(client):
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json"), url
        assert response.json() == {"detail": "Unauthorized"}, url


def test_api_logged_in_user_without_a_role_is_forbidden(outsider_client):
    for url in _urls()[:3]:
        assert outsider_client.get(url).status_code == 403, url


def test_api_regimens_lists_drugs_approvals_with_sources_and_key_trials(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)

    response = board_client.get("/api/v1/regimens/")

    assert response.status_code == 200
    body = response.json()
    assert [item["key"] for item in body] == sorted(
        (r.key for r in regimens), key=lambda k: next(r.abbreviation for r in regimens if r.key == k)
    )
    first = next(item for item in body if item["key"] == regimens[0].key)
    assert first["abbreviation"] == regimens[0].abbreviation
    assert first["aliases"] == regimens[0].aliases
    assert len(first["drugs"]) == 3
    assert {"key", "name", "drug_class", "route"} <= set(first["drugs"][0])
    ema = next(a for a in first["approvals"] if a["agency"] == "EMA")
    assert ema["year"] == 2020
    assert ema["status"] == "approved"
    assert ema["source"]["url"].startswith("https://example.org/")
    assert first["key_trials"] == [trials[0].key]
    assert first["page"] == regimens[0].get_absolute_url()


def test_api_trials_lists_arms_and_fingerprint(board_client):
    regimens, trials = build_knowledge_base(trials=2, regimens=3)

    body = board_client.get("/api/v1/trials/").json()

    assert [item["key"] for item in body] == [t.key for t in trials]
    first = body[0]
    assert first["nct"] == trials[0].nct
    assert first["len_refractory_pct"] == 30.5
    assert first["triple_class_refractory_pct"] is None  # not reported stays null, never 0
    assert first["arms"] == [
        {"key": "exp", "label": trials[0].arms.get(key="exp").label, "regimen": regimens[0].key, "n": 150},
        {"key": "ctl", "label": trials[0].arms.get(key="ctl").label, "regimen": regimens[1].key, "n": None},
    ]


def test_api_trial_has_results_each_with_its_source(board_client):
    _, trials = build_knowledge_base(trials=2, regimens=3)
    trial = trials[0]

    response = board_client.get(f"/api/v1/trials/{trial.key}/")

    assert response.status_code == 200
    body = response.json()
    assert body["key"] == trial.key
    assert body["notes"] == trial.notes
    assert len(body["results"]) == 10
    hr = next(r for r in body["results"] if r["endpoint"] == "pfs_hr" and r["population"] == "ITT")
    assert hr["arm"] == "exp"
    assert hr["vs"] == "ctl"
    assert (hr["value"], hr["ci_low"], hr["ci_high"], hr["p"]) == (0.55, 0.4, 0.7, "<0.001")
    assert hr["ci_label"] == "95% CI 0.4–0.7"
    source = trial.results.get(pk=trial.results.filter(endpoint="pfs_hr").first().pk).source
    assert hr["source"] == {
        "key": source.key,
        "citation": source.citation,
        "doi": source.doi,
        "pmid": source.pmid,
        "url": source.url,
        "link": source.url,
    }
    assert {s["key"] for s in body["sources"]} == set(trial.sources.values_list("key", flat=True))


def test_api_results_and_approvals_carry_their_quote(board_client):
    result = ResultFactory(quote="median PFS was 12.5 months")
    approval = ApprovalFactory(regimen=result.arm.regimen, quote="approved after one prior therapy")

    trial = board_client.get(f"/api/v1/trials/{result.trial.key}/").json()
    regimens = board_client.get("/api/v1/regimens/").json()

    assert trial["results"][0]["quote"] == "median PFS was 12.5 months"
    regimen = next(item for item in regimens if item["key"] == approval.regimen.key)
    assert regimen["approvals"][0]["quote"] == "approved after one prior therapy"


def test_api_trial_unknown_key_is_404_json(board_client):
    response = board_client.get("/api/v1/trials/NO-SUCH/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_api_is_read_only(board_client):
    assert board_client.post("/api/v1/regimens/", {}, content_type="application/json").status_code == 405


def test_api_openapi_document_lists_the_paths(board_client):
    response = board_client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/regimens/", "/api/v1/trials/", "/api/v1/trials/{key}/"} <= set(paths)
    assert "get" in paths["/api/v1/trials/{key}/"]


def test_api_docs_page_serves_swagger_ui_from_own_static_files(board_client):
    response = board_client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "http" not in response["Content-Security-Policy"]


def test_api_instance_is_importable_for_other_operations():
    assert api.urls_namespace == "api-v1"
    assert api.auth  # operations added later inherit the same authentication


@pytest.mark.parametrize(
    ("path", "max_queries"),
    [
        # session, user, the user's and the groups' permissions (4), then:
        ("/api/v1/regimens/", 9),  # regimens, components+drugs, approvals, approval sources, key trials
        ("/api/v1/trials/", 6),  # trials, arms+regimens
        ("/api/v1/trials/TRIAL-01/", 8),  # trial, arms, results (arm, comparator, source), sources
    ],
)
def test_api_queries_are_constant_from_2_to_30_trials(
    board_client, django_assert_max_num_queries, path, max_queries
):
    regimens = build_regimens(20)
    trials = build_trials(2, regimens)
    path = path.replace("TRIAL-01", trials[1].key)
    with CaptureQueriesContext(connection) as small:
        assert board_client.get(path).status_code == 200

    build_trials(28, regimens, start=2)
    with django_assert_max_num_queries(max_queries) as large:
        assert board_client.get(path).status_code == 200

    assert len(large) == len(small)
