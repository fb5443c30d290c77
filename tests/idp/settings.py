"""A real OpenID Connect provider for the sign-in tests (django-oidc-provider), never deployed.

tests/sso.py starts it in a subprocess on a free port:
`python -m django runserver --settings=tests.idp.settings`, with its own SQLite
file (IDP_DATABASE) and its address (IDP_SITE_URL), so the issuer it announces
is the address the tests reach it at.
"""

import os

SECRET_KEY = "test-identity-provider-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_URL = os.environ.get("IDP_SITE_URL", "http://127.0.0.1:8001")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
    "tests.idp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.idp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("IDP_DATABASE", "/tmp/mmboard-test-idp.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_URL = "/login/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; test users only

# The groups of the user, as a "groups" claim (scope "groups"), in the userinfo answer
# and in the ID token.
OIDC_USERINFO = "tests.idp.claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "tests.idp.claims.GroupsScopeClaims"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True

LOGGING = {"version": 1, "disable_existing_loggers": True}
