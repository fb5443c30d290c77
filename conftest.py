"""Test environment: production-like settings (DEBUG off) without TLS or a static manifest."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmboard.settings")
# Never a developer's local .env (make setup writes one): tests and the processes they start
# see only this environment.
os.environ["ENV_FILE"] = ""

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# pytest-django sets Django up only after the conftests; tests/conftest.py
# imports models at the top, so set it up here, once the environment is set.
import django  # noqa: E402

django.setup()


import pytest  # noqa: E402

# The test OpenID Connect provider's fixtures (identity_provider, sso), for integration and browser tests.
pytest_plugins = ["tests.sso"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last: their live server flushes the database after each
    test, which removes what migrations made (the role groups) for later tests."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))


@pytest.fixture(autouse=True)
def _english_unless_asked():
    """A request in Italian leaves its language active in the thread (LocaleMiddleware does not reset it):
    each test starts in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _forget_kept_per_revision():
    """Kept page parts and compiled rules are keyed by the knowledge-base revision (and version id),
    which each test's rollback winds back: another test's rows may reach the same numbers."""
    from regimens.fragments import forget_all

    forget_all()
