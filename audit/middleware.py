"""Record every successful view of patient data, keyed by the URL's name.

The views themselves (cases/) know nothing of it: after a 2xx answer this
middleware reads `request.resolver_match` (the URL name and its arguments) and
appends one AccessRecord. A machine client's request with an API token
(accounts/tokens.py sets `request.api_token`) is recorded too, whatever its answer.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.models import AccessRecord, Kind
from cases.models import AgendaItem

# URL name -> kind of view. The names are cases/urls.py's.
LOGGED_VIEWS = {
    "cases:case_detail": Kind.CASE,
    "cases:case_export": Kind.EXPORT,
    "cases:meeting_detail": Kind.MEETING,
    "cases:meeting_case": Kind.MEETING_CASE,
    "cases:minutes": Kind.MINUTES,
    "cases:minutes_pdf": Kind.MINUTES_PDF,
}


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from (REMOTE_ADDR; a TLS proxy in front must set it, e.g. gunicorn's
    --forwarded-allow-ips)."""
    return request.META.get("REMOTE_ADDR") or None


def _case_code(kind: Kind, kwargs: dict) -> str:
    if "code" in kwargs:
        return kwargs["code"]
    if kind == Kind.MEETING_CASE:
        code = (
            AgendaItem.objects.filter(pk=kwargs["item_pk"], meeting_id=kwargs["pk"])
            .values_list("case__code", flat=True)
            .first()
        )
        return code or ""
    return ""


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        token = getattr(request, "api_token", None)
        if token is not None:
            AccessRecord.objects.create(
                user=None,
                username=token.principal_name,
                kind=Kind.API,
                path=request.get_full_path()[:500],
                ip_address=client_ip(request),
                api_token=str(token)[:100],
            )
            return response
        match = request.resolver_match
        if match is None or not 200 <= response.status_code < 300:
            return response
        kind = LOGGED_VIEWS.get(match.view_name)
        if kind is None or not request.user.is_authenticated:
            return response
        AccessRecord.objects.create(
            user=request.user,
            username=request.user.get_username(),
            kind=kind,
            case_code=_case_code(kind, match.kwargs),
            meeting_id=match.kwargs.get("pk"),
            path=request.get_full_path()[:500],
            ip_address=client_ip(request),
        )
        return response
