"""Meetings: the list, the agenda, attendees, and the walk-through case by case with the decision form."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from algorithm.links import wizard_url
from algorithm.presenting import find_option
from cases import services
from cases.forms import OTHER_OPTION, AgendaItemForm, AttendeeForm, DecisionForm, MeetingForm
from cases.models import AgendaItem, Decision, Meeting, ReviewFlag, Specialty, TherapyLine
from cases.views.cases import key_facts
from compare.links import compare_url
from mmboard.http import HtmxHttpRequest, done, page_or_partial, vary_on_htmx

FLAGGED_SHOWN = 20  # cases flagged for review listed under the agenda form


@require_GET
@permission_required("cases.view_meeting", raise_exception=True)
def meeting_list(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    meetings = Meeting.objects.annotate_counts()
    return render(
        request,
        "cases/meeting_list.html",
        {
            "upcoming": meetings.filter(date__gte=now).order_by("date"),
            "past": meetings.filter(date__lt=now).order_by("-date")[:50],
            "can_add": request.user.has_perm("cases.add_meeting"),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("cases.add_meeting", raise_exception=True)
def meeting_create(request: HtmxHttpRequest) -> HttpResponse:
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        meeting = form.save()
        messages.success(request, gettext("Meeting created. Add attendees and the agenda."))
        return done(request, meeting.get_absolute_url())
    return render(
        request, page_or_partial(request, "cases/meeting_form.html", "meeting-form"), {"form": form}
    )


def get_meeting(pk: int, snapshots: bool = False) -> Meeting:
    return get_object_or_404(Meeting.objects.for_detail(snapshots=snapshots), pk=pk)


def attendees_by_specialty(meeting: Meeting) -> list[tuple[str, list]]:
    labels = dict(Specialty.choices)
    order = {value: i for i, value in enumerate(Specialty.values)}
    attendees = sorted(meeting.attendees.all(), key=lambda a: (order.get(a.specialty, 99), a.name))
    return [(labels[s], list(group)) for s, group in itertools.groupby(attendees, key=lambda a: a.specialty)]


def _meeting_context(request: HtmxHttpRequest, meeting: Meeting, **extra) -> dict[str, Any]:
    agenda = list(meeting.agenda.all())
    decided: dict[int, Decision] = {}
    for decision in meeting.decisions.all():
        decided.setdefault(decision.case_id, decision)
    user = request.user
    flagged, flagged_count = [], 0
    if user.has_perm("cases.add_agendaitem") and meeting.date >= timezone.now():
        # Cases an algorithm change flagged for review and not on this agenda yet: one click adds them.
        open_flags = ReviewFlag.objects.for_home().not_on_agenda_of(meeting)
        flagged = _one_per_case(open_flags[: FLAGGED_SHOWN * 2])[:FLAGGED_SHOWN]
        flagged_count = open_flags.values("case").distinct().count()
    return {
        "meeting": meeting,
        "flagged": flagged,
        "flagged_count": flagged_count,
        "agenda": [(item, decided.get(item.case_id)) for item in agenda],
        "attendees": attendees_by_specialty(meeting),
        "can_edit_agenda": user.has_perm("cases.change_agendaitem"),
        "can_add_agenda": user.has_perm("cases.add_agendaitem"),
        "can_add_attendee": user.has_perm("cases.add_attendee"),
        "attendee_form": extra.pop("attendee_form", None) or AttendeeForm(),
        "agenda_form": extra.pop("agenda_form", None) or AgendaItemForm(meeting=meeting),
        **extra,
    }


@require_GET
@vary_on_htmx
@permission_required("cases.view_meeting", raise_exception=True)
def meeting_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = get_meeting(pk)
    return render(
        request,
        page_or_partial(request, "cases/meeting_detail.html", "agenda"),
        _meeting_context(request, meeting),
    )


@require_POST
@permission_required("cases.add_attendee", raise_exception=True)
def attendee_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = get_meeting(pk)
    form = AttendeeForm(request.POST)
    if form.is_valid():
        form.instance.meeting = meeting
        form.save()
        return done(request, meeting.get_absolute_url() + "#attendees")
    return render(
        request,
        page_or_partial(request, "cases/meeting_detail.html", "attendees"),
        _meeting_context(request, meeting, attendee_form=form),
    )


@require_POST
@permission_required("cases.add_agendaitem", raise_exception=True)
def agenda_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = get_meeting(pk)
    form = AgendaItemForm(request.POST, meeting=meeting)
    if form.is_valid():
        item = form.save(commit=False)
        item.meeting = meeting
        item.position = (meeting.agenda.aggregate(m=Max("position"))["m"] or 0) + 1
        item.save()
        if request.htmx:
            meeting = get_meeting(pk)
            return render(request, "cases/meeting_detail.html#agenda", _meeting_context(request, meeting))
        return redirect(meeting.get_absolute_url() + "#agenda")
    return render(
        request,
        page_or_partial(request, "cases/meeting_detail.html", "agenda"),
        _meeting_context(request, meeting, agenda_form=form),
    )


def _one_per_case(flags) -> list[ReviewFlag]:
    seen: set[int] = set()
    return [f for f in flags if not (f.case_id in seen or seen.add(f.case_id))]


def review_question(flag: ReviewFlag) -> str:
    return _("Review: algorithm %(version)s changed this case's options") % {
        "version": flag.algorithm_version.label
    }


@require_POST
@permission_required("cases.add_agendaitem", raise_exception=True)
def agenda_add_flagged(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add the cases flagged for review (one, by `case` code, or all) to an upcoming meeting's agenda."""
    meeting = get_object_or_404(Meeting, pk=pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    back = back or meeting.get_absolute_url() + "#agenda"
    if meeting.date < timezone.now():
        messages.error(request, _("This meeting has taken place; add the cases to an upcoming one."))
        return done(request, back)
    flags = ReviewFlag.objects.for_home().not_on_agenda_of(meeting)
    if code := request.POST.get("case", "").strip():
        flags = flags.filter(case__code=code)
    with transaction.atomic():
        position = meeting.agenda.aggregate(m=Max("position"))["m"] or 0
        items = [
            AgendaItem(
                meeting=meeting, case_id=flag.case_id, position=position + n, question=review_question(flag)
            )
            for n, flag in enumerate(_one_per_case(flags), start=1)
        ]
        for item in items:
            item.save()
    if items:
        messages.success(
            request,
            ngettext(
                "%(count)s case flagged for review added to the agenda of %(meeting)s.",
                "%(count)s cases flagged for review added to the agenda of %(meeting)s.",
                len(items),
            )
            % {"count": len(items), "meeting": meeting},
        )
    else:
        messages.info(request, _("No flagged case left to add: they are on the agenda already."))
    return done(request, back)


@require_POST
@permission_required("cases.change_agendaitem", raise_exception=True)
def agenda_move(request: HtmxHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Move an agenda item up or down one place; renumbers the agenda 1..n."""
    meeting = get_object_or_404(Meeting, pk=pk)
    direction = request.POST.get("direction")
    with transaction.atomic():
        items = list(
            AgendaItem.objects.select_for_update().filter(meeting=meeting).order_by("position", "pk")
        )
        index = next((i for i, item in enumerate(items) if item.pk == item_pk), None)
        if index is None:
            raise Http404("Not on this agenda")
        target = index - 1 if direction == "up" else index + 1 if direction == "down" else index
        if 0 <= target < len(items):
            items[index], items[target] = items[target], items[index]
        changed = [item for position, item in enumerate(items, start=1) if item.position != position]
        for position, item in enumerate(items, start=1):
            item.position = position
        AgendaItem.objects.bulk_update(changed, ["position"])
    if request.htmx:
        return render(request, "cases/meeting_detail.html#agenda", _meeting_context(request, get_meeting(pk)))
    return redirect(meeting.get_absolute_url() + "#agenda")


def _walk_context(
    request: HtmxHttpRequest, meeting: Meeting, item: AgendaItem, options: services.CaseOptions, form=None
) -> dict[str, Any]:
    case = item.case
    agenda = list(meeting.agenda.all())
    index = next(i for i, x in enumerate(agenda) if x.pk == item.pk)
    following = agenda[index + 1] if index + 1 < len(agenda) else None
    return {
        "meeting": meeting,
        "item": item,
        "case": case,
        "lines": list(case.lines.all()),
        "facts": list(options.facts.values()),
        "key_facts": key_facts(options.facts),
        "presented": options.presented,
        "hidden_future": options.hidden_future,
        "compare_url": compare_url(options.presented.get("compare_keys", [])[:6]),
        "wizard_url": wizard_url(options.engine_facts),
        "decisions": [d for d in meeting.decisions.all() if d.case_id == case.pk],
        "form": form or DecisionForm(options=options.choices),
        "can_decide": request.user.has_perm("cases.add_decision"),
        "previous": agenda[index - 1] if index > 0 else None,
        "next": following,
        "position": index + 1,
        "total": len(agenda),
    }


def _agenda_item(meeting: Meeting, item_pk: int) -> AgendaItem:
    item = next((x for x in meeting.agenda.all() if x.pk == item_pk), None)
    if item is None:
        raise Http404("Not on this agenda")
    # The case with its lines (regimens and drugs) and overrides, for the facts.
    return (
        AgendaItem.objects.select_related("case")
        .prefetch_related(
            Prefetch("case__lines", queryset=TherapyLine.objects.for_facts()), "case__overrides__created_by"
        )
        .get(pk=item.pk)
    )


@require_GET
@vary_on_htmx
@permission_required("cases.view_meeting", raise_exception=True)
def meeting_case(request: HtmxHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    if not request.user.has_perm("cases.view_case"):
        raise PermissionDenied
    meeting = get_meeting(pk)
    item = _agenda_item(meeting, item_pk)
    options = services.options_for(item.case)
    return render(
        request,
        page_or_partial(request, "cases/meeting_case.html", "walk"),
        _walk_context(request, meeting, item, options),
    )


@require_POST
@permission_required("cases.add_decision", raise_exception=True)
def decision_create(request: HtmxHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting = get_meeting(pk)
    item = _agenda_item(meeting, item_pk)
    options = services.options_for(item.case)
    form = DecisionForm(request.POST, options=options.choices)
    if form.is_valid():
        key = form.cleaned_data["option"]
        chosen = find_option(options.presented, key)
        decision = form.save(commit=False)
        decision.case = item.case
        decision.meeting = meeting
        decision.option_key = key
        decision.option_label = (
            form.cleaned_data["other_label"].strip() if key == OTHER_OPTION else options.label(key)
        )
        decision.category = (chosen or {}).get("category", "")
        decision.algorithm_version = str(options.recommendation.get("algorithm_version", ""))[:80]
        decision.snapshot = services.snapshot(item.case, options)
        decision.recorded_by = request.user
        decision.save()
        messages.success(
            request,
            gettext("Decision recorded for %(code)s: %(option)s.")
            % {"code": item.case.code, "option": decision.option_label},
        )
        agenda = list(meeting.agenda.all())
        later = agenda[[x.pk for x in agenda].index(item.pk) + 1 :]
        target = later[0] if later else None
        url = (
            reverse("cases:meeting_case", args=[meeting.pk, target.pk])
            if target
            else meeting.get_absolute_url()
        )
        return done(request, url)
    context = _walk_context(request, meeting, item, options, form=form)
    return render(request, page_or_partial(request, "cases/meeting_case.html", "decision-form"), context)
