"""mmboard settings: one file, configured through the environment.

Production needs SECRET_KEY, ALLOWED_HOSTS and usually DATABASE_URL. On a
developer's machine `make setup` writes a local, git-ignored `.env` (DEBUG on, a
generated SECRET_KEY) that fills in what the environment does not set.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# The local .env, when there is one: the environment wins over it. ENV_FILE names
# another file; ENV_FILE="" reads none (the tests do so, docs/adr/0002).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return default if not value else int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def oidc_origin(url: str) -> str:
    """scheme://host[:port] of the provider's URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"OIDC_SERVER_URL must be an http(s) URL, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


DEBUG = env_bool("DEBUG")
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off), "
            "or run `make setup` for a local development .env."
        )
    SECRET_KEY = "insecure-local-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves the API docs page (Swagger UI) from static files, not a CDN
    "simple_history",
    "axes",
    # Sign-in: local accounts with two-factor, and single sign-on over OpenID Connect
    # (docs/adr/0004-sign-in.md).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "django_tasks_db",
    "regimens",
    "algorithm",
    "compare",
    "cases",
    "accounts",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language follows the switcher's choice (a cookie), else Accept-Language;
    # no URL prefix, so every URL answers in both languages.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After messages (they add one); neither queries the database on an ordinary page.
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.TwoFactorSetupMiddleware",
    "audit.middleware.AccessLogMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mmboard.urls"
WSGI_APPLICATION = "mmboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mmboard.navigation.main_menu",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once; take the write lock at
    # BEGIN so two writers never deadlock on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background tasks (the impact of an algorithm draft on the cases in care): Django's tasks
# framework with the ORM backend; `manage.py db_worker` runs them (`make run` starts one).
# Every worker reads the same database, so with PostgreSQL several machines can run workers.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Cases "in care" for the impact of an algorithm change: on an upcoming agenda, or with a
# decision in force that is planned or started, or that was recorded within this many days.
IMPACT_RECENT_DECISION_DAYS = env_int("IMPACT_RECENT_DECISION_DAYS", 180)

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in (accounts/, README "Signing in"). The local log-in form: "all" accounts,
# "staff" accounts only (administrators, when everyone else signs in through the
# hospital), or "off".
LOCAL_LOGIN = env("LOCAL_LOGIN", "all")
if LOCAL_LOGIN not in {"all", "staff", "off"}:
    raise ImproperlyConfigured(f"LOCAL_LOGIN must be all, staff or off, not {LOCAL_LOGIN!r}")
# Two-factor authentication is required of staff and curators, and of every local
# account when REQUIRE_2FA is on (single sign-on leaves it to the hospital).
REQUIRE_2FA = env_bool("REQUIRE_2FA")
# A session ends after this many minutes without a request.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = (SESSION_IDLE_MINUTES + 1) * 60

# Single sign-on with the hospital's OpenID Connect provider (Keycloak, Entra ID, ...):
# on when OIDC_SERVER_URL is set. OIDC_ROLE_MAP maps the provider's groups to roles:
# "idp-group=Board member,other-group=Curator".
OIDC_SERVER_URL = env("OIDC_SERVER_URL")
OIDC_PROVIDER_ID = "hospital"  # callback: /accounts/oidc/hospital/login/callback/
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
OIDC_ROLE_MAP: dict[str, str] = {}
for _pair in env_list("OIDC_ROLE_MAP"):
    _group, _, _role = _pair.rpartition("=")
    if not _group or not _role:
        raise ImproperlyConfigured(f"OIDC_ROLE_MAP entries look like group=Role, not {_pair!r}")
    OIDC_ROLE_MAP[_group.strip()] = _role.strip()
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": env("OIDC_PROVIDER_NAME", "the hospital"),
                "client_id": env("OIDC_CLIENT_ID"),
                "secret": env("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": OIDC_SERVER_URL,
                    "scope": env("OIDC_SCOPES", "openid profile email").split(),
                    "oauth_pkce_enabled": True,
                },
            }
        ]
        if OIDC_SERVER_URL
        else [],
    }
}
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True  # the first sign-in creates the user
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never join a local account by its e-mail
SOCIALACCOUNT_REQUESTS_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"  # no self sign-up
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"  # accounts need no e-mail; no mail is sent
ACCOUNT_RATE_LIMITS = False  # django-axes is the one throttle (passwords and codes)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "mmboard"
MFA_ALLOW_UNVERIFIED_EMAIL = True  # local accounts have no e-mail address
MFA_FORMS = {  # wrong codes are throttled by django-axes like wrong passwords
    "authenticate": "accounts.mfa.AuthenticateForm",
    "reauthenticate": "accounts.mfa.ReauthenticateForm",
}

# Login throttling: after AXES_FAILURE_LIMIT failures the username+IP pair is
# locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = False

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# English when the browser asks for nothing else; Italian on request (locale/it).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Europe/Rome")
USE_I18N = True
USE_TZ = True
# Dates and numbers follow the active language (10 dicembre 2026, 13,8 mesi).

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Security headers. The CSP allows only this origin; scripts also need the
# per-request nonce, so an injected inline script never runs.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if OIDC_SERVER_URL:
    # The "Sign in with ..." button posts here, and the answer redirects to the provider:
    # browsers hold that redirect to form-action too.
    SECURE_CSP["form-action"].append(oidc_origin(OIDC_SERVER_URL))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
