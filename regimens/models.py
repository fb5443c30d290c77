"""The knowledge base: drugs, regimens, approvals, trials and their results.

Every clinical figure is a `Result` that points to the `Source` it was read
from, so the UI can cite it next to the number. Natural keys (`key`) are the
stable contract shared with the evidence files (`regimens/evidence/*.yaml`).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

QUOTE_MAX_WORDS = 30


def quote_word_count(text: str) -> int:
    """Words as a reader counts them: runs of characters between spaces."""
    return len(text.split())


def validate_quote(text: str) -> None:
    """A quote is a short verbatim phrase: at most QUOTE_MAX_WORDS words."""
    words = quote_word_count(text)
    if words > QUOTE_MAX_WORDS:
        raise ValidationError(
            _(
                "A quote is the verbatim phrase the fact was read from, at most %(limit)d words; "
                "this one has %(words)d. Keep the words that state the fact."
            ),
            code="quote_too_long",
            params={"limit": QUOTE_MAX_WORDS, "words": words},
        )


def quote_field() -> models.TextField:
    """The optional `quote` of a fact added or corrected after the first curation (DESIGN rule 1)."""
    return models.TextField(
        _("quote"),
        blank=True,
        validators=[validate_quote],
        help_text=_(
            "The verbatim phrase (at most 30 words) of the source that states this fact; "
            "every fact added or corrected after the first curation keeps one."
        ),
    )


class QuotedMixin:
    """A fact (result, caution, approval) that may carry the verbatim phrase it was read from."""

    @property
    def quote_id(self) -> str:
        """A page-unique element id for the quote; the fact's source link is described by it."""
        return f"quote-{self._meta.model_name}-{self.pk}"  # type: ignore[attr-defined]


class KnowledgeBaseQuerySet(models.QuerySet):
    """The queryset of every knowledge-base model: bulk writes bump the revision, as a save does.

    Saving or deleting one row bumps through signals (regimens/signals.py); `update()`,
    `bulk_create()` and `bulk_update()` send no signal, so they bump here. A test
    checks that every model of the app uses this queryset.
    """

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        if rows:
            KnowledgeBaseRevision.bump()
        return rows

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            KnowledgeBaseRevision.bump()
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        with KnowledgeBaseRevision.one_bump():  # one update() per batch, one bump in all
            return super().bulk_update(objs, fields, batch_size=batch_size)

    bulk_update.alters_data = True

    def delete(self):
        with KnowledgeBaseRevision.one_bump():  # each deleted row signals; one bump in all
            return super().delete()

    delete.alters_data = True
    delete.queryset_only = True


class KnowledgeBaseModel(models.Model):
    """A row of the knowledge base: its writes, one by one or in bulk, bump the revision."""

    objects = KnowledgeBaseQuerySet.as_manager()

    class Meta:
        abstract = True


class Source(KnowledgeBaseModel):
    """A publication or page that a figure, approval or caution was read from."""

    key = models.CharField(max_length=120, unique=True, help_text="Stable key, e.g. rodriguez-otero-2023.")
    citation = models.TextField(blank=True)
    doi = models.CharField("DOI", max_length=200, blank=True)
    pmid = models.CharField("PMID", max_length=20, blank=True)
    url = models.URLField("URL", max_length=600, blank=True, help_text="Where the figure was read.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]  # small lookup table

    def __str__(self) -> str:
        return self.citation or self.url or self.key

    @property
    def link(self) -> str:
        """The best address to open: the page read, else the DOI resolver."""
        if self.url:
            return self.url
        return f"https://doi.org/{self.doi}" if self.doi else ""


def _number(value: float) -> str:
    """A figure as `:g` writes it, with the active language's decimal separator (13,8 in Italian)."""
    return f"{value:g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))


class DrugClass(models.TextChoices):
    PROTEASOME_INHIBITOR = "proteasome_inhibitor", _("Proteasome inhibitor")
    """Bortezomib, carfilzomib, ixazomib."""
    IMID = "imid", _("Immunomodulatory drug (IMiD)")
    """Thalidomide, lenalidomide, pomalidomide."""
    ANTI_CD38 = "anti_cd38", _("Anti-CD38 antibody")
    """Daratumumab, isatuximab."""
    ANTI_SLAMF7 = "anti_slamf7", _("Anti-SLAMF7 antibody")
    """Elotuzumab."""
    XPO1_INHIBITOR = "xpo1_inhibitor", _("XPO1 inhibitor")
    """Selinexor."""
    BCMA_ADC = "bcma_adc", _("BCMA antibody-drug conjugate")
    """Belantamab mafodotin."""
    BCMA_CAR_T = "bcma_car_t", "BCMA CAR-T"
    """Idecabtagene vicleucel, ciltacabtagene autoleucel."""
    BCMA_BISPECIFIC = "bcma_bispecific", _("BCMA bispecific antibody")
    """Teclistamab, elranatamab."""
    GPRC5D_BISPECIFIC = "gprc5d_bispecific", _("GPRC5D bispecific antibody")
    """Talquetamab."""
    BCL2_INHIBITOR = "bcl2_inhibitor", _("BCL-2 inhibitor")
    """Venetoclax."""
    CORTICOSTEROID = "corticosteroid", _("Corticosteroid")
    """Dexamethasone, prednisone."""
    ALKYLATOR = "alkylator", _("Alkylating agent")
    """Cyclophosphamide, melphalan."""
    CELMOD = "celmod", _("CELMoD")
    """Iberdomide, mezigdomide."""
    OTHER = "other", _("Other")
    """Anything not listed above."""


class Route(models.TextChoices):
    IV = "iv", _("intravenous")
    """Intravenous infusion."""
    SC = "sc", _("subcutaneous")
    """Subcutaneous injection."""
    ORAL = "oral", _("oral")
    """By mouth."""
    IV_OR_SC = "iv_or_sc", _("intravenous or subcutaneous")
    """Both formulations exist (e.g. daratumumab, bortezomib)."""
    ORAL_OR_IV = "oral_or_iv", _("oral or intravenous")
    """Both formulations exist (e.g. dexamethasone)."""


class Agency(models.TextChoices):
    EMA = "EMA", "EMA (EU)"
    """European Medicines Agency / European Commission."""
    FDA = "FDA", "FDA (US)"
    """US Food and Drug Administration."""
    AIFA = "AIFA", _("AIFA (Italy)")
    """Agenzia Italiana del Farmaco: reimbursement in Italy."""


class Drug(KnowledgeBaseModel):
    key = models.CharField(max_length=60, unique=True, help_text="Stable key, e.g. CARFILZOMIB.")
    name = models.CharField(max_length=200)
    drug_class = models.CharField(max_length=30, choices=DrugClass)
    route = models.CharField(max_length=20, choices=Route, blank=True)
    notes = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, blank=True, related_name="drugs")
    history = HistoricalRecords(m2m_fields=[sources])

    class Meta:
        ordering = ["name"]  # small lookup table

    def __str__(self) -> str:
        return self.name


class Caution(QuotedMixin, KnowledgeBaseModel):
    """A patient-factor warning that comes with a drug (e.g. carfilzomib and heart failure)."""

    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="cautions")
    key = models.CharField(max_length=120, help_text="e.g. cytokine_release_syndrome")
    description = models.CharField(
        max_length=300, blank=True, help_text="Shown to the board; defaults to the key in words."
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="cautions"
    )
    quote = quote_field()
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["drug", "order"]
        constraints = [
            models.UniqueConstraint(fields=["drug", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.drug}: {self.label}"

    @property
    def label(self) -> str:
        return self.description or self.key.replace("_", " ")


class RegulatoryEvent(KnowledgeBaseModel):
    """A step in a drug's regulatory history that is not a current approval (e.g. a withdrawal)."""

    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="regulatory_events")
    agency = models.CharField(max_length=10, choices=Agency)
    year = models.PositiveSmallIntegerField()
    event = models.TextField()
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="regulatory_events")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["drug", "order"]

    def __str__(self) -> str:
        return f"{self.drug} {self.agency} {self.year}"


class RegimenQuerySet(KnowledgeBaseQuerySet):
    def for_list(self):
        """The regimen list: components, approvals with sources, key trials; "ide-cel" sorts with "Isa-Kd"."""
        return self.prefetch_related(
            models.Prefetch("components", queryset=RegimenComponent.objects.select_related("drug")),
            models.Prefetch("approvals", queryset=Approval.objects.select_related("source")),
            models.Prefetch("key_trials", queryset=Trial.objects.only("key", "name")),
        ).order_by(Lower("abbreviation"))

    def for_detail(self):
        """The regimen page: components with cautions, approvals, key trials, arms."""
        return self.select_related("schedule_source").prefetch_related(
            models.Prefetch(
                "components",
                queryset=RegimenComponent.objects.select_related("drug").prefetch_related(
                    models.Prefetch("drug__cautions", queryset=Caution.objects.select_related("source")),
                    models.Prefetch(
                        "drug__regulatory_events", queryset=RegulatoryEvent.objects.select_related("source")
                    ),
                ),
            ),
            models.Prefetch("approvals", queryset=Approval.objects.select_related("source")),
            "key_trials",
        )


class Regimen(KnowledgeBaseModel):
    key = models.CharField(max_length=40, unique=True, help_text="Stable key, e.g. ISA-KD.")
    abbreviation = models.CharField(max_length=40, help_text="As the field writes it, e.g. IsaKd.")
    name = models.CharField(max_length=300, help_text="Components in words.")
    aliases = models.JSONField(
        default=list, blank=True, help_text='Other spellings, e.g. ["Isa-Kd", "IsaKD"].'
    )
    drugs = models.ManyToManyField(Drug, through="RegimenComponent", related_name="regimens")
    schedule = models.TextField(blank=True)
    schedule_source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="regimen_schedules"
    )
    key_trials = models.ManyToManyField("Trial", blank=True, related_name="key_for_regimens")
    notes = models.TextField(blank=True)
    history = HistoricalRecords(m2m_fields=[key_trials])

    objects = RegimenQuerySet.as_manager()

    def __str__(self) -> str:
        return self.abbreviation

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("regimens:regimen_detail", args=[self.key])


class RegimenComponent(KnowledgeBaseModel):
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="components")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="components")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["regimen", "order"]
        constraints = [
            models.UniqueConstraint(fields=["regimen", "drug"], name="%(app_label)s_%(class)s_unique_drug"),
        ]

    def __str__(self) -> str:
        return f"{self.regimen}: {self.drug}"


class ApprovalStatus(models.TextChoices):
    APPROVED = "approved", _("approved")
    """Marketing authorisation (or FDA approval) in force."""
    CONDITIONAL = "conditional", _("conditional / accelerated")
    """Conditional EU authorisation or FDA accelerated approval."""
    REIMBURSED = "reimbursed", _("reimbursed")
    """AIFA: reimbursed by the Italian national health service."""
    WITHDRAWN = "withdrawn", _("withdrawn")
    """No longer authorised for this indication."""
    PENDING = "pending", _("positive opinion, decision pending")
    """EMA: CHMP positive opinion; the European Commission decision is not yet known."""
    CLASSIFIED = "classified", _("classified, not reimbursed")
    """AIFA class C(nn): on the Italian market but not yet evaluated for reimbursement."""


class Approval(QuotedMixin, KnowledgeBaseModel):
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="approvals")
    agency = models.CharField(max_length=10, choices=Agency)
    year = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty when no source gives it.")
    date = models.DateField(null=True, blank=True)
    indication = models.TextField()
    status = models.CharField(max_length=20, choices=ApprovalStatus, default=ApprovalStatus.APPROVED)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="approvals")
    quote = quote_field()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1990, year__lte=2100),
                name="%(app_label)s_%(class)s_year_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regimen} — {self.agency} {self.year or 'year not reported'}"

    @property
    def agency_label(self) -> str:
        return self.get_agency_display()

    @property
    def status_label(self) -> str:
        return self.get_status_display()


class Action(KnowledgeBaseModel):
    """An algorithm option that is not a drug regimen, e.g. a clinical trial or a second ASCT."""

    key = models.CharField(max_length=40, unique=True)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="actions")
    other_sources = models.ManyToManyField(Source, blank=True, related_name="+")
    notes = models.TextField(blank=True)
    history = HistoricalRecords(m2m_fields=[other_sources])

    def __str__(self) -> str:
        return self.label


class Phase(models.TextChoices):
    P1B = "1b", _("phase 1b")
    """Dose-finding with expansion."""
    P1_2 = "1/2", _("phase 1/2")
    """Combined phase 1 and 2."""
    P1B_2 = "1b/2", _("phase 1b/2")
    """Combined phase 1b and 2."""
    P2 = "2", _("phase 2")
    """Single-arm or randomised phase 2."""
    P2_3 = "2/3", _("phase 2/3")
    """Seamless phase 2/3."""
    P3 = "3", _("phase 3")
    """Randomised phase 3."""
    REAL_WORLD = "real-world", _("real-world study")
    """Observational cohort."""


class TrialQuerySet(KnowledgeBaseQuerySet):
    def for_list(self):
        """The trial list page: arms with their regimens in one extra query; case-insensitive order."""
        return self.prefetch_related(
            models.Prefetch("arms", queryset=TrialArm.objects.select_related("regimen"))
        ).order_by(Lower("name"))

    def for_detail(self):
        """The trial page: arms, every result with arm, comparator and source, sources."""
        return self.prefetch_related(
            models.Prefetch("arms", queryset=TrialArm.objects.select_related("regimen")),
            models.Prefetch(
                "results", queryset=Result.objects.select_related("arm__regimen", "vs__regimen", "source")
            ),
            "sources",
        )

    def for_comparison(self, endpoints: Iterable[str]):
        """The compare page: arms with regimens, the results of these endpoints with their sources.

        A result's arms are read from the trial's arms, so results join only their source.
        """
        return self.prefetch_related(
            models.Prefetch("arms", queryset=TrialArm.objects.select_related("regimen")),
            models.Prefetch(
                "results", queryset=Result.objects.filter(endpoint__in=endpoints).select_related("source")
            ),
        )

    def for_headlines(self, endpoints: Iterable[str]):
        """The wizard's option cards: arms with regimens, ITT results of these endpoints with sources."""
        return self.prefetch_related(
            models.Prefetch("arms", queryset=TrialArm.objects.select_related("regimen")),
            models.Prefetch(
                "results",
                queryset=Result.objects.filter(population="ITT", endpoint__in=endpoints).select_related(
                    "source"
                ),
            ),
        )


class Trial(KnowledgeBaseModel):
    key = models.CharField(max_length=40, unique=True, help_text="Stable key, e.g. KARMMA-3.")
    name = models.CharField(max_length=100, help_text="As the field writes it, e.g. KarMMa-3.")
    nct = models.CharField("NCT", max_length=20, blank=True)
    phase = models.CharField(max_length=20, choices=Phase)
    design = models.TextField(blank=True)
    population = models.TextField(blank=True)
    prior_lines_min = models.PositiveSmallIntegerField(null=True, blank=True)
    prior_lines_max = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: no upper limit."
    )
    len_refractory_pct = models.FloatField("% lenalidomide-refractory", null=True, blank=True)
    anti_cd38_refractory_pct = models.FloatField("% anti-CD38-refractory", null=True, blank=True)
    triple_class_refractory_pct = models.FloatField("% triple-class-refractory", null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Caveats, e.g. crossover confounds OS.")
    sources = models.ManyToManyField(Source, blank=True, related_name="trials")
    history = HistoricalRecords(m2m_fields=[sources])

    objects = TrialQuerySet.as_manager()

    class Meta:
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True})
                    | Q(**{f"{field}__gte": 0, f"{field}__lte": 100}),
                    name=f"%(app_label)s_%(class)s_{field}_percent",
                )
                for field in ("len_refractory_pct", "anti_cd38_refractory_pct", "triple_class_refractory_pct")
            ],
            models.CheckConstraint(
                condition=Q(prior_lines_min__isnull=True)
                | Q(prior_lines_max__isnull=True)
                | Q(prior_lines_min__lte=F("prior_lines_max")),
                name="%(app_label)s_%(class)s_prior_lines_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("regimens:trial_detail", args=[self.key])

    @property
    def prior_lines_label(self) -> str:
        low, high = self.prior_lines_min, self.prior_lines_max
        if low is None and high is None:
            return gettext("not reported")
        if high is None:
            return f"≥{low}"
        if low == high:
            return str(low)
        return f"{low if low is not None else 0}–{high}"


class TrialArm(KnowledgeBaseModel):
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=40, help_text="Short key, unique in the trial.")
    regimen = models.ForeignKey(
        Regimen,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="arms",
        help_text="Empty for an investigator's-choice arm; the label says what it was.",
    )
    label = models.CharField(max_length=300)
    allowed_regimens = models.ManyToManyField(
        Regimen,
        blank=True,
        related_name="allowed_in_arms",
        help_text="An investigator's-choice arm: every regimen it allowed. Each counts as compared with "
        "the other arm (e.g. CARTITUDE-4's standard care: PVd or DPd).",
    )
    n = models.PositiveIntegerField(
        null=True, blank=True, help_text="Patients in the arm; empty if not reported."
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords(m2m_fields=[allowed_regimens])

    class Meta:
        ordering = ["trial", "order"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.trial} — {self.label}"

    @property
    def short_label(self) -> str:
        return self.regimen.abbreviation if self.regimen else self.label


class Endpoint(models.TextChoices):
    PFS_MEDIAN = "pfs_median", _("median PFS")
    """Median progression-free survival, months."""
    PFS_HR = "pfs_hr", _("PFS hazard ratio")
    """Hazard ratio for progression or death, arm vs comparator."""
    OS_MEDIAN = "os_median", _("median OS")
    """Median overall survival, months."""
    OS_HR = "os_hr", _("OS hazard ratio")
    """Hazard ratio for death, arm vs comparator."""
    ORR = "orr", _("overall response rate")
    """Partial response or better, percent."""
    CR_OR_BETTER = "cr_or_better", "≥CR"
    """Complete response or better, percent."""
    VGPR_OR_BETTER = "vgpr_or_better", "≥VGPR"
    """Very good partial response or better, percent."""
    MRD_NEG = "mrd_neg", _("MRD negativity")
    """Minimal residual disease negative, percent (threshold in the analysis)."""
    PFS_RATE = "pfs_rate", _("PFS rate")
    """Progression-free at a time point named in the analysis, percent."""
    DOR_MEDIAN = "dor_median", _("median duration of response")
    """Median duration of response, months."""


class Unit(models.TextChoices):
    MONTHS = "months", _("months")
    """A duration."""
    PERCENT = "percent", "%"
    """A share of patients."""
    RATIO = "", _("ratio")
    """Hazard ratios carry no unit."""


class ResultQuerySet(KnowledgeBaseQuerySet):
    def with_context(self):
        return self.select_related("trial", "arm__regimen", "vs__regimen", "source")


class Result(QuotedMixin, KnowledgeBaseModel):
    """One reported figure of a trial, with the source it was read from."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="results")
    endpoint = models.CharField(max_length=20, choices=Endpoint)
    population = models.CharField(
        max_length=200, default="ITT", help_text="ITT, or a subgroup such as len_refractory."
    )
    arm = models.ForeignKey(TrialArm, on_delete=models.CASCADE, related_name="results")
    vs = models.ForeignKey(
        TrialArm,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comparator_results",
        verbose_name="comparator arm",
        help_text="For hazard ratios: the arm compared against.",
    )
    value = models.FloatField(null=True, blank=True, help_text="Empty when the median was not reached.")
    not_reached = models.BooleanField(default=False, help_text="The median was not reached.")
    ci_low = models.FloatField("CI lower bound", null=True, blank=True)
    ci_high = models.FloatField(
        "CI upper bound", null=True, blank=True, help_text="Empty when not estimable."
    )
    ci_level = models.FloatField("CI level", default=0.95, help_text="0.95 for a 95% CI.")
    unit = models.CharField(max_length=10, choices=Unit, blank=True)
    p = models.CharField("p value", max_length=200, blank=True, help_text="As reported, e.g. <0.001.")
    analysis = models.TextField(help_text='e.g. "interim, median follow-up 18.6 months".')
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="results")
    quote = quote_field()
    order = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    objects = ResultQuerySet.as_manager()

    class Meta:
        ordering = ["trial", "order", "pk"]  # pk: equal orders still list in a stable order
        constraints = [
            models.CheckConstraint(
                condition=Q(not_reached=True, value__isnull=True) | Q(not_reached=False, value__isnull=False),
                name="%(app_label)s_%(class)s_value_or_not_reached",
            ),
            models.CheckConstraint(
                condition=~Q(unit="percent") | Q(value__isnull=True) | Q(value__gte=0, value__lte=100),
                name="%(app_label)s_%(class)s_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True) | Q(value__isnull=True) | Q(ci_low__lte=F("value")),
                name="%(app_label)s_%(class)s_ci_low_below_value",
            ),
            models.CheckConstraint(
                condition=Q(ci_high__isnull=True) | Q(value__isnull=True) | Q(ci_high__gte=F("value")),
                name="%(app_label)s_%(class)s_ci_high_above_value",
            ),
            models.CheckConstraint(
                condition=Q(ci_level__gt=0, ci_level__lt=1), name="%(app_label)s_%(class)s_ci_level_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trial} {self.get_endpoint_display()} {self.arm.key}: {self.value_label}"

    @property
    def value_label(self) -> str:
        """The figure as the board reads it: '13.3 months', '71%', 'not reached'."""
        if self.not_reached:
            return gettext("not reached")
        if self.value is None:
            return gettext("not reported")
        number = _number(self.value)
        if self.unit == Unit.PERCENT:
            return f"{number}%"
        if self.unit == Unit.MONTHS:
            return gettext("%(number)s months") % {"number": number}
        return number

    @property
    def ci_label(self) -> str:
        """'11.8–16.1' with the level when it is not 95%; '' when no CI was reported."""
        if self.ci_low is None and self.ci_high is None:
            return ""
        low = "NE" if self.ci_low is None else _number(self.ci_low)
        high = "NE" if self.ci_high is None else _number(self.ci_high)
        level = _number(round(self.ci_level * 100, 1))
        return gettext("%(level)s%% CI %(low)s–%(high)s") % {"level": level, "low": low, "high": high}


# --------------------------------------------------------------------------
# The relapse algorithm as versioned data. The pure engine (algorithm/engine)
# evaluates the rules of the published version; these rows hold them.


class AlgorithmStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    """Being edited by curators; never used for recommendations."""
    PUBLISHED = "published", _("published")
    """The version in use. Exactly one at a time; it cannot be changed."""
    RETIRED = "retired", _("retired")
    """Replaced by a later version; kept so past decisions stay readable."""


class Category(models.TextChoices):
    PREFERRED = "preferred", _("preferred")
    """Named by a source as the standard or first choice in this setting."""
    ALTERNATIVE = "alternative", _("alternative")
    """Named by a source as a valid option, not the first choice."""
    CONSIDER = "consider", _("consider")
    """Supported by a trial or a label, but no guideline text read ranks it here."""
    FUTURE = "future", _("future")
    """Expected to arrive; shown only when asked for."""
    NOT_RECOMMENDED = "not_recommended", _("not recommended")
    """A source advises against it in this setting."""


class AlgorithmVersionQuerySet(KnowledgeBaseQuerySet):
    def published_id(self) -> int | None:
        return self.filter(status=AlgorithmStatus.PUBLISHED).values_list("pk", flat=True).first()

    def with_rules(self):
        """Everything `to_rules_dict` reads, in three extra queries."""
        return self.prefetch_related(
            models.Prefetch("settings", queryset=AlgorithmSetting.objects.prefetch_related("options")),
            "modifiers",
        )


class AlgorithmVersion(KnowledgeBaseModel):
    label = models.CharField(max_length=60, unique=True, help_text='e.g. "2025.1"')
    status = models.CharField(max_length=12, choices=AlgorithmStatus, default=AlgorithmStatus.DRAFT)
    change_notes = models.TextField(blank=True, help_text="What changed since the previous version, and why.")
    document = models.JSONField(
        default=dict,
        blank=True,
        help_text="The rest of the algorithm file: meta, inputs, trials, Italian availability, "
        "the reconstruction of the review's figures, sources and open questions.",
    )
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    objects = AlgorithmVersionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published"),
                name="%(app_label)s_%(class)s_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"

    FROZEN_FIELDS = ("label", "change_notes", "document")

    def save(self, *args, **kwargs):
        if self.pk:
            stored = AlgorithmVersion.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS, "status").first()
            if stored and stored["status"] != AlgorithmStatus.DRAFT:
                changed = [f for f in self.FROZEN_FIELDS if getattr(self, f) != stored[f]]
                if changed or self.status == AlgorithmStatus.DRAFT:
                    raise PublishedVersionError(
                        f"Algorithm version {stored['label']} is {stored['status']}: "
                        "copy it to a new draft to change it."
                    )
        super().save(*args, **kwargs)

    def to_rules_dict(self) -> dict:
        """The algorithm in the structure of the algorithm file, as the engine reads it."""
        data = dict(self.document)
        data["settings"] = [setting.to_dict() for setting in self.settings.all()]
        data["modifiers"] = [modifier.to_dict() for modifier in self.modifiers.all()]
        return data


class PublishedVersionError(Exception):
    """A published or retired algorithm version was about to change."""


class VersionedRow(KnowledgeBaseModel):
    """A row of an algorithm version: frozen once the version leaves draft."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def owning_version(self) -> AlgorithmVersion:
        raise NotImplementedError

    def _refuse_unless_draft(self) -> None:
        version = self.owning_version()
        # Read the status from the database: an in-memory copy may be stale.
        status = AlgorithmVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
        if status not in (None, AlgorithmStatus.DRAFT):
            raise PublishedVersionError(
                f"Algorithm version {version.label} is {status}: copy it to a new draft to change it."
            )


class AlgorithmSetting(VersionedRow):
    """A disease setting (e.g. lenalidomide-refractory, anti-CD38 naive) with its options."""

    version = models.ForeignKey(AlgorithmVersion, on_delete=models.CASCADE, related_name="settings")
    key = models.CharField(max_length=80)
    label = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    when = models.JSONField(
        help_text='Conditions over the case facts, e.g. {"all": [{"input": "len_status", "in": ["refractory"]}]}'
    )
    details = models.JSONField(
        default=dict, blank=True, help_text="Notes, the review's summary, not-recommended lists."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label

    def owning_version(self) -> AlgorithmVersion:
        return self.version

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "when": self.when,
            **self.details,
            "options": [option.to_dict() for option in self.options.all()],
        }


class AlgorithmOption(VersionedRow):
    """A regimen or action placed in a setting, with its category and who places it there."""

    setting = models.ForeignKey(AlgorithmSetting, on_delete=models.CASCADE, related_name="options")
    order = models.PositiveSmallIntegerField(default=0, help_text="Display order within the setting.")
    option_key = models.CharField(
        "regimen or action", max_length=40, help_text="A regimen key (e.g. ISA-KD) or an action key."
    )
    category = models.CharField(max_length=20, choices=Category)
    rationale = models.TextField(blank=True)
    trials = models.JSONField(default=list, blank=True, help_text='Trial keys, e.g. ["IKEMA"].')
    requires = models.JSONField(default=list, blank=True, help_text="Conditions that must also hold.")
    cautions = models.JSONField(default=list, blank=True, help_text="Modifier keys that always apply here.")
    placed_by = models.JSONField(default=list, blank=True, help_text="Source by source, what each says.")
    details = models.JSONField(default=dict, blank=True, help_text="Status notes, evidence gaps.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["setting", "order"]

    def __str__(self) -> str:
        return f"{self.option_key} ({self.category})"

    def owning_version(self) -> AlgorithmVersion:
        return self.setting.version

    def to_dict(self) -> dict:
        data = {"regimen": self.option_key, "category": self.category}
        if self.requires:
            data["requires"] = self.requires
        data.update(trials=self.trials, placed_by=self.placed_by, rationale=self.rationale)
        if self.cautions:
            data["cautions"] = self.cautions
        return {**data, **self.details}


class AlgorithmModifier(VersionedRow):
    """A patient factor that adds a caution to, demotes, hides or excludes options."""

    version = models.ForeignKey(AlgorithmVersion, on_delete=models.CASCADE, related_name="modifiers")
    key = models.CharField(max_length=60)
    order = models.PositiveSmallIntegerField(default=0)
    applies_to = models.JSONField(
        help_text='Regimen/action keys, or "input:<key>" for a rule about an input.'
    )
    trigger = models.JSONField(help_text="The condition over the case facts that sets it off.")
    effect = models.TextField(help_text="What it does, in words, as the board reads it.")
    apply = models.JSONField(
        default=list,
        blank=True,
        help_text='What the engine does: [{"action": "caution|demote|hide|exclude", ...}]',
    )
    evidence = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key

    def owning_version(self) -> AlgorithmVersion:
        return self.version

    def to_dict(self) -> dict:
        data = {
            "key": self.key,
            "applies_to": self.applies_to,
            "trigger": self.trigger,
            "effect": self.effect,
        }
        if self.apply:
            data["apply"] = self.apply
        return {**data, "evidence": self.evidence, **self.details}


class ImpactStatus(models.TextChoices):
    QUEUED = "queued", _("waiting for the task worker")
    """Enqueued as a background task; no worker has taken it yet."""
    RUNNING = "running", _("running")
    """A worker is running the cases through both versions."""
    DONE = "done", _("done")
    """Finished; the results are stored."""
    FAILED = "failed", _("failed")
    """Stopped by an error; `error` says which."""


class ImpactRunQuerySet(models.QuerySet):
    def latest_for(self, draft: "AlgorithmVersion", against: "AlgorithmVersion") -> "ImpactRun | None":
        """The newest run of `draft` against `against` (fresh or not: the caller compares inputs)."""
        return self.filter(draft=draft, against=against).order_by("-created_at", "-pk").first()


class ImpactRun(models.Model):
    """What a draft algorithm version changes for the cases in care, against another version.

    Every case in care is run through both versions (algorithm/impact.py); the
    cases whose options change are stored here, with the draft, so reopening the
    page is instant. `inputs` names what the results depend on (both versions,
    the knowledge-base revision, the latest change to any case, meeting or
    decision, the day): when it differs from the current one, the results are
    out of date and a new run is needed.
    """

    draft = models.ForeignKey(AlgorithmVersion, on_delete=models.CASCADE, related_name="impact_runs")
    against = models.ForeignKey(AlgorithmVersion, on_delete=models.CASCADE, related_name="+")
    inputs = models.CharField(max_length=200, help_text="What the results depend on; see ImpactRun.")
    status = models.CharField(max_length=10, choices=ImpactStatus, default=ImpactStatus.QUEUED)
    task_id = models.CharField(max_length=64, blank=True, help_text="The background task's result id.")
    total = models.PositiveIntegerField(default=0, help_text="Cases in care.")
    done = models.PositiveIntegerField(default=0, help_text="Cases run through both versions so far.")
    counts = models.JSONField(default=dict, blank=True, help_text="Cases changed, in all and by kind.")
    results = models.JSONField(
        default=list,
        blank=True,
        help_text="The cases whose options change: code, changes, decision in force.",
    )
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImpactRunQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=F("total")), name="%(app_label)s_%(class)s_done_within_total"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"impact of {self.draft_id and self.draft.label} against {self.against_id and self.against.label}"
        )

    @property
    def is_finished(self) -> bool:
        return self.status in (ImpactStatus.DONE, ImpactStatus.FAILED)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.is_finished else 0)


class KnowledgeBaseRevision(models.Model):
    """One row whose number goes up on every knowledge-base or algorithm change.

    In-process caches (compiled rules, chart figures) key on it, so several app
    processes stay correct without a cache server (DESIGN rule 9).
    """

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"knowledge base revision {self.number}"

    @classmethod
    def current(cls) -> int:
        return cls.objects.filter(pk=1).values_list("number", flat=True).first() or 0

    @classmethod
    def bump(cls) -> None:
        """Count one change (inside `one_bump()`: note it, and count it once at the end)."""
        held = _held_bumps.get()
        if held is not None:
            held.append(True)
            return
        updated = cls.objects.filter(pk=1).update(number=F("number") + 1)
        if not updated:
            cls.objects.get_or_create(pk=1, defaults={"number": 1})

    @classmethod
    @contextmanager
    def one_bump(cls) -> Iterator[None]:
        """Hold back the bumps of the writes inside, then bump once if there were any.

        For bulk work such as `load_evidence`: use it inside the transaction, so the one
        bump commits or rolls back with the rows. Nested, only the outermost bumps; after
        an error inside, nothing is bumped (the transaction rolls back).
        """
        if _held_bumps.get() is not None:
            yield
            return
        held: list[bool] = []
        token = _held_bumps.set(held)
        try:
            yield
        finally:
            _held_bumps.reset(token)
        if held:
            cls.bump()


# The bumps held back by the innermost running `KnowledgeBaseRevision.one_bump()`, if any.
_held_bumps: ContextVar[list[bool] | None] = ContextVar("held_knowledge_base_bumps", default=None)
