"""Session hygiene: an idle timeout, and no page before a required second factor is set up.

Neither queries the database on an ordinary page: both read the session, which
the authentication middleware has loaded already.
"""

import time
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.mfa import SETUP_REQUIRED_SESSION_KEY
from accounts.signals import LAST_SEEN_SESSION_KEY

# The last-seen time is written at most this often, so most requests write nothing.
LAST_SEEN_PRECISION_SECONDS = 60


class IdleTimeoutMiddleware:
    """Sign a session out after SESSION_IDLE_MINUTES without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
        if last_seen is not None:
            now = int(time.time())
            if now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity.")
                    % {"minutes": settings.SESSION_IDLE_MINUTES},
                )
            elif now - last_seen >= LAST_SEEN_PRECISION_SECONDS:
                request.session[LAST_SEEN_SESSION_KEY] = now
        return self.get_response(request)


class TwoFactorSetupMiddleware:
    """After a password sign-in of an account that must use two-factor and has none,
    every page leads to setting up an authenticator app (signing out stays possible)."""

    ALLOWED_URL_NAMES = (
        "mfa_activate_totp",
        "mfa_index",
        "logout",
        "account_logout",
        "account_reauthenticate",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.get(SETUP_REQUIRED_SESSION_KEY) and request.path not in {
            reverse(name) for name in self.ALLOWED_URL_NAMES
        }:
            if Authenticator.objects.filter(user_id=request.user.pk, type=Authenticator.Type.TOTP).exists():
                del request.session[SETUP_REQUIRED_SESSION_KEY]  # set up now: the session is free
                return self.get_response(request)
            messages.warning(
                request, _("Your account needs two-factor authentication: set up an authenticator app first.")
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
