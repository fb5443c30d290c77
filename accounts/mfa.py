"""Two-factor authentication (django-allauth's mfa: TOTP apps and recovery codes).

Who must use it: staff, curators and superusers, and every local account when
REQUIRE_2FA is on. Signing in with a password then asks for the code; an
account that has no authenticator yet is sent to set one up before anything
else (accounts.middleware.TwoFactorSetupMiddleware). Single sign-on leaves
two-factor to the hospital's provider.

Wrong codes count as failed log-ins for django-axes, against the same
username + address as wrong passwords: the forms below refuse a locked-out
account and the `authentication_failed` receiver (accounts.signals) records each
wrong code.
"""

from allauth.core import context
from allauth.mfa.base import forms as mfa_forms
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from regimens.roles import CURATOR

# Set in the session at a password sign-in of an account that must use two-factor and has none.
SETUP_REQUIRED_SESSION_KEY = "mmboard_2fa_setup_required"


def requires_2fa(user) -> bool:
    if settings.REQUIRE_2FA or user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name=CURATOR).exists()


def axes_credentials(user) -> dict:
    return {"username": user.get_username()}


class ThrottledCodeMixin:
    """Refuse any code, right or wrong, while django-axes has the account locked out."""

    def clean_code(self) -> str:
        request = context.request
        credentials = axes_credentials(self.user)
        if not AxesProxyHandler.is_allowed(request, credentials):
            request.axes_locked_out = True  # AxesMiddleware answers with the lock-out page
            request.axes_credentials = credentials
            raise forms.ValidationError(_("Too many failed attempts. Try again later."))
        return super().clean_code()


class AuthenticateForm(ThrottledCodeMixin, mfa_forms.AuthenticateForm):
    code = forms.CharField(
        label=_("Authenticator code"),
        help_text=_("The six-digit code your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReauthenticateForm(ThrottledCodeMixin, mfa_forms.ReauthenticateForm):
    code = AuthenticateForm.base_fields["code"]
