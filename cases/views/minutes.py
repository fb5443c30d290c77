"""A meeting's minutes: the page and the PDF (WeasyPrint; nothing is fetched).

The PDF is in the request's language, or in the one `?lang=it|en` names (a stable contract:
a board can file the Italian minutes whatever the reader's browser says).
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from cases.models import Decision, Meeting
from cases.views.meetings import attendees_by_specialty, get_meeting
from mmboard.http import HtmxHttpRequest


def _minutes_context(meeting: Meeting) -> dict[str, Any]:
    decisions: dict[int, list[Decision]] = {}
    for decision in sorted(meeting.decisions.all(), key=lambda d: d.recorded_at):
        decisions.setdefault(decision.case_id, []).append(decision)
    return {
        "meeting": meeting,
        "attendees": attendees_by_specialty(meeting),
        "items": [(item, decisions.get(item.case_id, [])) for item in meeting.agenda.all()],
        "generated": timezone.now(),
    }


@require_GET
@permission_required("cases.view_meeting", raise_exception=True)
def minutes(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = get_meeting(pk, snapshots=True)
    return render(request, "cases/minutes.html", _minutes_context(meeting))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@require_GET
@permission_required("cases.view_meeting", raise_exception=True)
def minutes_pdf(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    meeting = get_meeting(pk, snapshots=True)
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language()
    with translation.override(language):
        html = render_to_string("cases/minutes_pdf.html", _minutes_context(meeting), request=request)
    # Nothing is fetched: the stylesheet is passed in, and no other resource may load. The TLS
    # context is made once: a fetcher would load the CA certificates on each PDF (~15 ms).
    fetcher = URLFetcher(allowed_protocols=["data"], ssl_context=_tls_context())
    stylesheet = CSS(string=render_to_string("cases/minutes_pdf.css"), url_fetcher=fetcher)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/"), url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Language"] = language
    response["Content-Disposition"] = f'inline; filename="minutes-{meeting.date:%Y-%m-%d}.pdf"'
    return response
