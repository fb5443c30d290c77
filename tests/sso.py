"""A real OpenID Connect provider for the sign-in tests: tests/idp/ (django-oidc-provider)
run with `manage.py runserver` in a subprocess on a free port of 127.0.0.1.

`identity_provider` (session-wide) starts it once; `sso` points mmboard's settings
at it for one test. Its users (hospital password HOSPITAL_PASSWORD):
- dr.rossi, in the provider's group "mm-board" (-> Board member)
- dr.bianchi, in "kb-curators" (-> Curator)
- dr.verdi, in "unrelated" (-> no role)
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from mmboard.settings import oidc_origin

ROOT = Path(__file__).resolve().parents[1]
HOSPITAL_PASSWORD = "hospital-password-1"
CLIENT_ID = "mmboard-test"
CLIENT_SECRET = "mmboard-test-secret"
ROLE_MAP = {"mm-board": "Board member", "mm-editors": "Case editor", "kb-curators": "Curator"}
# Where the provider sends the browser back to when the test is Django's test client.
TEST_CLIENT_CALLBACK = "http://testserver/accounts/oidc/hospital/login/callback/"
USERS = {"dr.rossi": "mm-board", "dr.bianchi": "kb-curators", "dr.verdi": "unrelated"}


@dataclass
class IdentityProvider:
    url: str  # the issuer
    env: dict

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "django", *args, "--settings=tests.idp.settings"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def allow_redirect_uri(self, uri: str) -> None:
        self.manage(
            "idp_setup", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--redirect-uri", uri
        )

    def set_groups(self, username: str, groups: str) -> None:
        self.manage(
            "idp_setup",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--user",
            f"{username}:{HOSPITAL_PASSWORD}:{groups}",
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    port = _free_port()
    site = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "IDP_DATABASE": str(tmp_path_factory.mktemp("idp") / "idp.sqlite3"),
        "IDP_SITE_URL": site,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    idp = IdentityProvider(url=f"{site}/openid", env=env)
    idp.manage("migrate", "--verbosity=0")
    idp.manage(
        "idp_setup",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        TEST_CLIENT_CALLBACK,
        *[
            arg
            for name, groups in USERS.items()
            for arg in ("--user", f"{name}:{HOSPITAL_PASSWORD}:{groups}")
        ],
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--settings=tests.idp.settings",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{idp.url}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the test identity provider did not start")
            time.sleep(0.2)
        yield idp
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def sso(settings, identity_provider):
    """mmboard configured for single sign-on with the test provider, as the OIDC_* variables would."""
    settings.OIDC_SERVER_URL = identity_provider.url
    settings.OIDC_ROLE_MAP = ROLE_MAP
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], oidc_origin(identity_provider.url)],
    }
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": settings.OIDC_PROVIDER_ID,
                    "name": "Test Hospital",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {
                        "server_url": identity_provider.url,
                        "scope": ["openid", "profile", "email", "groups"],
                        "oauth_pkce_enabled": True,
                    },
                }
            ],
        }
    }
    return identity_provider


def sign_in_at_the_hospital(authorize_url: str, username: str, password: str = HOSPITAL_PASSWORD) -> str:
    """What a browser does at the provider: open the authorisation URL, sign in, and
    follow redirects until the provider sends it back to mmboard. Returns that URL."""
    browser = requests.Session()
    response = browser.get(authorize_url, timeout=10)  # -> the provider's log-in form
    assert response.status_code == 200, response.text[:500]
    response = browser.post(
        response.url,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": parse_qs(urlsplit(response.url).query)["next"][0],
        },
        headers={"Referer": response.url},
        allow_redirects=False,
        timeout=10,
    )
    while response.status_code in (301, 302, 303):
        location = urljoin(response.url, response.headers["Location"])
        if not location.startswith(authorize_url.split("/openid/")[0]):
            return location  # back to mmboard
        response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError(
        f"the provider did not send the browser back: {response.status_code} {response.text[:500]}"
    )
