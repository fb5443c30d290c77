"""Cases, therapy lines, meetings, decisions and minutes.

One view per URL serves the page and, for an htmx request, the named partial.
Every view checks its permission on the server (403 otherwise), partials
included. Forms also work as plain POSTs; validation errors re-render the form
(partial for htmx) with status 200.
"""

from __future__ import annotations

import functools
import itertools
import ssl
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from cases import charts, services
from cases import facts as F
from cases.forms import (
    OTHER_OPTION,
    AgendaItemForm,
    AttendeeForm,
    CaseForm,
    DecisionForm,
    DecisionStatusForm,
    MeetingForm,
    OverrideForm,
    TherapyLineForm,
)
from cases.models import (
    AgendaItem,
    Case,
    Decision,
    DecisionStatus,
    DeviationReason,
    FactOverride,
    Meeting,
    Specialty,
    TherapyLine,
)
from mmboard.views import HtmxHttpRequest
from regimens.services import compare_url

CASES_PER_PAGE = 50
CATEGORY_ORDER = ["preferred", "alternative", "consider", "future"]
KEY_FACTS = [
    "len_status", "anti_cd38_status", "bortezomib_status", "carfilzomib_status", "pomalidomide_status",
    "prior_lines", "triple_class_refractory", "bcma_exposed", "early_relapse",
]  # fmt: skip


def _key_facts(facts: dict[str, F.Fact]) -> list[F.Fact]:
    return [facts[key] for key in KEY_FACTS if key in facts]


def _partial_or_page(request: HtmxHttpRequest, page: str, partial: str) -> str:
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


def _done(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """After a successful POST: htmx follows a client redirect, a plain form a 303-style redirect."""
    if request.htmx:
        # Without the fragment: a change of fragment alone would not reload the page.
        return HttpResponseClientRedirect(url.split("#", 1)[0])
    return HttpResponseRedirect(url)


def _case(code: str, queryset=None) -> Case:
    return get_object_or_404((queryset if queryset is not None else Case.objects.all()), code=code)


# --- Cases ---------------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@permission_required("cases.view_case", raise_exception=True)
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:30]
    cases = Case.objects.for_list()
    if q:
        cases = cases.filter(code__icontains=q)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        _partial_or_page(request, "cases/case_list.html", "results"),
        {"page": page, "q": q, "can_add": request.user.has_perm("cases.add_case")},
    )


@require_http_methods(["GET", "POST"])
@permission_required("cases.add_case", raise_exception=True)
def case_create(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case = form.save()
        messages.success(request, f"Case {case.code} created. Add its therapy lines.")
        return _done(request, case.get_absolute_url())
    return render(
        request, _partial_or_page(request, "cases/case_form.html", "case-form"), {"form": form, "case": None}
    )


@dataclass
class HistoryEntry:
    when: Any
    who: str
    what: str
    changes: list[str]


def _diff_history(records, label, fields) -> list[HistoryEntry]:
    """Consecutive historical rows of each object -> entries with the changed fields (no extra queries)."""
    entries: list[HistoryEntry] = []
    records = sorted(records, key=lambda r: (r.id, r.history_date))
    for _, rows in itertools.groupby(records, key=lambda r: r.id):
        previous = None
        for row in rows:
            kind = {"+": "created", "~": "changed", "-": "deleted"}[row.history_type]
            changes = []
            if previous is not None and row.history_type == "~":
                for name in fields:
                    old, new = getattr(previous, name, None), getattr(row, name, None)
                    if old != new:
                        changes.append(f"{name.replace('_', ' ')}: {_short(old)} → {_short(new)}")
            who = row.history_user.get_username() if row.history_user_id else "system"
            entries.append(HistoryEntry(row.history_date, who, f"{label(row)} {kind}", changes))
            previous = row
    return entries


def _short(value) -> str:
    text = "—" if value in (None, "", []) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


CASE_HISTORY_FIELDS = [
    f.name for f in Case._meta.fields if f.name not in {"id", "created_at", "updated_at", "version"}
]
LINE_HISTORY_FIELDS = [f.attname for f in TherapyLine._meta.fields if f.name not in {"id", "case"}]


def case_history(case: Case, limit: int = 25) -> list[HistoryEntry]:
    """Case, line, override and decision changes, newest first: four queries."""
    entries = _diff_history(
        case.history.select_related("history_user"), lambda r: "Case", CASE_HISTORY_FIELDS
    )
    entries += _diff_history(
        TherapyLine.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: f"Line {r.number}",
        LINE_HISTORY_FIELDS,
    )
    entries += _diff_history(
        FactOverride.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: f"Override of {F.FACT_LABELS.get(r.fact, r.fact)} ({_short(r.value)}: {_short(r.reason)})",
        ["value", "reason"],
    )
    entries += _diff_history(
        Decision.history.filter(case_id=case.pk).select_related("history_user"),
        lambda r: f"Decision {r.option_label}",
        ["status", "deviation_reason", "follow_up"],
    )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _case_context(request: HtmxHttpRequest, case: Case) -> dict[str, Any]:
    lines = list(case.lines.all())
    data = services.case_data(case, lines=lines)
    facts = F.derive(data)
    engine = F.engine_facts(facts)
    user = request.user
    return {
        "case": case,
        "lines": lines,
        "facts": list(facts.values()),
        "key_facts": _key_facts(facts),
        "timeline": charts.timeline_figure(list(data.lines), data.as_of) if lines else None,
        "wizard_url": services.wizard_url(engine),
        "decisions": list(case.decisions.all()),
        "history": case_history(case),
        "override_form": OverrideForm(),
        "can_edit": user.has_perm("cases.change_case"),
        "can_add_line": user.has_perm("cases.add_therapyline"),
        "can_edit_line": user.has_perm("cases.change_therapyline"),
        "can_override": user.has_perm("cases.add_factoverride"),
        "can_update_decision": user.has_perm("cases.change_decision"),
        "status_choices": DecisionStatus.choices,
        "deviation_choices": DeviationReason.choices,
    }


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@permission_required("cases.view_case", raise_exception=True)
def case_detail(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = _case(code, Case.objects.for_detail())
    partial = request.GET.get("part")
    if partial not in {"facts", "lines"}:
        partial = "facts"
    return render(
        request, _partial_or_page(request, "cases/case_detail.html", partial), _case_context(request, case)
    )


def _changed_since(case: Case, version: int | None) -> list[str]:
    """Fields another editor changed since `version`, with their current value."""
    base = case.history.filter(version=version).order_by("-history_date").first() if version else None
    changed = []
    for name in CaseForm.Meta.fields:
        current = getattr(case, name)
        if base is None or getattr(base, name, None) != current:
            field = Case._meta.get_field(name)
            shown = getattr(case, f"get_{name}_display")() if field.choices else current
            changed.append(f"{field.verbose_name}: {_short(shown)}")
    return changed


@require_http_methods(["GET", "POST"])
@permission_required("cases.change_case", raise_exception=True)
def case_edit(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = _case(code)
    conflict: list[str] | None = None
    if request.method == "POST":
        form = CaseForm(request.POST, instance=case)
        if form.is_valid():
            with transaction.atomic():
                current = Case.objects.select_for_update().get(pk=case.pk)
                submitted = form.cleaned_data.get("version")
                if submitted == current.version:
                    saved = form.save(commit=False)
                    saved.version = current.version + 1
                    saved.save()
                    messages.success(request, f"Case {saved.code} saved.")
                    return _done(request, saved.get_absolute_url())
            # Someone saved in between: keep this editor's input, show what changed, allow a deliberate re-save.
            conflict = _changed_since(current, submitted)
            data = request.POST.copy()
            data["version"] = str(current.version)
            form = CaseForm(data, instance=current)
            case = current
    else:
        form = CaseForm(instance=case, initial={"version": case.version})
    return render(
        request,
        _partial_or_page(request, "cases/case_form.html", "case-form"),
        {"form": form, "case": case, "conflict": conflict},
    )


@require_http_methods(["GET", "POST"])
def line_form(request: HtmxHttpRequest, code: str, number: int | None = None) -> HttpResponse:
    perm = "cases.add_therapyline" if number is None else "cases.change_therapyline"
    if not request.user.has_perm(perm):
        raise PermissionDenied
    case = _case(code, Case.objects.prefetch_related("lines"))
    line = None
    if number is not None:
        line = next((x for x in case.lines.all() if x.number == number), None)
        if line is None:
            raise Http404("No such line")
    form = TherapyLineForm(request.POST or None, instance=line, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                saved = form.save()
        except IntegrityError:
            form.add_error(
                None, "This line could not be saved: another editor changed the lines. Reload and retry."
            )
        else:
            messages.success(request, f"Line {saved.number} saved.")
            return _done(request, case.get_absolute_url() + "#lines")
    return render(
        request,
        _partial_or_page(request, "cases/line_form.html", "line-form"),
        {"form": form, "case": case, "line": line},
    )


@require_POST
@permission_required("cases.delete_therapyline", raise_exception=True)
def line_delete(request: HtmxHttpRequest, code: str, number: int) -> HttpResponse:
    case = _case(code)
    line = get_object_or_404(TherapyLine, case=case, number=number)
    if case.lines.filter(number__gt=number).exists():
        messages.error(request, f"Delete the later lines first: line {number} is not the last one.")
    else:
        line.delete()
        messages.success(request, f"Line {number} deleted.")
    return _done(request, case.get_absolute_url() + "#lines")


@require_POST
@permission_required("cases.add_factoverride", raise_exception=True)
def override_set(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = _case(code, Case.objects.for_detail())
    form = OverrideForm(request.POST)
    if form.is_valid():
        fact = form.cleaned_data["fact"]
        FactOverride.objects.update_or_create(
            case=case,
            fact=fact,
            defaults={"value": form.cleaned_data["parsed"], "reason": form.cleaned_data["reason"],
                      "created_by": request.user},
        )  # fmt: skip
        messages.success(request, f"{F.FACT_LABELS.get(fact, fact)} overridden; the reason is recorded.")
        return _done(request, case.get_absolute_url() + "#facts")
    context = _case_context(request, case)
    context["override_form"] = form
    return render(request, _partial_or_page(request, "cases/case_detail.html", "facts"), context)


@require_POST
@permission_required("cases.delete_factoverride", raise_exception=True)
def override_clear(request: HtmxHttpRequest, code: str, fact: str) -> HttpResponse:
    case = _case(code)
    deleted, _ = FactOverride.objects.filter(case=case, fact=fact).delete()
    if deleted:
        messages.success(
            request, f"Override of {F.FACT_LABELS.get(fact, fact)} removed; the derived value applies."
        )
    return _done(request, case.get_absolute_url() + "#facts")


# --- Meetings ------------------------------------------------------------------------------------------


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
        messages.success(request, "Meeting created. Add attendees and the agenda.")
        return _done(request, meeting.get_absolute_url())
    return render(
        request, _partial_or_page(request, "cases/meeting_form.html", "meeting-form"), {"form": form}
    )


def _meeting(pk: int, snapshots: bool = False) -> Meeting:
    return get_object_or_404(Meeting.objects.for_detail(snapshots=snapshots), pk=pk)


def _attendees_by_specialty(meeting: Meeting) -> list[tuple[str, list]]:
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
    return {
        "meeting": meeting,
        "agenda": [(item, decided.get(item.case_id)) for item in agenda],
        "attendees": _attendees_by_specialty(meeting),
        "can_edit_agenda": user.has_perm("cases.change_agendaitem"),
        "can_add_agenda": user.has_perm("cases.add_agendaitem"),
        "can_add_attendee": user.has_perm("cases.add_attendee"),
        "attendee_form": extra.pop("attendee_form", None) or AttendeeForm(),
        "agenda_form": extra.pop("agenda_form", None) or AgendaItemForm(meeting=meeting),
        **extra,
    }


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@permission_required("cases.view_meeting", raise_exception=True)
def meeting_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting(pk)
    return render(
        request,
        _partial_or_page(request, "cases/meeting_detail.html", "agenda"),
        _meeting_context(request, meeting),
    )


@require_POST
@permission_required("cases.add_attendee", raise_exception=True)
def attendee_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting(pk)
    form = AttendeeForm(request.POST)
    if form.is_valid():
        form.instance.meeting = meeting
        form.save()
        return _done(request, meeting.get_absolute_url() + "#attendees")
    return render(
        request,
        _partial_or_page(request, "cases/meeting_detail.html", "attendees"),
        _meeting_context(request, meeting, attendee_form=form),
    )


@require_POST
@permission_required("cases.add_agendaitem", raise_exception=True)
def agenda_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting(pk)
    form = AgendaItemForm(request.POST, meeting=meeting)
    if form.is_valid():
        item = form.save(commit=False)
        item.meeting = meeting
        item.position = (meeting.agenda.aggregate(m=Max("position"))["m"] or 0) + 1
        item.save()
        if request.htmx:
            meeting = _meeting(pk)
            return render(request, "cases/meeting_detail.html#agenda", _meeting_context(request, meeting))
        return redirect(meeting.get_absolute_url() + "#agenda")
    return render(
        request,
        _partial_or_page(request, "cases/meeting_detail.html", "agenda"),
        _meeting_context(request, meeting, agenda_form=form),
    )


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
        return render(request, "cases/meeting_detail.html#agenda", _meeting_context(request, _meeting(pk)))
    return redirect(meeting.get_absolute_url() + "#agenda")


def _grouped_options(recommendation: dict[str, Any], labels, evidence) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for option in recommendation.get("options", []):
        key = str(option.get("key"))
        row = {**option, "label": labels.get(key, key), "evidence": evidence.get(key, [])}
        groups.setdefault(str(option.get("category", "other")), []).append(row)
    ordered = [c for c in CATEGORY_ORDER if c in groups] + [c for c in groups if c not in CATEGORY_ORDER]
    return [(c, sorted(groups[c], key=lambda o: o.get("rank") or 0)) for c in ordered]


def _walk_context(request: HtmxHttpRequest, meeting: Meeting, item: AgendaItem, form=None) -> dict[str, Any]:
    case = item.case
    data = services.case_data(case)
    facts = F.derive(data)
    engine = F.engine_facts(facts)
    recommendation = services.recommend(engine)
    labels = services.option_labels(recommendation)
    evidence = services.evidence_for(recommendation)
    keys = services.option_keys(recommendation)
    choices = [(k, f"{labels.get(k, k)} ({o.get('category', '')})")
               for k, o in ((str(o.get('key')), o) for o in recommendation.get("options", []))]  # fmt: skip
    agenda = list(meeting.agenda.all())
    index = next(i for i, x in enumerate(agenda) if x.pk == item.pk)
    return {
        "meeting": meeting,
        "item": item,
        "case": case,
        "lines": list(case.lines.all()),
        "facts": list(facts.values()),
        "key_facts": _key_facts(facts),
        "recommendation": recommendation,
        "options": _grouped_options(recommendation, labels, evidence),
        "not_recommended": [
            {**n, "label": labels.get(str(n.get("key")), n.get("key"))}
            for n in recommendation.get("not_recommended", [])
        ],  # fmt: skip
        "compare_url": compare_url([k for k in keys if k in labels and labels[k] != k][:6]),
        "wizard_url": services.wizard_url(engine),
        "decisions": [d for d in meeting.decisions.all() if d.case_id == case.pk],
        "form": form or DecisionForm(options=choices),
        "can_decide": request.user.has_perm("cases.add_decision"),
        "previous": agenda[index - 1] if index > 0 else None,
        "next": agenda[index + 1] if index + 1 < len(agenda) else None,
        "position": index + 1,
        "total": len(agenda),
        "_facts": facts,
        "_evidence": evidence,
        "_choices": choices,
        "_labels": labels,
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
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@permission_required("cases.view_meeting", raise_exception=True)
def meeting_case(request: HtmxHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    if not request.user.has_perm("cases.view_case"):
        raise PermissionDenied
    meeting = _meeting(pk)
    item = _agenda_item(meeting, item_pk)
    return render(
        request,
        _partial_or_page(request, "cases/meeting_case.html", "walk"),
        _walk_context(request, meeting, item),
    )


@require_POST
@permission_required("cases.add_decision", raise_exception=True)
def decision_create(request: HtmxHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    meeting = _meeting(pk)
    item = _agenda_item(meeting, item_pk)
    context = _walk_context(request, meeting, item)
    form = DecisionForm(request.POST, options=context["_choices"])
    if form.is_valid():
        recommendation = context["recommendation"]
        key = form.cleaned_data["option"]
        option = services.find_option(recommendation, key)
        decision = form.save(commit=False)
        decision.case = item.case
        decision.meeting = meeting
        decision.option_key = key
        decision.option_label = (
            form.cleaned_data["other_label"].strip()
            if key == OTHER_OPTION
            else context["_labels"].get(key, key)
        )
        decision.category = (option or {}).get("category", "")
        decision.algorithm_version = str(recommendation.get("algorithm_version", ""))[:80]
        decision.snapshot = services.snapshot(
            item.case, context["_facts"], recommendation, context["_evidence"]
        )
        decision.recorded_by = request.user
        decision.save()
        messages.success(request, f"Decision recorded for {item.case.code}: {decision.option_label}.")
        target = context["next"]
        url = (
            reverse("cases:meeting_case", args=[meeting.pk, target.pk])
            if target
            else meeting.get_absolute_url()
        )
        return _done(request, url)
    context["form"] = form
    return render(request, _partial_or_page(request, "cases/meeting_case.html", "decision-form"), context)


@require_POST
@permission_required("cases.change_decision", raise_exception=True)
def decision_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("case"), pk=pk)
    form = DecisionStatusForm(request.POST, instance=decision)
    if form.is_valid():
        form.save()
        messages.success(request, f"Status of the decision for {decision.case.code} updated.")
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Status not updated: {errors}")
    return _done(request, decision.case.get_absolute_url() + "#decisions")


# --- Minutes -------------------------------------------------------------------------------------------


def _minutes_context(meeting: Meeting) -> dict[str, Any]:
    decisions: dict[int, list[Decision]] = {}
    for decision in sorted(meeting.decisions.all(), key=lambda d: d.recorded_at):
        decisions.setdefault(decision.case_id, []).append(decision)
    return {
        "meeting": meeting,
        "attendees": _attendees_by_specialty(meeting),
        "items": [(item, decisions.get(item.case_id, [])) for item in meeting.agenda.all()],
        "generated": timezone.now(),
    }


@require_GET
@permission_required("cases.view_meeting", raise_exception=True)
def minutes(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting(pk, snapshots=True)
    return render(request, "cases/minutes.html", _minutes_context(meeting))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@require_GET
@permission_required("cases.view_meeting", raise_exception=True)
def minutes_pdf(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    meeting = _meeting(pk, snapshots=True)
    html = render_to_string("cases/minutes_pdf.html", _minutes_context(meeting), request=request)
    # Nothing is fetched: the stylesheet is passed in, and no other resource may load. The TLS
    # context is made once: a fetcher would load the CA certificates on each PDF (~15 ms).
    fetcher = URLFetcher(allowed_protocols=["data"], ssl_context=_tls_context())
    stylesheet = CSS(string=render_to_string("cases/minutes_pdf.css"), url_fetcher=fetcher)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/"), url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="minutes-{meeting.date:%Y-%m-%d}.pdf"'
    return response
