"""Knowledge-base pages: regimens and trials, each figure with its source.

One view per URL serves the page and, for an htmx request, the named partial
(`page.html#results`). Every page runs a constant number of queries: the
querysets are the models' named methods, list pages show PER_PAGE rows a page
(prefetching for those only), and grouping happens in Python on prefetched rows.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from compare.links import compare_url
from mmboard.http import HtmxHttpRequest, vary_on_htmx, wants_partial
from regimens.fragments import kept, kept_partial
from regimens.models import (
    Agency,
    Approval,
    ApprovalStatus,
    DrugClass,
    Endpoint,
    KnowledgeBaseRevision,
    Phase,
    Regimen,
    RegimenComponent,
    Result,
    Source,
    Trial,
    TrialArm,
)

# The figures a regimen page shows for the trial arms that use it.
REGIMEN_KEY_ENDPOINTS = (Endpoint.PFS_MEDIAN, Endpoint.PFS_HR, Endpoint.ORR)

# Subgroup keys of the evidence files, in the board's words; others are shown as written.
POPULATION_LABELS = {
    "ITT": _("Intention to treat (ITT)"),
    "len_refractory": _("Lenalidomide-refractory"),
    "len_exposed": _("Lenalidomide-exposed"),
    "one_prior_line": _("One prior line"),
    "two_or_more_prior_lines": _("Two or more prior lines"),
    "high_risk_cytogenetics": _("High-risk cytogenetics"),
    "early_relapse": _("Early relapse"),
    "late_relapse": _("Late relapse"),
    "penta_refractory": _("Penta-refractory"),
    "cr_or_better": _("Patients in CR or better"),
}

# The statuses under which a regimen counts as available through an agency.
APPROVAL_IN_FORCE = (ApprovalStatus.APPROVED, ApprovalStatus.CONDITIONAL, ApprovalStatus.REIMBURSED)

# Rows of a list page: the lists prefetch only the rows shown.
PER_PAGE = 50

AGENCY_ORDER = {agency: index for index, agency in enumerate(Agency.values)}
ENDPOINT_ORDER = {endpoint: index for index, endpoint in enumerate(Endpoint.values)}


def _list_page(
    request: HtmxHttpRequest, template: str, form: forms.Form, results: Callable[[], dict[str, Any]]
) -> HttpResponse:
    """A list page whose results partial is kept per knowledge-base revision and query string.

    The results show the same to every user; the page around them (filter form,
    menu) is rendered per request.
    """
    html = kept_partial(kept, KnowledgeBaseRevision.current(), request, f"{template}#results", results)
    if wants_partial(request):
        return HttpResponse(html)
    return render(request, template, {"form": form, "results_html": html})


def population_label(population: str) -> str:
    return str(POPULATION_LABELS.get(population, population.replace("_", " ")))


def _by_agency(approvals: Iterable[Approval]) -> list[Approval]:
    """EMA, FDA, AIFA; within an agency by year, a year no source gives last."""
    return sorted(
        approvals,
        key=lambda a: (AGENCY_ORDER.get(a.agency, len(AGENCY_ORDER)), a.year is None, a.year or 0, a.pk),
    )


# --- Regimens ----------------------------------------------------------------------------------------


class RegimenFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("abbreviation, name or alias")}),
    )
    drug_class = forms.ChoiceField(
        label=_("Drug class"), required=False, choices=[("", _("any class")), *DrugClass.choices]
    )
    agency = forms.ChoiceField(
        label=_("Approval in force"),
        required=False,
        choices=[("", _("any, or none")), *Agency.choices],
        help_text=_("approved, conditional or reimbursed; not pending, classified only or withdrawn"),
    )

    def filter(self, regimens: QuerySet[Regimen]) -> QuerySet[Regimen]:
        """Apply the valid filters; an invalid one is reported by the form and ignored."""
        self.is_valid()
        data = self.cleaned_data
        if q := data.get("q", "").strip():
            regimens = regimens.filter(
                Q(abbreviation__icontains=q)
                | Q(name__icontains=q)
                | Q(key__icontains=q)
                | Q(aliases__icontains=q)
            )
        if drug_class := data.get("drug_class"):
            regimens = regimens.filter(
                pk__in=RegimenComponent.objects.filter(drug__drug_class=drug_class).values("regimen")
            )
        if agency := data.get("agency"):
            regimens = regimens.filter(
                pk__in=Approval.objects.filter(agency=agency, status__in=APPROVAL_IN_FORCE).values("regimen")
            )
        return regimens

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


@dataclass
class RegimenRow:
    regimen: Regimen
    drug_classes: list[str]
    approvals: list[Approval]
    key_trials: list[Trial]


def _regimen_row(regimen: Regimen) -> RegimenRow:
    classes: list[str] = []
    for component in regimen.components.all():
        label = component.drug.get_drug_class_display()
        if label not in classes:
            classes.append(label)
    return RegimenRow(
        regimen=regimen,
        drug_classes=classes,
        approvals=_by_agency(regimen.approvals.all()),
        key_trials=sorted(regimen.key_trials.all(), key=lambda t: t.name.lower()),
    )


@require_GET
@vary_on_htmx
@permission_required("regimens.view_regimen", raise_exception=True)
def regimen_list(request: HtmxHttpRequest) -> HttpResponse:
    form = RegimenFilterForm(request.GET)

    def results() -> dict:
        page = Paginator(form.filter(Regimen.objects.for_list()), PER_PAGE).get_page(request.GET.get("page"))
        return {"form": form, "page": page, "rows": [_regimen_row(regimen) for regimen in page.object_list]}

    return _list_page(request, "regimens/regimen_list.html", form, results)


@dataclass
class KeyResultGroup:
    """The key results of one trial arm that gave the regimen."""

    trial: Trial
    arm: TrialArm
    rows: list[tuple[str, Result]]  # (population label, result), ITT first, in endpoint order
    compare_url: str = ""  # the arms of this trial, side by side


@require_GET
@permission_required("regimens.view_regimen", raise_exception=True)
def regimen_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    regimen = get_object_or_404(Regimen.objects.for_detail(), key=key)
    components = list(regimen.components.all())
    drugs = [component.drug for component in components]
    by_arm: dict[int, list[Result]] = {}
    for result in (
        Result.objects.with_context()
        .filter(arm__regimen=regimen, endpoint__in=REGIMEN_KEY_ENDPOINTS)
        .order_by(Lower("trial__name"), "arm__order", "order", "pk")
    ):
        by_arm.setdefault(result.arm_id, []).append(result)
    key_results = [
        KeyResultGroup(
            trial=results[0].trial,
            arm=results[0].arm,
            rows=[
                (population.label, result)
                for population in group_results(results)
                for endpoint in population.endpoint_groups
                for result in endpoint.results
            ],
        )
        for results in by_arm.values()
    ]
    arm_regimens: dict[int, list[str]] = {}
    for trial_id, key in TrialArm.objects.filter(
        trial__in={group.trial.pk for group in key_results}, regimen__isnull=False
    ).values_list("trial_id", "regimen__key"):
        arm_regimens.setdefault(trial_id, []).append(key)
    for group in key_results:
        group.compare_url = compare_url(arm_regimens.get(group.trial.pk, []), group.trial.key)
    context = {
        "regimen": regimen,
        "components": components,
        "cautions": [(drug, list(drug.cautions.all())) for drug in drugs if drug.cautions.all()],
        "regulatory_events": [event for drug in drugs for event in drug.regulatory_events.all()],
        "approvals": _by_agency(regimen.approvals.all()),
        "key_trials": sorted(regimen.key_trials.all(), key=lambda t: t.name.lower()),
        "key_results": key_results,
        "key_endpoints": ", ".join(str(endpoint.label) for endpoint in REGIMEN_KEY_ENDPOINTS),
        "compare_url": compare_url([regimen.key]),  # its arms across trials
    }
    return render(request, "regimens/regimen_detail.html", context)


# --- Trials ------------------------------------------------------------------------------------------


class TrialFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("name, key or NCT number")}),
    )
    phase = forms.ChoiceField(
        label=_("Phase"), required=False, choices=[("", _("any phase")), *Phase.choices]
    )
    regimen = forms.ModelChoiceField(
        label=_("Regimen in an arm"),
        required=False,
        queryset=Regimen.objects.order_by(Lower("abbreviation")),
        to_field_name="key",
        empty_label=_("any regimen"),
    )

    def filter(self, trials: QuerySet[Trial]) -> QuerySet[Trial]:
        """Apply the valid filters; an invalid one is reported by the form and ignored."""
        self.is_valid()
        data = self.cleaned_data
        if q := data.get("q", "").strip():
            trials = trials.filter(Q(name__icontains=q) | Q(key__icontains=q) | Q(nct__icontains=q))
        if phase := data.get("phase"):
            trials = trials.filter(phase=phase)
        if regimen := data.get("regimen"):
            trials = trials.filter(pk__in=TrialArm.objects.filter(regimen=regimen).values("trial"))
        return trials

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


@require_GET
@vary_on_htmx
@permission_required("regimens.view_trial", raise_exception=True)
def trial_list(request: HtmxHttpRequest) -> HttpResponse:
    form = TrialFilterForm(request.GET)

    def results() -> dict:
        page = Paginator(form.filter(Trial.objects.for_list()), PER_PAGE).get_page(request.GET.get("page"))
        return {"form": form, "page": page, "trials": list(page.object_list)}

    return _list_page(request, "regimens/trial_list.html", form, results)


@dataclass
class EndpointGroup:
    endpoint: str
    label: str
    results: list[Result] = field(default_factory=list)


@dataclass
class PopulationGroup:
    population: str
    label: str
    endpoints: dict[str, EndpointGroup] = field(default_factory=dict)

    @property
    def endpoint_groups(self) -> list[EndpointGroup]:
        return sorted(
            self.endpoints.values(), key=lambda g: ENDPOINT_ORDER.get(g.endpoint, len(ENDPOINT_ORDER))
        )


def group_results(results: Iterable[Result]) -> list[PopulationGroup]:
    """Results by population (ITT first, then as curated), then by endpoint (in the Endpoint order)."""
    populations: dict[str, PopulationGroup] = {}
    for result in results:
        group = populations.setdefault(
            result.population, PopulationGroup(result.population, population_label(result.population))
        )
        group.endpoints.setdefault(
            result.endpoint, EndpointGroup(result.endpoint, result.get_endpoint_display())
        ).results.append(result)
    return sorted(populations.values(), key=lambda g: g.population != "ITT")


SOURCE_REFERENCE = re.compile(r"\[([A-Za-z0-9][\w.-]*)\]")


def link_source_references(text: str, keys: set[str]) -> SafeString:
    """Escape curated notes and turn each "[source-key]" of a listed source into a link to it."""

    def link(match: re.Match[str]) -> str:
        key = match.group(1)
        return f'<a href="#source-{key}">[{key}]</a>' if key in keys else match.group(0)

    return mark_safe(SOURCE_REFERENCE.sub(link, escape(text)))  # escaped first; keys are [\w.-]


def _trial_sources(trial: Trial, results: Iterable[Result]) -> list[Source]:
    """The trial's sources, then any source a result cites that the trial does not list."""
    sources = {source.pk: source for source in trial.sources.all()}
    for result in results:
        sources.setdefault(result.source_id, result.source)
    return list(sources.values())


@require_GET
@permission_required("regimens.view_trial", raise_exception=True)
def trial_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    trial = get_object_or_404(Trial.objects.for_detail(), key=key)
    results = list(trial.results.all())
    sources = _trial_sources(trial, results)
    context = {
        "trial": trial,
        "notes": link_source_references(trial.notes, {source.key for source in sources}),
        "arms": list(trial.arms.all()),
        "compare_url": compare_url([arm.regimen.key for arm in trial.arms.all() if arm.regimen], trial.key),
        "populations": group_results(results),
        "sources": sources,
    }
    return render(request, "regimens/trial_detail.html", context)
