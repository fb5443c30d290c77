"""Local sign-in: two-factor (TOTP and recovery codes), throttling of wrong codes, LOCAL_LOGIN,
the idle timeout and "sign out everywhere"."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.urls import reverse

from accounts.signals import LAST_SEEN_SESSION_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_used_codes():
    """allauth remembers used TOTP codes in the cache; user ids repeat between tests."""
    cache.clear()


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def curator_secret(curator) -> str:
    secret = generate_totp_secret()
    TOTP.activate(curator, secret)
    return secret


def _password(client, user, next_url="/"):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD, "next": next_url})


def test_login_staff_with_totp_is_asked_for_the_code(client, curator, curator_secret):
    response = _password(client, curator, "/regimens/")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    page = client.get(reverse("mfa_authenticate"))
    assert b'<label for="id_code">Authenticator code</label>' in page.content
    assert client.get("/").status_code == 302  # not signed in yet

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(curator_secret)})

    assert response.status_code == 302 and response["Location"] == "/regimens/"
    assert client.get("/").status_code == 200


def test_login_with_a_recovery_code_instead_of_the_app(client, curator, curator_secret):
    code = RecoveryCodes.activate(curator).get_unused_codes()[0]
    _password(client, curator)

    response = client.post(reverse("mfa_authenticate"), {"code": code})

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_login_wrong_totp_codes_are_refused_then_throttled(client, curator, curator_secret):
    _password(client, curator)

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert b'role="alert"' in wrong.content and client.get("/").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content

    # Locked out: even the right code is refused now, and so is the password.
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(curator_secret)})
    assert response.status_code == 429
    assert client.get("/").status_code == 302
    assert _password(client, curator).status_code == 429


def test_login_staff_without_totp_must_set_it_up_first(client, curator):
    response = _password(client, curator)
    assert response.status_code == 302

    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == reverse("mfa_activate_totp")
    assert b"Set up two-factor authentication" in response.content
    assert b'<img src="data:image/svg+xml' in response.content
    assert client.get("/regimens/").status_code == 302  # every page leads to the set-up

    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=curator, type=Authenticator.Type.TOTP).exists()
    assert client.get("/").status_code == 200


def test_login_board_member_is_not_asked_for_two_factor_by_default(client, board_member):
    _password(client, board_member)
    assert client.get("/").status_code == 200


def test_login_require_2fa_applies_to_every_local_account(client, board_member, settings):
    settings.REQUIRE_2FA = True
    _password(client, board_member)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_login_local_login_staff_only_refuses_other_accounts(client, board_member, curator, settings):
    settings.LOCAL_LOGIN = "staff"

    response = _password(client, board_member)

    assert response.status_code == 200
    assert b"signs in through the hospital" in response.content
    assert _password(client, curator).status_code == 302


def test_login_local_login_off_shows_no_form_and_refuses_a_post(client, board_member, settings):
    settings.LOCAL_LOGIN = "off"
    assert b'name="password"' not in client.get(reverse("login")).content
    assert _password(client, board_member).status_code == 403


def test_admin_login_is_the_same_page_with_the_second_factor(client, curator, curator_secret):
    response = client.post(
        "/admin/login/", {"username": curator.username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == reverse("mfa_authenticate")


def test_session_idle_too_long_is_signed_out(board_client):
    assert board_client.get("/").status_code == 200
    session = board_client.session
    session[LAST_SEEN_SESSION_KEY] = int(time.time()) - settings.SESSION_IDLE_MINUTES * 60 - 1
    session.save()

    response = board_client.get("/")

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert b"without activity" in board_client.get(response["Location"]).content


def test_session_recently_active_stays_signed_in(board_client):
    session = board_client.session
    session[LAST_SEEN_SESSION_KEY] = int(time.time()) - settings.SESSION_IDLE_MINUTES * 60 + 30
    session.save()
    assert board_client.get("/").status_code == 200


def test_admin_sign_out_everywhere_ends_every_session_of_the_user(client, admin_client, board_member):
    from django.test import Client

    elsewhere = Client()
    _password(client, board_member)
    _password(elsewhere, board_member)
    assert client.get("/").status_code == 200 and elsewhere.get("/").status_code == 200

    response = admin_client.post(
        "/admin/auth/user/", {"action": "sign_out_everywhere", "_selected_action": [board_member.pk]}
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert elsewhere.get("/").status_code == 302
    assert Session.objects.filter(session_key=admin_client.session.session_key).exists()
