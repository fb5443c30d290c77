"""What happens at sign-in: session bookkeeping, roles from the provider, two-factor and throttling."""

import time

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.signals import user_logged_in as allauth_user_logged_in
from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts import sso
from accounts.mfa import SETUP_REQUIRED_SESSION_KEY, axes_credentials, requires_2fa
from accounts.models import UserSession

LAST_SEEN_SESSION_KEY = "mmboard_last_seen"


@receiver(user_logged_in, dispatch_uid="accounts_session_signed_in")
def session_signed_in(sender, request, user, **kwargs):
    """Remember the session (for "sign out everywhere") and start its idle clock; ask for a
    second factor to be set up after a password sign-in of an account that needs one."""
    session = request.session
    session[LAST_SEEN_SESSION_KEY] = int(time.time())
    if session.session_key is None:
        session.save()
    UserSession.objects.get_or_create(session_key=session.session_key, defaults={"user": user})
    methods = {record.get("method") for record in get_authentication_records(request, user)}
    if "password" in methods and "mfa" not in methods and requires_2fa(user):
        session[SETUP_REQUIRED_SESSION_KEY] = True


@receiver(allauth_user_logged_in, dispatch_uid="accounts_roles_from_provider")
def roles_from_provider(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        sso.sync_roles(user, sso.idp_groups(sso.claims(sociallogin)))


@receiver(mfa_signals.authentication_failed, dispatch_uid="accounts_wrong_code_throttled")
def wrong_code_throttled(sender, request, user, **kwargs):
    """A wrong code is a failed log-in for django-axes (same username + address as passwords)."""
    user_login_failed.send(sender=__name__, credentials=axes_credentials(user), request=request)
