"""Pseudonymised cases, therapy lines, meetings and decisions.

A case carries no names and no birth dates: a pseudonymous code, age at
diagnosis and month/year of diagnosis only. Dates of therapy are month
precision (stored as the first day of the month). Facts that the algorithm
needs (refractoriness, lines, exposure) are derived from the therapy lines by
`cases.derivation`, never typed in; an editor may override one with a reason.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cases import outcomes
from regimens.models import AlgorithmVersion, KnowledgeBaseRevision, Regimen, RegimenComponent


class Sex(models.TextChoices):
    FEMALE = "F", _("female")
    """Female."""
    MALE = "M", _("male")
    """Male."""
    OTHER = "X", _("other / not stated")
    """Not recorded or neither."""


class Stage(models.TextChoices):
    I = "I", "I"  # noqa: E741
    """Stage I."""
    II = "II", "II"
    """Stage II."""
    III = "III", "III"
    """Stage III."""
    UNKNOWN = "", _("unknown")
    """Not staged or not recorded."""


class FishResult(models.TextChoices):
    PRESENT = "present", _("present")
    """Abnormality detected by FISH."""
    ABSENT = "absent", _("absent")
    """Tested, not detected."""
    UNKNOWN = "unknown", _("not tested / unknown")
    """No result available."""


class Frailty(models.TextChoices):
    FIT = "fit", _("fit (IMWG score 0)")
    """IMWG frailty score 0."""
    INTERMEDIATE = "intermediate", _("intermediate fitness (score 1)")
    """IMWG frailty score 1."""
    FRAIL = "frail", _("frail (score ≥2)")
    """IMWG frailty score 2 or more."""


class CardiovascularRisk(models.TextChoices):
    NONE = "none", _("none")
    """No cardiovascular comorbidity."""
    CONTROLLED_HYPERTENSION = "controlled_hypertension", _("controlled hypertension")
    """Hypertension under control."""
    UNCONTROLLED_HYPERTENSION = "uncontrolled_hypertension", _("uncontrolled hypertension")
    """Hypertension not controlled."""
    HEART_FAILURE = "heart_failure_or_reduced_lvef", _("heart failure or reduced LVEF")
    """Heart failure or reduced left-ventricular ejection fraction."""
    ISCHAEMIC = "ischaemic_heart_disease", _("ischaemic heart disease")
    """Coronary artery disease."""
    OTHER = "other_cv_disease", _("other cardiovascular disease")
    """Anything else relevant to carfilzomib."""


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("yes")
    """Yes."""
    NO = "no", _("no")
    """No."""
    UNKNOWN = "unknown", _("unknown / not assessed")
    """Not assessed yet."""


def _count_of(model: type[models.Model], field: str) -> Coalesce:
    """The number of `model` rows whose `field` is the outer row: a correlated subquery, 0 for none."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)


class CaseQuerySet(models.QuerySet):
    def for_list(self):
        """The case list page: one row per case with its number of lines, by code.

        The count is a subquery, not a join with GROUP BY: the database counts the
        lines of the page's rows only, and the paginator's COUNT(*) leaves it out.
        """
        return self.annotate(line_count=_count_of(TherapyLine, "case")).order_by("code")

    def for_detail(self):
        """The case page: lines with regimen and drugs, overrides, decisions with meeting."""
        return self.prefetch_related(
            Prefetch("lines", queryset=TherapyLine.objects.for_facts()),
            Prefetch("overrides", queryset=FactOverride.objects.select_related("created_by")),
            Prefetch(
                "decisions",
                queryset=Decision.objects.select_related("meeting", "recorded_by", "outcome").order_by(
                    "-recorded_at"
                ),
            ),
            Prefetch(
                "decisions__outcome__responses", queryset=ResponseAssessment.objects.order_by("date", "pk")
            ),
            Prefetch(
                "review_flags",
                queryset=ReviewFlag.objects.select_related(
                    "algorithm_version", "closed_by", "decision"
                ).order_by("-raised_at", "-pk"),
            ),
        )


class Case(models.Model):
    code = models.CharField(
        max_length=30,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z0-9][A-Z0-9-]*$", _("Use capital letters, digits and hyphens only, e.g. MM-2025-014.")
            )
        ],
        help_text=_("Pseudonymous code, e.g. MM-2025-014. Never a name, initials or a hospital number."),
    )
    age_at_diagnosis = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(18), MaxValueValidator(110)], help_text=_("Years.")
    )
    sex = models.CharField(max_length=1, choices=Sex, default=Sex.OTHER)
    diagnosis = models.DateField(help_text=_("Month and year of diagnosis."))
    iss = models.CharField(_("ISS"), max_length=3, choices=Stage, blank=True)
    r_iss = models.CharField(_("R-ISS"), max_length=3, choices=Stage, blank=True)
    del_17p = models.CharField(_("del(17p)"), max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    t_4_14 = models.CharField(_("t(4;14)"), max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    t_14_16 = models.CharField(_("t(14;16)"), max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    gain_1q = models.CharField(
        _("gain/amp 1q"), max_length=10, choices=FishResult, default=FishResult.UNKNOWN
    )
    t_11_14 = models.CharField(_("t(11;14)"), max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    frailty = models.CharField(_("IMWG frailty"), max_length=20, choices=Frailty, blank=True)
    ecog = models.PositiveSmallIntegerField(
        _("ECOG"), null=True, blank=True, validators=[MaxValueValidator(4)]
    )
    cardiovascular_risk = models.CharField(max_length=40, choices=CardiovascularRisk, blank=True)
    peripheral_neuropathy_grade = models.PositiveSmallIntegerField(
        _("peripheral neuropathy grade"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(4)],
        help_text=_("CTCAE 0–4."),
    )
    crcl_ml_min = models.PositiveSmallIntegerField(
        _("creatinine clearance (mL/min)"), null=True, blank=True, validators=[MaxValueValidator(250)]
    )
    ocular_surface_disease = models.CharField(
        max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    car_t_eligible = models.CharField(
        _("CAR-T eligible"), max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    car_t_notes = models.TextField(_("CAR-T eligibility notes"), blank=True)
    prefers_fewer_hospital_visits = models.CharField(
        max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    current_relapse = models.DateField(
        null=True, blank=True, help_text=_("Month of the relapse the board discusses; empty: this month.")
    )
    notes = models.TextField(
        blank=True, help_text=_("Clinical notes. No names, dates of birth or addresses.")
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text=_("Optimistic concurrency counter.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = CaseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(age_at_diagnosis__gte=18, age_at_diagnosis__lte=110),
                name="%(app_label)s_%(class)s_age_range",
            ),
            models.CheckConstraint(
                condition=Q(ecog__isnull=True) | Q(ecog__lte=4), name="%(app_label)s_%(class)s_ecog_range"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("cases:case_detail", args=[self.code])


class Response(models.TextChoices):
    """IMWG best response."""

    SCR = "sCR", "sCR"
    """Stringent complete response."""
    CR = "CR", "CR"
    """Complete response."""
    VGPR = "VGPR", "VGPR"
    """Very good partial response."""
    PR = "PR", "PR"
    """Partial response."""
    MR = "MR", "MR"
    """Minimal response."""
    SD = "SD", "SD"
    """Stable disease."""
    PD = "PD", "PD"
    """Progressive disease."""


class LineOutcome(models.TextChoices):
    PROGRESSION_ON_THERAPY = "progression_on_therapy", _("progression on therapy")
    """Progressed while receiving the line (maintenance included): refractory."""
    PROGRESSION_WITHIN_60_DAYS = (
        "progression_within_60_days",
        _("progression within 60 days of the last dose"),
    )
    """IMWG: also refractory."""
    PROGRESSION_LATER = "progression_later", _("progression more than 60 days after the last dose")
    """Relapse off therapy: exposed, still sensitive."""
    TOXICITY = "toxicity", _("stopped for toxicity")
    """Stopped because of side effects: intolerant."""
    COMPLETED = "completed", _("completed, no progression yet")
    """Planned course finished, no progression recorded."""
    ONGOING = "ongoing", _("ongoing")
    """Still receiving it."""


class TherapyLineQuerySet(models.QuerySet):
    def for_facts(self):
        """Lines with everything `cases.derivation` needs: regimen components and their drugs."""
        return self.select_related("regimen").prefetch_related(
            Prefetch("regimen__components", queryset=RegimenComponent.objects.select_related("drug"))
        )


class TherapyLine(models.Model):
    """One line of therapy (IMWG: one planned programme; induction + ASCT + maintenance = one line)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(20)])
    regimen = models.ForeignKey(
        Regimen,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "From the knowledge base; empty for anything else (then name it below and tick its drugs)."
        ),
    )
    regimen_text = models.CharField(
        _("other regimen"), max_length=120, blank=True, help_text=_("Free text, e.g. VRd, VTd, Dara-VTd.")
    )
    drug_keys = models.JSONField(
        default=list, blank=True, help_text=_("Drugs of a free-text regimen (knowledge-base drug keys).")
    )
    other_drug_classes = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Classes of drugs not in the knowledge base (e.g. an alkylator)."),
    )
    start = models.DateField(help_text=_("Month the line started."))
    end = models.DateField(null=True, blank=True, help_text=_("Month of the last dose; empty while ongoing."))
    progression = models.DateField(null=True, blank=True, help_text=_("Month of progression, if any."))
    asct = models.BooleanField(
        _("ASCT"), default=False, help_text=_("Autologous transplant within this line.")
    )
    asct_date = models.DateField(_("ASCT month"), null=True, blank=True)
    maintenance_drug_keys = models.JSONField(
        default=list, blank=True, help_text=_("Maintenance drugs (knowledge-base keys), e.g. LENALIDOMIDE.")
    )
    maintenance_start = models.DateField(null=True, blank=True)
    len_dose_at_progression_mg = models.DecimalField(
        _("lenalidomide dose at progression (mg)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
    )
    best_response = models.CharField(max_length=4, choices=Response, blank=True)
    outcome = models.CharField(_("how the line ended"), max_length=40, choices=LineOutcome)
    notes = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    objects = TherapyLineQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="%(app_label)s_%(class)s_unique_number"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="%(app_label)s_%(class)s_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(regimen__isnull=False) | ~Q(regimen_text=""),
                name="%(app_label)s_%(class)s_regimen_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id and self.case} line {self.number}: {self.regimen_label}"

    @property
    def regimen_label(self) -> str:
        return self.regimen.abbreviation if self.regimen_id else self.regimen_text


class FactOverride(models.Model):
    """A case editor's correction of a derived fact, with the reason; recorded in history."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="overrides")
    fact = models.CharField(max_length=60)
    value = models.JSONField()
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "fact"], name="%(app_label)s_%(class)s_unique_fact"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id and self.case}: {self.fact} = {self.value}"


class MeetingQuerySet(models.QuerySet):
    def annotate_counts(self):
        """The meeting list: number of cases on the agenda and of decisions.

        Subqueries, not joins with GROUP BY: only the rows shown are counted.
        """
        return self.annotate(
            case_count=_count_of(AgendaItem, "meeting"), decision_count=_count_of(Decision, "meeting")
        )

    def for_detail(self, snapshots: bool = False):
        """The meeting page: attendees, agenda with cases and their decisions.

        A decision's snapshot (tens of kilobytes of JSON) is read only when asked
        for: the minutes show some of its facts, the meeting page and the walk none.
        """
        decisions = Decision.objects.select_related("case", "recorded_by")
        return self.prefetch_related(
            "attendees",
            Prefetch("agenda", queryset=AgendaItem.objects.select_related("case").order_by("position", "pk")),
            Prefetch("decisions", queryset=decisions if snapshots else decisions.defer("snapshot")),
        )


class Meeting(models.Model):
    date = models.DateTimeField()
    title = models.CharField(max_length=200, default="Myeloma tumour board")
    location = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = MeetingQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.title}, {self.date:%d %b %Y}"

    def get_absolute_url(self) -> str:
        return reverse("cases:meeting_detail", args=[self.pk])


class Specialty(models.TextChoices):
    HAEMATOLOGY = "haematology", _("Haematology")
    """Treating haematologists."""
    PHARMACY = "pharmacy", _("Pharmacy")
    """Clinical pharmacists."""
    NURSING = "nursing", _("Nursing")
    """Specialist nurses."""
    RADIOLOGY = "radiology", _("Radiology")
    """Imaging."""
    PATHOLOGY = "pathology", _("Pathology")
    """Pathology and cytogenetics."""
    TRANSPLANT = "transplant", _("Transplant / cell therapy")
    """Transplant and CAR-T programme."""
    OTHER = "other", _("Other")
    """Anyone else."""


class Attendee(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(
        max_length=120, help_text=_("A clinician's name as it should appear in the minutes.")
    )
    specialty = models.CharField(max_length=20, choices=Specialty)

    class Meta:
        ordering = ["specialty", "name"]  # a handful per meeting

    def __str__(self) -> str:
        return f"{self.name} ({self.get_specialty_display()})"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="agenda_items")
    position = models.PositiveSmallIntegerField(default=0)
    question = models.CharField(max_length=300, blank=True, help_text=_("What the board is asked."))
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "case"], name="%(app_label)s_%(class)s_unique_case"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id and self.meeting} #{self.position}: {self.case_id and self.case}"


class DecisionStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    """Decided, not started yet."""
    STARTED = "started", _("started")
    """Treatment started as decided."""
    NOT_STARTED = "not_started", _("not started")
    """Not carried out; the deviation reason says why."""


class DeviationReason(models.TextChoices):
    NONE = "", "—"
    """No deviation."""
    PATIENT_CHOICE = "patient_choice", _("patient's choice")
    """The patient declined or chose otherwise."""
    CLINICAL_DETERIORATION = "clinical_deterioration", _("clinical deterioration or death")
    """The patient's condition changed."""
    TOXICITY = "toxicity_comorbidity", _("toxicity or comorbidity")
    """A new contraindication."""
    ACCESS = "access", _("drug not available or not reimbursed")
    """Availability, reimbursement or slot."""
    TRIAL = "trial", _("enrolled in a clinical trial instead")
    """Trial enrolment."""
    MISSING_INFORMATION = "missing_information", _("missing documentation or work-up")
    """The case was not ready."""
    OTHER = "other", _("other")
    """See the note."""


class Concordance(models.TextChoices):
    """Where the chosen option stood in the recommendation the board saw."""

    PREFERRED = outcomes.PREFERRED, _("preferred")
    """A preferred option of the setting."""
    ALTERNATIVE = outcomes.ALTERNATIVE, _("alternative")
    """An alternative option."""
    CONSIDER = outcomes.CONSIDER, _("consider")
    """An option to consider."""
    FUTURE = outcomes.FUTURE, _("future")
    """An option the algorithm expects to arrive."""
    NOT_AMONG_OPTIONS = outcomes.NOT_AMONG_OPTIONS, _("not among the options")
    """Something the recommendation did not list (e.g. "other")."""
    NOT_RECOMMENDED = outcomes.NOT_RECOMMENDED, _("not recommended")
    """An option the recommendation excluded, with its reason."""
    NO_RECOMMENDATION = outcomes.NO_RECOMMENDATION, _("no recommendation available")
    """The algorithm gave no recommendation (none published, or the facts were refused)."""


class DecisionQuerySet(models.QuerySet):
    def for_home(self):
        """The home page's lists: case and meeting joined; the snapshot (tens of KB) is not shown."""
        return self.select_related("case", "meeting").defer("snapshot")

    def follow_ups_due(self, until):
        """Planned decisions whose follow-up falls on or before `until`, soonest first."""
        return self.filter(status=DecisionStatus.PLANNED, follow_up__lte=until).order_by("follow_up", "pk")

    def newest_first(self):
        return self.order_by("-recorded_at", "-pk")

    def for_outcomes(self):
        """/outcomes/: every decision as a plain row with its case code, meeting date and follow-up dates.

        Rows, not instances: thousands of decisions become plain data in a few milliseconds. Only
        columns of the covering index `cases_decision_outcomes` are read from the decision: on
        SQLite, a column stored after the snapshot is reached through the snapshot's overflow pages.
        """
        return self.values(
            "pk", *OUTCOMES_COLUMNS, "case__code", "meeting__date",
            *(f"outcome__{name}" for name in OUTCOME_FIELDS),
        )  # fmt: skip


# The decision columns /outcomes/ reads, all in one covering index (see Decision.Meta.indexes).
OUTCOMES_COLUMNS = (
    "case", "meeting", "status", "concordance", "setting", "option_key", "algorithm_version",
    "deviation_reason", "recorded_at", "option_label", "setting_label",
)  # fmt: skip
OUTCOME_FIELDS = (
    "start", "start_precision", "progression", "progression_precision", "next_treatment",
    "next_treatment_precision", "death", "death_precision", "last_contact", "last_contact_precision",
)  # fmt: skip


class Decision(models.Model):
    """The board's decision for a case, with a frozen snapshot of what the board saw."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    option_key = models.CharField(max_length=60, help_text=_("Regimen or action key, or OTHER."))
    option_label = models.CharField(max_length=200)
    category = models.CharField(
        max_length=30, blank=True, help_text=_("The option's category in the recommendation at the time.")
    )
    rationale = models.TextField()
    dissent = models.TextField(blank=True)
    patient_preference = models.TextField(blank=True)
    follow_up = models.DateField(_("follow-up date"), null=True, blank=True)
    status = models.CharField(max_length=20, choices=DecisionStatus, default=DecisionStatus.PLANNED)
    deviation_reason = models.CharField(max_length=30, choices=DeviationReason, blank=True)
    deviation_note = models.CharField(max_length=300, blank=True)
    algorithm_version = models.CharField(max_length=80, blank=True)
    snapshot = models.JSONField(
        help_text=_("Frozen at the decision: facts, the full recommendation, evidence figures shown.")
    )
    # Read from the frozen snapshot on every save (cases.outcomes), so /outcomes/ never decodes
    # tens of kilobytes of JSON per decision.
    setting = models.CharField(
        max_length=80, blank=True, editable=False, help_text="The algorithm setting of the chosen option."
    )
    setting_label = models.CharField(max_length=300, blank=True, editable=False)
    concordance = models.CharField(
        max_length=30,
        choices=Concordance,
        blank=True,
        editable=False,
        help_text="Where the chosen option stood in the recommendation the board saw.",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = DecisionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=DecisionStatus.NOT_STARTED) | ~Q(deviation_reason=""),
                name="%(app_label)s_%(class)s_not_started_has_reason",
            ),
        ]
        indexes = [
            # Home: the latest decisions (a scan would read every snapshot).
            models.Index(fields=["recorded_at"], name="%(app_label)s_%(class)s_recorded_at"),
            # Home: planned decisions whose follow-up is due, soonest first.
            models.Index(fields=["status", "follow_up"], name="%(app_label)s_%(class)s_follow_up"),
            # /outcomes/ (DecisionQuerySet.for_outcomes): covers every column it reads, so SQLite never
            # walks a snapshot's overflow pages to reach the columns stored after it.
            models.Index(fields=list(OUTCOMES_COLUMNS), name="%(app_label)s_%(class)s_outcomes"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id and self.case}: {self.option_label}"

    def save(self, *args, **kwargs):
        self.derive_from_snapshot()
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            # A new decision answers every review the algorithm asked for (issue 12).
            for flag in ReviewFlag.objects.open().filter(case_id=self.case_id):
                flag.close(ReviewFlagStatus.CLEARED, by=self.recorded_by, decision=self)

    def derive_from_snapshot(self) -> None:
        """Setting and concordance of the chosen option, from the recommendation frozen in the snapshot."""
        recommendation = (self.snapshot or {}).get("recommendation") or {}
        self.setting, self.setting_label = outcomes.decision_setting(self.option_key, recommendation)
        self.setting_label = self.setting_label[:300]
        self.concordance = outcomes.concordance_of(self.option_key, recommendation)

    @property
    def decided_on(self):
        """The day of the decision: its meeting's, else the day it was recorded."""
        moment = self.meeting.date if self.meeting_id else self.recorded_at
        return timezone.localdate(moment) if moment else None


# --- Follow-up of decided treatments ----------------------------------------------------------------


class DatePrecision(models.TextChoices):
    DAY = "day", _("day")
    """The exact day is known."""
    MONTH = "month", _("month")
    """Only the month is known (stored as its first day)."""


class ProgressionBasis(models.TextChoices):
    """How a progression was established (IMWG criteria)."""

    LABORATORY = "laboratory", _("laboratory: M-protein or free light chains (IMWG)")
    """Serum/urine M-protein or involved free light chain rise meeting the IMWG criteria."""
    IMAGING = "imaging", _("imaging: new or growing lesions")
    """New bone or soft-tissue lesions, or growth of known ones."""
    MARROW = "marrow", _("bone marrow plasma cells")
    """Rise of bone marrow plasma cells."""
    CLINICAL = "clinical", _("clinical: new CRAB features or symptoms")
    """Clinical progression (hypercalcaemia, renal failure, anaemia, bone disease)."""


class OutcomeQuerySet(models.QuerySet):
    def for_case_page(self):
        return self.prefetch_related(
            Prefetch("responses", queryset=ResponseAssessment.objects.order_by("date"))
        )


class Outcome(models.Model):
    """What followed a board decision: start, progression, next treatment, death or last contact.

    Entered by case editors. Whether the treatment started (or why not) is the
    decision's status; this row holds the dates. Each date is a day or a month
    (stored as the month's first day), with its precision.
    """

    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="outcome")
    start = models.DateField("treatment start", null=True, blank=True)
    start_precision = models.CharField(max_length=5, choices=DatePrecision, default=DatePrecision.DAY)
    progression = models.DateField(null=True, blank=True)
    progression_precision = models.CharField(max_length=5, choices=DatePrecision, default=DatePrecision.DAY)
    progression_basis = models.CharField(
        "progression established by", max_length=20, choices=ProgressionBasis, blank=True
    )
    next_treatment = models.DateField("start of the next treatment", null=True, blank=True)
    next_treatment_precision = models.CharField(
        max_length=5, choices=DatePrecision, default=DatePrecision.DAY
    )
    death = models.DateField(null=True, blank=True)
    death_precision = models.CharField(max_length=5, choices=DatePrecision, default=DatePrecision.DAY)
    last_contact = models.DateField(null=True, blank=True)
    last_contact_precision = models.CharField(max_length=5, choices=DatePrecision, default=DatePrecision.DAY)
    notes = models.TextField(blank=True, help_text="Shown on the case page only; never exported.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(progression__isnull=True) | Q(start__isnull=False),
                name="%(app_label)s_%(class)s_progression_needs_start",
            ),
            models.CheckConstraint(
                condition=Q(progression__isnull=True) | ~Q(progression_basis=""),
                name="%(app_label)s_%(class)s_progression_has_basis",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up of {self.decision_id and self.decision}"


class ResponseAssessmentQuerySet(models.QuerySet):
    def for_outcomes(self):
        """/outcomes/: (decision id, date, precision, response) of every assessment, in date order."""
        return self.values_list("outcome__decision_id", "date", "precision", "response").order_by(
            "date", "pk"
        )


class ResponseAssessment(models.Model):
    """One IMWG response assessment of a decided treatment."""

    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="responses")
    date = models.DateField()
    precision = models.CharField(max_length=5, choices=DatePrecision, default=DatePrecision.DAY)
    response = models.CharField("IMWG response", max_length=4, choices=Response)
    history = HistoricalRecords()

    objects = ResponseAssessmentQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.response} on {self.date:%d/%m/%Y}"


class CasesRevision(models.Model):
    """One row whose number goes up on every change of cases, decisions or follow-up.

    /outcomes/ is computed once per (cases revision, knowledge-base revision) in
    each process, as the knowledge-base pages are (DESIGN rule 9).
    """

    number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"cases revision {self.number}"

    @classmethod
    def current_with_knowledge_base(cls) -> tuple[int, int]:
        """(cases revision, knowledge-base revision), in one query."""
        knowledge_base = KnowledgeBaseRevision.objects.filter(pk=1).values("number")
        row = (
            cls.objects.filter(pk=1)
            .annotate(knowledge_base=Subquery(knowledge_base))
            .values_list("number", "knowledge_base")
            .first()
        )
        if row is None:  # a database flushed after its migrations (browser tests)
            return 0, KnowledgeBaseRevision.current()
        return row[0], row[1] or 0

    @classmethod
    def bump(cls) -> None:
        updated = cls.objects.filter(pk=1).update(number=F("number") + 1)
        if not updated:
            cls.objects.get_or_create(pk=1, defaults={"number": 1})


class ReviewFlagStatus(models.TextChoices):
    OPEN = "open", _("to review")
    """The board has not looked at the case since the algorithm changed."""
    CLEARED = "cleared", _("cleared by a new decision")
    """The board recorded a decision after the change."""
    DISMISSED = "dismissed", _("dismissed")
    """The board saw the change and keeps its decision; the reason says why."""


class ReviewFlagQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ReviewFlagStatus.OPEN)

    def for_home(self):
        """Open flags, newest first, with their case and version (the home and meeting pages' lists)."""
        return self.open().select_related("case", "algorithm_version").order_by("-raised_at", "pk")

    def not_on_agenda_of(self, meeting):
        """Open flags of cases not yet on `meeting`'s agenda."""
        return self.exclude(case__in=AgendaItem.objects.filter(meeting=meeting).values("case"))


class ReviewFlag(models.Model):
    """A "review: algorithm 2026.1 changed this case's options" flag, raised when a version is published.

    Raised for every case in care whose options differ under the new version
    (algorithm/impact.py); it stays open until the board records a new decision
    for the case (cleared) or dismisses it with a reason. Never deleted: closed
    flags are the case's record of what each algorithm change did to it.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="review_flags")
    algorithm_version = models.ForeignKey(AlgorithmVersion, on_delete=models.PROTECT, related_name="+")
    changes = models.JSONField(
        default=list, help_text="What changed: [{option, label, before, after, kind, cautions_added}]."
    )
    status = models.CharField(max_length=10, choices=ReviewFlagStatus, default=ReviewFlagStatus.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision = models.ForeignKey(
        Decision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The new decision that cleared the flag.",
    )  # fmt: skip
    reason = models.TextField(blank=True, help_text="Why the board dismissed the flag.")
    history = HistoricalRecords()

    objects = ReviewFlagQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "algorithm_version"], name="%(app_label)s_%(class)s_one_per_version"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReviewFlagStatus.DISMISSED) | ~Q(reason=""),
                name="%(app_label)s_%(class)s_dismissed_has_reason",
            ),
        ]
        indexes = [
            # Home and the meeting page: open flags, newest first.
            models.Index(fields=["status", "raised_at"], name="%(app_label)s_%(class)s_open"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id and self.case}: review after algorithm {self.algorithm_version_id}"

    @property
    def is_open(self) -> bool:
        return self.status == ReviewFlagStatus.OPEN

    def close(self, status: str, by=None, decision: Decision | None = None, reason: str = "") -> None:
        self.status = status
        self.closed_at = timezone.now()
        self.closed_by = by
        self.decision = decision
        self.reason = reason
        self.save()
