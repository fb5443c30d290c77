"""The JSON API at /api/v1/: read-only regimens and trials, each figure with its source.

`api` is the project's one NinjaAPI instance; mmboard/urls.py mounts the other
apps' routers on it (e.g. `POST /api/v1/recommendations` from algorithm/api.py).
Authentication is ninja's: the Django session (`django_auth`), then an API token
sent as `Authorization: Bearer` (accounts/tokens.py; its permissions are those of
its scopes). An anonymous request gets 401 JSON, not the login redirect of
LoginRequiredMiddleware, and a user without the role's view permission (or a
token without the scope) gets 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI
from ninja.errors import AuthorizationError
from ninja.security import django_auth

from accounts.tokens import ApiTokenAuth
from regimens.models import Regimen, Trial
from regimens.schemas import RegimenOut, TrialOut, TrialSummaryOut

# Tried in order; the first that returns a user wins. Each returns a user, so
# permission checks read `request.auth.has_perm(...)` whatever the scheme.
API_AUTH: list[Callable[[HttpRequest], Any]] = [django_auth, ApiTokenAuth()]


class BoardAPI(NinjaAPI):
    """A NinjaAPI whose URLs are exempt from LoginRequiredMiddleware: ninja's `auth` guards them."""

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            login_not_required(pattern.callback)
        return patterns, app_name, namespace


def _authenticated(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Guard the OpenAPI document with the operations' own authentication (401 JSON otherwise)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if any(auth(request) for auth in API_AUTH):
            return view(request, *args, **kwargs)
        return api.create_response(request, {"detail": "Unauthorized"}, status=401)

    return guarded


api = BoardAPI(
    title="mmboard API",
    version="1",
    description="Read-only knowledge base of mmboard: regimens and trials, every figure with its source.",
    urls_namespace="api-v1",
    auth=API_AUTH,
    # /api/v1/openapi.json and the docs page (/api/v1/docs, Swagger UI from the "ninja" app's
    # static files, so no CDN) ask for the same credentials as the operations.
    docs_decorator=_authenticated,
)


def require_perm(request: HttpRequest, perm: str) -> None:
    """403 unless the authenticated user holds `perm` (every role may view the knowledge base)."""
    if not request.auth.has_perm(perm):  # type: ignore[attr-defined]
        raise AuthorizationError


@api.get("/regimens/", response=list[RegimenOut], tags=["knowledge base"], summary="All regimens")
def list_regimens(request: HttpRequest):
    """Regimens with their drugs, approvals (each with its source) and key trial keys."""
    require_perm(request, "regimens.view_regimen")
    return Regimen.objects.for_list()


@api.get("/trials/", response=list[TrialSummaryOut], tags=["knowledge base"], summary="All trials")
def list_trials(request: HttpRequest):
    """Trials with their arms and population fingerprint; figures are on each trial."""
    require_perm(request, "regimens.view_trial")
    return Trial.objects.for_list()


@api.get("/trials/{key}/", response=TrialOut, tags=["knowledge base"], summary="One trial")
def get_trial(request: HttpRequest, key: str):
    """A trial with arms, every result (each with its source) and the trial's sources."""
    require_perm(request, "regimens.view_trial")
    return get_object_or_404(Trial.objects.for_detail(), key=key)
