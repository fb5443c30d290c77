from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import include, path, re_path
from oidc_provider.views import AuthorizeView

authorize = AuthorizeView.as_view()


def authorize_with_pkce_only(request: HttpRequest, *args, **kwargs):
    """Like a hardened hospital provider: no authorisation request without PKCE (S256)."""
    params = request.GET if request.method == "GET" else request.POST
    if params.get("response_type") and (
        not params.get("code_challenge") or params.get("code_challenge_method") != "S256"
    ):
        return HttpResponseBadRequest("PKCE (S256) is required")
    return authorize(request, *args, **kwargs)


def no_icon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)  # browsers ask; a 404 would be a console error in the browser tests


urlpatterns = [
    path("favicon.ico", no_icon),
    path("login/", auth_views.LoginView.as_view(template_name="idp/login.html"), name="login"),
    re_path(r"^openid/authorize/?$", authorize_with_pkce_only),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
