"""Single sign-on with the hospital's OpenID Connect provider (django-allauth's openid_connect).

- The provider is configured from the environment (settings: OIDC_*), one app
  whose provider id is "hospital"; its login and callback live at
  /accounts/oidc/hospital/login/ and /accounts/oidc/hospital/login/callback/.
- The authorisation code flow runs with PKCE, and the ID token's signature is
  always checked against the provider's published keys (JWKS), also when the
  token came over the back channel (allauth may skip that check there).
- The first sign-in creates the user; the provider's groups (the claim named by
  OIDC_GROUPS_CLAIM) decide the roles at every sign-in through OIDC_ROLE_MAP.
  The provider owns these users' roles: a role it no longer grants is removed.
"""

from collections.abc import Iterable

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.http import Http404, HttpRequest, HttpResponse

from regimens.roles import BOARD_MEMBER, CASE_EDITOR, CURATOR

ROLES = (BOARD_MEMBER, CASE_EDITOR, CURATOR)


def sso_enabled() -> bool:
    return bool(settings.OIDC_SERVER_URL)


class VerifyingOIDCAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect adapter, but the ID token's signature is always verified."""

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        return jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )


@login_not_required
def oidc_login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2LoginView.adapter_view(VerifyingOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc


@login_not_required
def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2CallbackView.adapter_view(VerifyingOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc


def claims(sociallogin: SocialLogin) -> dict:
    """The ID token's claims, overlaid with the userinfo endpoint's."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def idp_groups(claim_set: dict) -> list[str]:
    value = claim_set.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(group) for group in value]


def roles_for(groups: Iterable[str]) -> set[str]:
    return {settings.OIDC_ROLE_MAP[group] for group in groups if group in settings.OIDC_ROLE_MAP}


def sync_roles(user, groups: Iterable[str]) -> set[str]:
    """Give the user exactly the roles its provider groups map to; curators get staff status."""
    wanted = roles_for(groups) & set(ROLES)
    managed = Group.objects.filter(name__in=ROLES)
    user.groups.remove(*[group for group in managed if group.name not in wanted])
    user.groups.add(*[group for group in managed if group.name in wanted])
    is_staff = CURATOR in wanted
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return wanted


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True  # the provider decides who may sign in; the first sign-in creates the user

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict):
        user = super().populate_user(request, sociallogin, data)
        # Never take over a local account's name: let allauth pick a free one instead.
        if user.username and get_user_model().objects.filter(username__iexact=user.username).exists():
            user.username = ""
        return user
