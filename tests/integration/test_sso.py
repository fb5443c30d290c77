"""Single sign-on against a real OpenID Connect provider (tests/idp/, started by tests/sso.py):
discovery, the code flow with PKCE, the ID token's signature, groups to roles."""

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from accounts.sso import VerifyingOIDCAdapter
from regimens.roles import BOARD_MEMBER, CURATOR
from tests.sso import CLIENT_ID, sign_in_at_the_hospital

pytestmark = pytest.mark.django_db


def _sign_in(client, username: str):
    start = client.post("/accounts/oidc/hospital/login/", {"next": "/cases/"})
    assert start.status_code == 302
    back = sign_in_at_the_hospital(start["Location"], username)
    parts = urlsplit(back)
    assert parts.path == "/accounts/oidc/hospital/login/callback/"
    return start, client.get(f"{parts.path}?{parts.query}")


def test_login_page_offers_the_hospital_when_configured(client, sso):
    response = client.get("/accounts/login/")
    assert b"Sign in with Test Hospital" in response.content
    assert b'action="/accounts/oidc/hospital/login/"' in response.content


def test_login_page_without_sso_has_no_hospital_button(client):
    assert b"Sign in with" not in client.get("/accounts/login/").content


def test_sso_first_sign_in_creates_the_user_with_the_mapped_role(client, sso):
    start, response = _sign_in(client, "dr.rossi")

    query = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(f"{sso.url}/authorize")  # found by discovery
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]  # PKCE
    assert query["client_id"] == [CLIENT_ID]
    assert "groups" in query["scope"][0].split()
    assert response.status_code == 302 and response["Location"] == "/cases/"
    user = get_user_model().objects.get(username="dr.rossi")
    assert [group.name for group in user.groups.all()] == [BOARD_MEMBER]
    assert not user.is_staff and not user.has_usable_password()
    assert client.get("/cases/").status_code == 200


def test_sso_group_change_at_the_provider_applies_at_the_next_sign_in(client, sso):
    _sign_in(client, "dr.rossi")
    client.post("/accounts/logout/")
    sso.set_groups("dr.rossi", "kb-curators")
    try:
        _sign_in(client, "dr.rossi")
    finally:
        sso.set_groups("dr.rossi", "mm-board")

    user = get_user_model().objects.get(username="dr.rossi")
    assert [group.name for group in user.groups.all()] == [CURATOR]
    assert user.is_staff  # curators work in the admin


def test_sso_user_without_a_mapped_group_signs_in_with_no_role(client, sso):
    _sign_in(client, "dr.verdi")

    user = get_user_model().objects.get(username="dr.verdi")
    assert not user.groups.exists()
    assert client.get("/cases/").status_code == 403


def test_sso_does_not_take_over_a_local_account_of_the_same_name(client, sso, django_user_model):
    local = django_user_model.objects.create_user(username="dr.rossi", password="local-password-123")

    _sign_in(client, "dr.rossi")

    created = django_user_model.objects.exclude(pk=local.pk).get(socialaccount__uid__isnull=False)
    assert created.username != "dr.rossi"
    assert not local.groups.exists()


def test_sso_id_token_signed_with_another_key_is_refused(sso):
    """The signature is checked against the provider's published keys (JWKS)."""
    adapter = VerifyingOIDCAdapter(RequestFactory().get("/"), "hospital")
    config = adapter.openid_config
    kid = jwt.PyJWKClient(config["jwks_uri"]).get_jwk_set().keys[0].key_id
    forged = jwt.encode(
        {
            "iss": config["issuer"],
            "aud": CLIENT_ID,
            "sub": "1",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": kid},
    )
    app = adapter.get_provider().app

    with pytest.raises(Exception, match="(?i)signature|invalid"):
        adapter._decode_id_token(app, forged)
