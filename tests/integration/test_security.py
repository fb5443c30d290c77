"""Safe by default: login everywhere, CSP, throttling, settings that refuse to start."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Start from the real environment, without what the test run itself set.
    test_only = {
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "ALLOWED_HOSTS",
        "STATIC_MANIFEST",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    clean = {k: v for k, v in os.environ.items() if k not in test_only and not k.startswith("SECURE_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/regimens/", "/trials/"])
def test_pages_anonymous_redirects_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_health_is_public_and_checks_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_admin_outsider_cannot_enter(outsider_client):
    response = outsider_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_login_page_has_nonce_csp_without_unsafe_inline_script(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'nonce-" in script_src
    assert "unsafe-inline" not in script_src
    assert "http" not in policy  # no CDN anywhere


@pytest.mark.django_db
def test_login_repeated_failures_lock_the_account_with_a_message(client, board_member):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": board_member.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": board_member.username, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content


@pytest.mark.django_db
def test_login_with_right_password_reaches_the_board(client, board_member):
    response = client.post(
        reverse("login"), {"username": board_member.username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"not a prescription" in response.content


def test_settings_without_secret_key_refuse_to_start():
    result = _manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_with_production_values_is_clean():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x" * 20 + "-a-production-like-secret-key-of-50-characters-plus",
        ALLOWED_HOSTS="mmboard.example.org",
        DEBUG="false",
        SECURE_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _every_url(resolver=None, prefix=""):
    """One concrete path per URL pattern of the project (sample values for converters)."""
    for pattern in (resolver or get_resolver()).url_patterns:
        converters = getattr(pattern.pattern, "converters", {})
        route = str(pattern.pattern)
        for name, converter in converters.items():
            sample = "1" if isinstance(converter, IntConverter) else "X"
            route = re.sub(rf"<(?:\w+:)?{name}>", sample, route)
        if isinstance(pattern, URLResolver):
            yield from _every_url(pattern, prefix + route)
        elif isinstance(pattern, URLPattern) and "(?P<" not in route and "^" not in route:
            yield "/" + prefix + route


# The admin has its own log-in page (and a log-out that only ends a session).
PUBLIC = {"/accounts/login/", "/admin/login/", "/health", "/favicon.ico"}
# What someone not yet signed in sees on the way: a disabled account, single sign-on messages.
PUBLIC_SIGN_IN = {"/accounts/inactive/", "/accounts/sso/cancelled/", "/accounts/sso/error/"}
# Single sign-on's start and return: public, and 404 for a provider that is not configured.
SSO_ENDPOINTS = {"/accounts/oidc/X/login/", "/accounts/oidc/X/login/callback/"}
# The language switcher, on the log-in page too: it only sets the language cookie and goes back.
LANGUAGE_SWITCH = "/i18n/setlang/"


@pytest.mark.django_db
def test_every_url_but_the_login_pages_health_and_favicon_needs_a_login(client):
    urls = sorted(set(_every_url()))
    assert "/cases/X/" in urls and "/meetings/1/minutes.pdf" in urls  # the walk reaches the apps

    for url in urls:
        response = client.get(url)
        if url in PUBLIC:
            assert response.status_code in (200, 301), url
        elif url in PUBLIC_SIGN_IN:
            assert response.status_code in (200, 401), url  # the SSO error page answers 401
        elif url in SSO_ENDPOINTS:
            assert response.status_code == 404, url
        elif url == LANGUAGE_SWITCH:
            assert response.status_code in (204, 302), url
        elif url.startswith("/api/"):
            assert response.status_code in (401, 404, 405), url  # JSON, never a redirect to a form
        else:
            assert response.status_code == 302, url
            assert "login" in response["Location"], url
