import time

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # local accounts are made by administrators; SSO users by their first sign-in

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Signing in counts as having just confirmed the password: setting up the second
        factor right after a sign-in (as staff must) asks for it once, not twice."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        if request is None or not request.user.is_authenticated:
            return True
        now = time.time()
        return not any(
            record.get("method") in {"password", "mfa"}
            and now - record["at"] < app_settings.REAUTHENTICATION_TIMEOUT
            for record in get_authentication_records(request, request.user)
        )
