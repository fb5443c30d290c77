"""The project's URLs plus /bench/ping: a trivial view behind the same middleware (login included)."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """The floor: session, user and every middleware, no page work."""
    return HttpResponse("pong", content_type="text/plain")


urlpatterns = [
    path("bench/ping", ping, name="bench_ping"),
    path("", include("mmboard.urls")),
]
