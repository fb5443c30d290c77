"""API tokens: made and revoked in the admin, stored hashed, scoped, sent as a bearer token."""

import re

import pytest
from django.contrib.messages import get_messages

from accounts.models import ApiToken, Scope, hash_token
from audit.models import AccessRecord, Kind
from tests.integration.factories import build_knowledge_base

pytestmark = pytest.mark.django_db

FACTS = {"len_status": "refractory", "anti_cd38_status": "refractory", "prior_lines": 2}


def _create(admin_client, name: str, scopes: list[str]) -> str:
    response = admin_client.post("/admin/accounts/apitoken/add/", {"name": name, "scopes": scopes})
    assert response.status_code == 302, response.content
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    # The newest whole token (the admin's own message names the token by its first characters).
    return [token for token in re.findall(r"mmb_[\w-]+", shown) if len(token) > 40][-1]


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_made_in_the_admin_is_shown_once_and_stored_hashed(admin_client, admin_user):
    raw = _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])

    token = ApiToken.objects.get(name="warehouse")
    assert token.key_hash == hash_token(raw) and raw not in token.key_hash
    assert token.prefix == raw[:12] and token.created_by == admin_user
    assert raw.encode() in admin_client.get("/admin/accounts/apitoken/").content  # the page after creating it
    assert raw.encode() not in admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content


def test_token_reads_the_trials_and_is_logged(client, admin_client):
    build_knowledge_base(trials=2, regimens=2)
    raw = _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])

    response = client.get("/api/v1/trials/", **_bearer(raw))

    assert response.status_code == 200 and len(response.json()) == 2
    record = AccessRecord.objects.get(kind=Kind.API)
    assert record.username == "token:warehouse" and record.path == "/api/v1/trials/"
    assert ApiToken.objects.get().last_used_at is not None


def test_token_outside_its_scope_is_refused(client, admin_client):
    build_knowledge_base(trials=1, regimens=2)
    knowledge_base_only = _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])
    recommendations_only = _create(admin_client, "ehr", [Scope.RECOMMENDATIONS])

    response = client.post(
        "/api/v1/recommendations", FACTS, content_type="application/json", **_bearer(knowledge_base_only)
    )
    assert response.status_code == 403
    assert client.get("/api/v1/trials/", **_bearer(recommendations_only)).status_code == 403
    assert client.get("/api/v1/regimens/", **_bearer(recommendations_only)).status_code == 403


def test_token_revoked_or_wrong_gets_401(client, admin_client):
    raw = _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])
    token = ApiToken.objects.get()

    response = admin_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )

    assert response.status_code == 302
    assert client.get("/api/v1/trials/", **_bearer(raw)).status_code == 401
    assert client.get("/api/v1/trials/", **_bearer("mmb_not-a-token")).status_code == 401


def test_token_cannot_be_deleted_only_revoked(admin_client):
    _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])
    token = ApiToken.objects.get()
    assert admin_client.get(f"/admin/accounts/apitoken/{token.pk}/delete/").status_code == 403


def test_openapi_document_describes_the_bearer_token(board_client):
    document = board_client.get("/api/v1/openapi.json").json()

    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["ApiTokenAuth"].items()
    operation = document["paths"]["/api/v1/trials/"]["get"]
    assert {"ApiTokenAuth": []} in operation["security"]


def test_token_reads_the_openapi_document(client, admin_client):
    raw = _create(admin_client, "warehouse", [Scope.KNOWLEDGE_BASE])
    assert client.get("/api/v1/openapi.json", **_bearer(raw)).status_code == 200
