"""Django admin for the knowledge base: how curators keep it current.

Every model keeps its history (django-simple-history), so each change page
has a History button listing who changed what. Forms in `regimens/forms.py`
check the clinical rules with messages a curator understands.

Changelists load what their columns show in a fixed number of queries
(`list_select_related`, annotations, prefetches); tabular inlines read their
choices once for all rows. Tests pin the query counts.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.db import models
from django.db.models import Count, Prefetch
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from regimens.forms import (
    ActionAdminForm,
    ApprovalAdminForm,
    CautionAdminForm,
    DrugAdminForm,
    KnowledgeBaseForm,
    KnownLabelAutocompleteSelect,
    ParentInlineFormSet,
    RegimenAdminForm,
    ResultAdminForm,
    ResultInlineForm,
    ResultInlineFormSet,
    TrialAdminForm,
    arm_choice_label,
)
from regimens.models import (
    Action,
    Agency,
    Approval,
    ApprovalStatus,
    Caution,
    Drug,
    Regimen,
    RegimenComponent,
    RegulatoryEvent,
    Result,
    Source,
    Trial,
    TrialArm,
)

admin.site.site_header = "mmboard curation"
admin.site.site_title = "mmboard curation"
admin.site.index_title = "Knowledge base"
# The results table under a trial is wide; the page is better spent on it than on a menu.
admin.site.enable_nav_sidebar = False

EMPTY = "—"
NOT_IN_FORCE = {ApprovalStatus.WITHDRAWN, ApprovalStatus.PENDING}


def _short(text: str, words: int = 12) -> str:
    return Truncator(text).words(words, truncate=" …")


class QuotedAdminMixin:
    """A changelist column that says whether a fact keeps the verbatim phrase it was read from."""

    @admin.display(description=_("quote"), boolean=True, ordering="quote")
    def has_quote(self, fact) -> bool:
        return bool(fact.quote)


class AutocompleteLabelsMixin:
    """Autocompletes that render the current choice from the loaded object (no query per row)."""

    # select2's width; None keeps Django's (narrow, right for table rows).
    autocomplete_width: str | None = None

    def _autocomplete_attrs(self) -> dict[str, str] | None:
        return {"data-width": self.autocomplete_width} if self.autocomplete_width else None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KnownLabelAutocompleteSelect(
                db_field, self.admin_site, attrs=self._autocomplete_attrs(), using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = AutocompleteSelectMultiple(
                db_field, self.admin_site, attrs=self._autocomplete_attrs(), using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class KnowledgeBaseAdmin(AutocompleteLabelsMixin, SimpleHistoryAdmin):
    form = KnowledgeBaseForm
    list_per_page = 100
    autocomplete_width = "40em"  # long labels: citations, "Trial — arm"
    # simple-history's own list carries an inline style that the CSP blocks.
    object_history_list_template = "admin/regimens/object_history_list.html"

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # As simple-history 3.13 does, minus its `select_related()` without
        # arguments for a model with no foreign key (deprecated in Django 6.1).
        related = [
            field.name
            for field in history_manager.model.tracked_fields
            if isinstance(field, models.ForeignKey)
        ]
        return history_manager.filter(**{pk_name: object_id}).select_related("history_user", *related)


class KnowledgeBaseInline(AutocompleteLabelsMixin, admin.TabularInline):
    form = KnowledgeBaseForm
    formset = ParentInlineFormSet
    extra = 0
    show_change_link = True
    # Long texts get two lines in a table row; the row's own page has the full box.
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}


# ---------------------------------------------------------------------------
# Sources


@admin.register(Source)
class SourceAdmin(KnowledgeBaseAdmin):
    list_display = ["key", "short_citation", "doi", "pmid", "open_link", "result_count"]
    search_fields = ["key", "citation", "doi", "pmid", "url"]
    ordering = ["key"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(result_count=Count("results"))

    @admin.display(description="citation", ordering="citation")
    def short_citation(self, source: Source) -> str:
        return _short(source.citation) or EMPTY

    @admin.display(description="link")
    def open_link(self, source: Source) -> str:
        link = source.link
        if not link:
            return EMPTY
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">open ↗</a>', link)

    @admin.display(description="results", ordering="result_count")
    def result_count(self, source) -> int:
        return source.result_count


# ---------------------------------------------------------------------------
# Drugs, with their cautions and regulatory history


class CautionInline(KnowledgeBaseInline):
    model = Caution
    form = CautionAdminForm
    fields = ["key", "description", "source", "quote", "order"]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


class RegulatoryEventInline(KnowledgeBaseInline):
    model = RegulatoryEvent
    fields = ["agency", "year", "event", "source", "order"]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


@admin.register(Drug)
class DrugAdmin(KnowledgeBaseAdmin):
    form = DrugAdminForm
    list_display = ["name", "key", "drug_class", "route", "regimen_count", "caution_count"]
    list_filter = ["drug_class", "route"]
    search_fields = ["name", "key"]
    ordering = ["name"]
    autocomplete_fields = ["sources"]
    inlines = [CautionInline, RegulatoryEventInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                regimen_count=Count("components", distinct=True),
                caution_count=Count("cautions", distinct=True),
            )
        )

    @admin.display(description="regimens", ordering="regimen_count")
    def regimen_count(self, drug) -> int:
        return drug.regimen_count

    @admin.display(description="cautions", ordering="caution_count")
    def caution_count(self, drug) -> int:
        return drug.caution_count


@admin.register(Caution)
class CautionAdmin(QuotedAdminMixin, KnowledgeBaseAdmin):
    form = CautionAdminForm
    list_display = ["drug", "key", "label", "source", "has_quote"]
    list_filter = ["drug__drug_class"]
    list_select_related = ["drug", "source"]
    search_fields = ["key", "description", "quote", "drug__name", "drug__key"]
    ordering = ["drug__name", "order"]
    autocomplete_fields = ["drug", "source"]


@admin.register(RegulatoryEvent)
class RegulatoryEventAdmin(KnowledgeBaseAdmin):
    list_display = ["drug", "agency", "year", "short_event", "source"]
    list_filter = ["agency", "drug__drug_class"]
    list_select_related = ["drug", "source"]
    search_fields = ["event", "drug__name", "drug__key", "source__citation"]
    ordering = ["drug__name", "year", "order"]
    autocomplete_fields = ["drug", "source"]

    @admin.display(description="event", ordering="event")
    def short_event(self, event: RegulatoryEvent) -> str:
        return _short(event.event)


# ---------------------------------------------------------------------------
# Regimens, with their components and approvals


class RegimenComponentInline(KnowledgeBaseInline):
    model = RegimenComponent
    fields = ["drug", "order"]
    autocomplete_fields = ["drug"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("drug")


class ApprovalInline(KnowledgeBaseInline):
    model = Approval
    form = ApprovalAdminForm
    fields = ["agency", "year", "date", "status", "indication", "source", "quote"]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


@admin.register(Regimen)
class RegimenAdmin(KnowledgeBaseAdmin):
    form = RegimenAdminForm
    list_display = ["abbreviation", "key", "name", "drug_classes", "approved_by"]
    list_filter = [
        ("components__drug__drug_class", admin.ChoicesFieldListFilter),
        ("approvals__agency", admin.ChoicesFieldListFilter),
        ("approvals__status", admin.ChoicesFieldListFilter),
    ]
    search_fields = ["abbreviation", "key", "name", "aliases"]
    ordering = ["abbreviation"]
    autocomplete_fields = ["schedule_source", "key_trials"]
    inlines = [RegimenComponentInline, ApprovalInline]
    fieldsets = [
        (None, {"fields": ["key", "abbreviation", "name", "aliases"]}),
        ("Schedule", {"fields": ["schedule", "schedule_source"]}),
        ("Evidence", {"fields": ["key_trials", "notes"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("components", queryset=RegimenComponent.objects.select_related("drug")),
                Prefetch("approvals", queryset=Approval.objects.order_by("agency", "year")),
            )
        )

    @admin.display(description="drug classes")
    def drug_classes(self, regimen: Regimen) -> str:
        labels = [component.drug.get_drug_class_display() for component in regimen.components.all()]
        return ", ".join(dict.fromkeys(labels)) or EMPTY

    @admin.display(description="approved by")
    def approved_by(self, regimen: Regimen) -> str:
        """Agencies with a decision in force and its first year, e.g. 'EMA 2021, FDA 2021, AIFA'."""
        years: dict[str, int | None] = {}
        for approval in regimen.approvals.all():
            if approval.status in NOT_IN_FORCE:
                continue
            known = [year for year in (years.get(approval.agency), approval.year) if year is not None]
            years[approval.agency] = min(known, default=None)
        shown = [f"{agency} {years[agency] or ''}".strip() for agency in Agency.values if agency in years]
        return ", ".join(shown) or EMPTY


@admin.register(RegimenComponent)
class RegimenComponentAdmin(KnowledgeBaseAdmin):
    list_display = ["regimen", "drug", "drug_class", "order"]
    list_filter = ["drug__drug_class"]
    list_select_related = ["regimen", "drug"]
    search_fields = ["regimen__abbreviation", "regimen__key", "drug__name", "drug__key"]
    ordering = ["regimen__abbreviation", "order"]
    autocomplete_fields = ["regimen", "drug"]

    @admin.display(description="drug class", ordering="drug__drug_class")
    def drug_class(self, component: RegimenComponent) -> str:
        return component.drug.get_drug_class_display()


@admin.register(Approval)
class ApprovalAdmin(QuotedAdminMixin, KnowledgeBaseAdmin):
    form = ApprovalAdminForm
    list_display = ["regimen", "agency", "year", "status", "short_indication", "source", "has_quote"]
    list_filter = ["agency", "status", "year"]
    list_select_related = ["regimen", "source"]
    search_fields = [
        "regimen__abbreviation",
        "regimen__key",
        "indication",
        "quote",
        "source__citation",
        "source__url",
    ]
    ordering = ["regimen__abbreviation", "agency", "year"]
    autocomplete_fields = ["regimen", "source"]

    @admin.display(description="indication", ordering="indication")
    def short_indication(self, approval: Approval) -> str:
        return _short(approval.indication)


@admin.register(Action)
class ActionAdmin(KnowledgeBaseAdmin):
    form = ActionAdminForm
    list_display = ["label", "key", "source"]
    list_select_related = ["source"]
    search_fields = ["key", "label", "description"]
    ordering = ["key"]
    autocomplete_fields = ["source", "other_sources"]


# ---------------------------------------------------------------------------
# Trials, with their arms and results


class TrialArmInline(KnowledgeBaseInline):
    model = TrialArm
    fields = ["key", "label", "regimen", "allowed_regimens", "n", "order"]
    autocomplete_fields = ["regimen", "allowed_regimens"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("regimen").prefetch_related("allowed_regimens")


class ResultInline(KnowledgeBaseInline):
    model = Result
    form = ResultInlineForm
    formset = ResultInlineFormSet
    fields = [
        "endpoint",
        "population",
        "arm",
        "vs",
        "value",
        "not_reached",
        "ci_low",
        "ci_high",
        "unit",
        "p",
        "analysis",
        "source",
        "quote",
    ]
    autocomplete_fields = ["source"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("arm", "source").order_by("order", "pk")


@admin.register(Trial)
class TrialAdmin(KnowledgeBaseAdmin):
    form = TrialAdminForm
    list_display = [
        "name",
        "key",
        "phase",
        "nct_link",
        "arm_count",
        "result_count",
        "prior_lines",
        "len_refractory",
    ]
    list_filter = ["phase"]
    search_fields = ["name", "key", "nct", "population"]
    ordering = ["name"]
    autocomplete_fields = ["sources"]
    fieldsets = [
        (None, {"fields": ["key", "name", "nct", "phase", "design"]}),
        (
            "Population",
            {
                "fields": [
                    "population",
                    ("prior_lines_min", "prior_lines_max"),
                    "len_refractory_pct",
                    "anti_cd38_refractory_pct",
                    "triple_class_refractory_pct",
                ]
            },
        ),
        ("Sources and caveats", {"fields": ["sources", "notes"]}),
    ]

    def get_inlines(self, request, obj):
        # Results name arms of the trial: they can be added once it is saved with its arms.
        return [TrialArmInline] if obj is None else [TrialArmInline, ResultInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(arm_count=Count("arms", distinct=True), result_count=Count("results", distinct=True))
        )

    @admin.display(description="NCT", ordering="nct")
    def nct_link(self, trial: Trial) -> str:
        if not trial.nct:
            return EMPTY
        return format_html(
            '<a href="https://clinicaltrials.gov/study/{}" target="_blank" rel="noopener noreferrer">{}</a>',
            trial.nct,
            trial.nct,
        )

    @admin.display(description="arms", ordering="arm_count")
    def arm_count(self, trial) -> int:
        return trial.arm_count

    @admin.display(description="results", ordering="result_count")
    def result_count(self, trial) -> int:
        return trial.result_count

    @admin.display(description="prior lines", ordering="prior_lines_min")
    def prior_lines(self, trial: Trial) -> str:
        return trial.prior_lines_label

    @admin.display(description="% len-refractory", ordering="len_refractory_pct")
    def len_refractory(self, trial: Trial) -> str:
        return EMPTY if trial.len_refractory_pct is None else f"{trial.len_refractory_pct:g}%"


@admin.register(TrialArm)
class TrialArmAdmin(KnowledgeBaseAdmin):
    list_display = ["label", "trial", "key", "regimen", "n", "result_count"]
    list_filter = ["trial__phase"]
    list_select_related = ["trial", "regimen"]
    search_fields = ["key", "label", "trial__name", "trial__key", "regimen__abbreviation", "regimen__key"]
    ordering = ["trial__name", "order"]
    autocomplete_fields = ["trial", "regimen"]

    def get_queryset(self, request):
        # Also for the autocomplete of result arms, whose labels name the trial. (A
        # queryset that already selects related rows makes the changelist ignore
        # `list_select_related`, hence both here.)
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(result_count=Count("results"))
        )

    @admin.display(description="results", ordering="result_count")
    def result_count(self, arm) -> int:
        return arm.result_count


@admin.register(Result)
class ResultAdmin(QuotedAdminMixin, KnowledgeBaseAdmin):
    form = ResultAdminForm
    list_display = [
        "trial",
        "endpoint",
        "population",
        "arm_label",
        "figure",
        "comparator",
        "short_analysis",
        "source_key",
        "has_quote",
    ]
    list_filter = [
        "endpoint",
        "population",
        "unit",
        "not_reached",
        "trial__phase",
        ("trial", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["trial", "arm__regimen", "vs__regimen", "source"]
    search_fields = [
        "trial__name",
        "trial__key",
        "trial__nct",
        "population",
        "analysis",
        "quote",
        "arm__label",
        "arm__regimen__abbreviation",
        "source__citation",
        "source__doi",
        "source__pmid",
        "source__url",
    ]
    ordering = ["trial__name", "order", "pk"]
    autocomplete_fields = ["trial", "arm", "vs", "source"]
    fieldsets = [
        (None, {"fields": ["trial", "arm", "vs", "endpoint", "population"]}),
        ("Figure", {"fields": ["value", "not_reached", "unit", ("ci_low", "ci_high", "ci_level"), "p"]}),
        ("Provenance", {"fields": ["analysis", "source", "quote", "order"]}),
    ]

    def get_queryset(self, request):
        # The change page labels its arm autocompletes with the trial: load it with them.
        # (The changelist ignores `list_select_related` once the queryset selects related rows.)
        return (
            super().get_queryset(request).select_related(*self.list_select_related, "arm__trial", "vs__trial")
        )

    @admin.display(description="arm", ordering="arm__key")
    def arm_label(self, result: Result) -> str:
        return format_html('<span class="nowrap">{}</span>', arm_choice_label(result.arm))

    @admin.display(description="value", ordering="value")
    def figure(self, result: Result) -> str:
        ci = result.ci_label
        return format_html(
            '<span class="nowrap">{}</span>', f"{result.value_label} ({ci})" if ci else result.value_label
        )

    @admin.display(description="source", ordering="source__key")
    def source_key(self, result: Result) -> str:
        return format_html('<span title="{}">{}</span>', result.source.citation, result.source.key)

    @admin.display(description="vs", ordering="vs__key")
    def comparator(self, result: Result) -> str:
        return (
            format_html('<span class="nowrap">{}</span>', arm_choice_label(result.vs)) if result.vs else EMPTY
        )

    @admin.display(description="analysis", ordering="analysis")
    def short_analysis(self, result: Result) -> str:
        return _short(result.analysis, 8) or EMPTY
