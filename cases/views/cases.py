"""Cases: the list, a case's page (facts, lines, timeline, decisions, history), editing and overrides."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from algorithm.impact import describe_change
from algorithm.links import wizard_url
from algorithm.words import title
from cases import charts, derivation, services
from cases.forms import CaseForm, DecisionStatusForm, OverrideForm, ReviewDismissForm, TherapyLineForm
from cases.history import case_history, short
from cases.models import (
    Case,
    Decision,
    DecisionStatus,
    DeviationReason,
    FactOverride,
    Meeting,
    ReviewFlag,
    ReviewFlagStatus,
    TherapyLine,
)
from mmboard.http import HtmxHttpRequest, done, page_or_partial, vary_on_htmx

CASES_PER_PAGE = 50
KEY_FACTS = [
    "len_status", "anti_cd38_status", "bortezomib_status", "carfilzomib_status", "pomalidomide_status",
    "prior_lines", "triple_class_refractory", "bcma_exposed", "early_relapse",
]  # fmt: skip


def key_facts(facts: dict[str, derivation.Fact]) -> list[derivation.Fact]:
    return [facts[key] for key in KEY_FACTS if key in facts]


def get_case(code: str, queryset=None) -> Case:
    return get_object_or_404((queryset if queryset is not None else Case.objects.all()), code=code)


@require_GET
@vary_on_htmx
@permission_required("cases.view_case", raise_exception=True)
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:30]
    cases = Case.objects.for_list()
    if q:
        cases = cases.filter(code__icontains=q)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        page_or_partial(request, "cases/case_list.html", "results"),
        {"page": page, "q": q, "can_add": request.user.has_perm("cases.add_case")},
    )


@require_http_methods(["GET", "POST"])
@permission_required("cases.add_case", raise_exception=True)
def case_create(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case = form.save()
        messages.success(
            request, gettext("Case %(code)s created. Add its therapy lines.") % {"code": case.code}
        )
        return done(request, case.get_absolute_url())
    return render(
        request, page_or_partial(request, "cases/case_form.html", "case-form"), {"form": form, "case": None}
    )


def _case_context(request: HtmxHttpRequest, case: Case) -> dict[str, Any]:
    lines = list(case.lines.all())
    data = services.case_data(case, lines=lines)
    facts = derivation.derive(data)
    engine = derivation.engine_facts(facts)
    user = request.user
    flags = [(flag, [describe_change(c) for c in flag.changes]) for flag in case.review_flags.all()]
    open_flags = [(flag, words) for flag, words in flags if flag.is_open]
    next_meeting = None
    if open_flags and user.has_perm("cases.add_agendaitem"):
        next_meeting = (
            Meeting.objects.filter(date__gte=timezone.now())
            .exclude(agenda__case=case)
            .order_by("date")
            .first()
        )
    return {
        "case": case,
        "open_flags": open_flags,
        "closed_flags": [(flag, words) for flag, words in flags if not flag.is_open],
        "can_dismiss_flag": user.has_perm("cases.change_reviewflag"),
        "dismiss_form": ReviewDismissForm(),
        "next_meeting": next_meeting,
        "lines": lines,
        "facts": list(facts.values()),
        "key_facts": key_facts(facts),
        "timeline": charts.timeline_figure(list(data.lines), data.as_of) if lines else None,
        "wizard_url": wizard_url(engine),
        "decisions": list(case.decisions.all()),
        "history": case_history(case),
        "override_form": OverrideForm(),
        "can_edit": user.has_perm("cases.change_case"),
        "can_add_line": user.has_perm("cases.add_therapyline"),
        "can_edit_line": user.has_perm("cases.change_therapyline"),
        "can_override": user.has_perm("cases.add_factoverride"),
        "can_update_decision": user.has_perm("cases.change_decision"),
        "can_follow_up": user.has_perm("cases.add_outcome") and user.has_perm("cases.change_outcome"),
        "status_choices": DecisionStatus.choices,
        "deviation_choices": DeviationReason.choices,
    }


@require_GET
@vary_on_htmx
@permission_required("cases.view_case", raise_exception=True)
def case_detail(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = get_case(code, Case.objects.for_detail())
    partial = request.GET.get("part")
    if partial not in {"facts", "lines"}:
        partial = "facts"
    return render(
        request, page_or_partial(request, "cases/case_detail.html", partial), _case_context(request, case)
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
            changed.append(f"{field.verbose_name}: {short(shown)}")
    return changed


@require_http_methods(["GET", "POST"])
@permission_required("cases.change_case", raise_exception=True)
def case_edit(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = get_case(code)
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
                    messages.success(request, gettext("Case %(code)s saved.") % {"code": saved.code})
                    return done(request, saved.get_absolute_url())
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
        page_or_partial(request, "cases/case_form.html", "case-form"),
        {"form": form, "case": case, "conflict": conflict},
    )


@require_http_methods(["GET", "POST"])
def line_form(request: HtmxHttpRequest, code: str, number: int | None = None) -> HttpResponse:
    perm = "cases.add_therapyline" if number is None else "cases.change_therapyline"
    if not request.user.has_perm(perm):
        raise PermissionDenied
    case = get_case(code, Case.objects.prefetch_related("lines"))
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
                None,
                gettext("This line could not be saved: another editor changed the lines. Reload and retry."),
            )
        else:
            messages.success(request, gettext("Line %(number)s saved.") % {"number": saved.number})
            return done(request, case.get_absolute_url() + "#lines")
    return render(
        request,
        page_or_partial(request, "cases/line_form.html", "line-form"),
        {"form": form, "case": case, "line": line},
    )


@require_POST
@permission_required("cases.delete_therapyline", raise_exception=True)
def line_delete(request: HtmxHttpRequest, code: str, number: int) -> HttpResponse:
    case = get_case(code)
    line = get_object_or_404(TherapyLine, case=case, number=number)
    if case.lines.filter(number__gt=number).exists():
        messages.error(
            request,
            gettext("Delete the later lines first: line %(number)s is not the last one.")
            % {"number": number},
        )
    else:
        line.delete()
        messages.success(request, gettext("Line %(number)s deleted.") % {"number": number})
    return done(request, case.get_absolute_url() + "#lines")


@require_POST
@permission_required("cases.add_factoverride", raise_exception=True)
def override_set(request: HtmxHttpRequest, code: str) -> HttpResponse:
    case = get_case(code, Case.objects.for_detail())
    form = OverrideForm(request.POST)
    if form.is_valid():
        fact = form.cleaned_data["fact"]
        FactOverride.objects.update_or_create(
            case=case,
            fact=fact,
            defaults={"value": form.cleaned_data["parsed"], "reason": form.cleaned_data["reason"],
                      "created_by": request.user},
        )  # fmt: skip
        messages.success(
            request, gettext("%(fact)s overridden; the reason is recorded.") % {"fact": title(fact)}
        )
        return done(request, case.get_absolute_url() + "#facts")
    context = _case_context(request, case)
    context["override_form"] = form
    return render(request, page_or_partial(request, "cases/case_detail.html", "facts"), context)


@require_POST
@permission_required("cases.delete_factoverride", raise_exception=True)
def override_clear(request: HtmxHttpRequest, code: str, fact: str) -> HttpResponse:
    case = get_case(code)
    deleted, _ = FactOverride.objects.filter(case=case, fact=fact).delete()
    if deleted:
        messages.success(
            request,
            gettext("Override of %(fact)s removed; the derived value applies.") % {"fact": title(fact)},
        )
    return done(request, case.get_absolute_url() + "#facts")


@require_POST
@permission_required("cases.change_decision", raise_exception=True)
def decision_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision.objects.select_related("case"), pk=pk)
    form = DecisionStatusForm(request.POST, instance=decision)
    if form.is_valid():
        form.save()
        messages.success(
            request, gettext("Status of the decision for %(code)s updated.") % {"code": decision.case.code}
        )
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, gettext("Status not updated: %(errors)s") % {"errors": errors})
    return done(request, decision.case.get_absolute_url() + "#decisions")


@require_POST
@permission_required("cases.change_reviewflag", raise_exception=True)
def review_dismiss(request: HtmxHttpRequest, code: str, pk: int) -> HttpResponse:
    """The board saw what an algorithm change did to the case and keeps it as it is: say why."""
    flag = get_object_or_404(
        ReviewFlag.objects.select_related("case", "algorithm_version"), pk=pk, case__code=code
    )
    form = ReviewDismissForm(request.POST)
    if not flag.is_open:
        messages.info(request, _("This review was already closed."))
    elif form.is_valid():
        flag.close(ReviewFlagStatus.DISMISSED, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(
            request,
            _("Review after algorithm %(version)s dismissed; the reason is recorded.")
            % {"version": flag.algorithm_version.label},
        )
    else:
        messages.error(request, _("Give a reason to dismiss the review."))
    return done(request, flag.case.get_absolute_url() + "#review")
