"""Signing in in the browser: through the hospital's provider (tests/idp/), and with a local
staff account's second factor."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from regimens.roles import BOARD_MEMBER
from tests.conftest import PASSWORD
from tests.integration.test_sign_in import totp_code
from tests.sso import HOSPITAL_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_sso_sign_in_lands_on_the_board_with_the_mapped_role(page, live_server, sso, console_errors):
    sso.allow_redirect_uri(f"{live_server.url}/accounts/oidc/hospital/login/callback/")

    page.goto(f"{live_server.url}/cases/")
    page.get_by_role("button", name="Sign in with Test Hospital").click()
    page.get_by_label("Hospital username").fill("dr.rossi")
    page.get_by_label("Hospital password").fill(HOSPITAL_PASSWORD)
    page.get_by_role("button", name="Sign in to the hospital").click()

    page.wait_for_url(f"{live_server.url}/cases/")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases")).to_be_visible()
    expect(page.locator(".user")).to_have_text("dr.rossi")
    user = get_user_model().objects.get(username="dr.rossi")
    assert list(user.groups.values_list("name", flat=True)) == [BOARD_MEMBER]


@pytest.fixture
def staff_secret(curator) -> str:
    secret = generate_totp_secret()
    TOTP.activate(curator, secret)
    return secret


def _password(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_local_staff_is_asked_for_the_totp_code(page, live_server, curator, staff_secret, console_errors):
    _password(page, live_server, curator)

    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_label("Authenticator code").fill(totp_code(staff_secret))
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("link", name="Curate")).to_be_visible()


# No console_errors here: the browser reports the lock-out's 429 answer as a console error.
def test_local_staff_wrong_totp_code_is_refused_then_throttled(page, live_server, curator, staff_secret):
    _password(page, live_server, curator)
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")

    page.get_by_label("Authenticator code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("incorrect", re.IGNORECASE))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page.get_by_label("Authenticator code").fill("000000")
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def _serious(page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


def test_sign_in_pages_have_no_serious_accessibility_violation(
    page, live_server, sso, curator, staff_secret, django_user_model, console_errors
):
    found = {}
    page.goto(f"{live_server.url}/accounts/login/")  # with the hospital's button
    found["login"] = _serious(page)
    _password(page, live_server, curator)
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    found["totp"] = _serious(page)

    # A staff account without an authenticator is taken to set one up.
    newcomer = django_user_model.objects.create_user("newcomer", password=PASSWORD, is_staff=True)
    page.context.clear_cookies()
    _password(page, live_server, newcomer)
    page.wait_for_url(f"{live_server.url}/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    found["set-up"] = _serious(page)

    assert found == {"login": [], "totp": [], "set-up": []}
