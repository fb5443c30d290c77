"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live_server."""

import os

import pytest
from django.apps import apps as django_apps

from regimens.roles import ALGORITHM_ROLES, ROLES, sync_roles
from tests.conftest import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """live_server tests run in transactions whose flush drops the groups the
    data migrations made: make them again."""
    from cases.roles import FOLLOW_UP_ROLES, REVIEW_FLAG_ROLES
    from cases.roles import ROLES as CASE_ROLES

    for roles in (ROLES, ALGORITHM_ROLES, CASE_ROLES, FOLLOW_UP_ROLES, REVIEW_FLAG_ROLES):
        sync_roles(django_apps, roles=roles)


@pytest.fixture
def console_errors(page):
    """Collect console errors (CSP violations included) and fail the test on any."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield errors
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def logged_in_page(page, live_server, board_member, console_errors):
    """A board member logged in through the real login form."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(board_member.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page
