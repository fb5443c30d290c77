from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases.models import Decision, Meeting, ReviewFlag
from mmboard.http import HtmxHttpRequest
from regimens.models import Regimen, Result, Source, Trial

HOME_LIST_LENGTH = 5
FOLLOW_UP_HORIZON = timedelta(days=14)  # planned decisions whose follow-up falls within two weeks


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (admin, PDFs)."""
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """What the board needs first: the next meeting, follow-ups due, the latest decisions."""
    context: dict = {
        "counts": {
            "regimens": Regimen.objects.count(),
            "trials": Trial.objects.count(),
            "results": Result.objects.count(),
            "sources": Source.objects.count(),
        }
    }
    if request.user.has_perm("cases.view_meeting"):
        context["next_meeting"] = (
            Meeting.objects.annotate_counts().filter(date__gte=timezone.now()).order_by("date").first()
        )
    if request.user.has_perm("cases.view_case"):
        # Cases an algorithm change flagged for the board to review.
        flags = ReviewFlag.objects.for_home()
        context["review_flags"] = list(flags[:HOME_LIST_LENGTH])
        context["review_count"] = flags.count() if len(context["review_flags"]) == HOME_LIST_LENGTH else None
    meeting = context.get("next_meeting")
    if context.get("review_flags") and meeting and request.user.has_perm("cases.add_agendaitem"):
        context["flagged_to_add"] = ReviewFlag.objects.open().not_on_agenda_of(meeting).exists()
    if request.user.has_perm("cases.view_decision"):
        context["today"] = timezone.localdate()
        decisions = Decision.objects.for_home()
        horizon = timezone.localdate() + FOLLOW_UP_HORIZON
        context["follow_ups"] = list(decisions.follow_ups_due(horizon)[:HOME_LIST_LENGTH])
        context["recent_decisions"] = list(decisions.newest_first()[:HOME_LIST_LENGTH])
    return render(request, "home.html", context)
