"""Bearer tokens for machine clients of /api/v1/ (`Authorization: Bearer mmb_...`).

A token authenticates as a TokenPrincipal: the API's permission checks
(`request.auth.has_perm(...)`) see only what the token's scopes allow, so a
token used outside its scope gets 403. Each use is in the access log (audit/).
"""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from accounts.models import TOKEN_PREFIX, ApiToken, hash_token

# last_used_at is written at most this often per token (one UPDATE, not one per request).
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenPrincipal:
    """Who a token request acts as: no user, only the permissions of the token's scopes."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: ApiToken):
        self.token = token
        self._permissions = token.permissions()

    def get_username(self) -> str:
        return self.token.principal_name

    def has_perm(self, perm: str, obj=None) -> bool:
        return perm in self._permissions

    def has_perms(self, perms, obj=None) -> bool:
        return all(self.has_perm(perm) for perm in perms)

    def __str__(self) -> str:
        return self.get_username()


class ApiTokenAuth(HttpBearer):
    # For API clients (English, like the rest of the OpenAPI document).
    openapi_description = (
        "An API token that an administrator created in the admin (Sign-in > API tokens), "
        "scoped to reading the knowledge base and/or asking for recommendations."
    )

    def authenticate(self, request: HttpRequest, token: str) -> TokenPrincipal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        api_token = ApiToken.objects.usable().filter(key_hash=hash_token(token)).first()
        if api_token is None:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.api_token = api_token  # type: ignore[attr-defined]  # for the access log
        return TokenPrincipal(api_token)
