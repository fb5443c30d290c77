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

from regimens.models import AlgorithmVersion, Regimen, RegimenComponent


class Sex(models.TextChoices):
    FEMALE = "F", "female"
    """Female."""
    MALE = "M", "male"
    """Male."""
    OTHER = "X", "other / not stated"
    """Not recorded or neither."""


class Stage(models.TextChoices):
    I = "I", "I"  # noqa: E741
    """Stage I."""
    II = "II", "II"
    """Stage II."""
    III = "III", "III"
    """Stage III."""
    UNKNOWN = "", "unknown"
    """Not staged or not recorded."""


class FishResult(models.TextChoices):
    PRESENT = "present", "present"
    """Abnormality detected by FISH."""
    ABSENT = "absent", "absent"
    """Tested, not detected."""
    UNKNOWN = "unknown", "not tested / unknown"
    """No result available."""


class Frailty(models.TextChoices):
    FIT = "fit", "fit (IMWG score 0)"
    """IMWG frailty score 0."""
    INTERMEDIATE = "intermediate", "intermediate fitness (score 1)"
    """IMWG frailty score 1."""
    FRAIL = "frail", "frail (score ≥2)"
    """IMWG frailty score 2 or more."""


class CardiovascularRisk(models.TextChoices):
    NONE = "none", "none"
    """No cardiovascular comorbidity."""
    CONTROLLED_HYPERTENSION = "controlled_hypertension", "controlled hypertension"
    """Hypertension under control."""
    UNCONTROLLED_HYPERTENSION = "uncontrolled_hypertension", "uncontrolled hypertension"
    """Hypertension not controlled."""
    HEART_FAILURE = "heart_failure_or_reduced_lvef", "heart failure or reduced LVEF"
    """Heart failure or reduced left-ventricular ejection fraction."""
    ISCHAEMIC = "ischaemic_heart_disease", "ischaemic heart disease"
    """Coronary artery disease."""
    OTHER = "other_cv_disease", "other cardiovascular disease"
    """Anything else relevant to carfilzomib."""


class YesNoUnknown(models.TextChoices):
    YES = "yes", "yes"
    """Yes."""
    NO = "no", "no"
    """No."""
    UNKNOWN = "unknown", "unknown / not assessed"
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
                queryset=Decision.objects.select_related("meeting", "recorded_by").order_by("-recorded_at"),
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
                r"^[A-Z0-9][A-Z0-9-]*$", "Use capital letters, digits and hyphens only, e.g. MM-2025-014."
            )
        ],
        help_text="Pseudonymous code, e.g. MM-2025-014. Never a name, initials or a hospital number.",
    )
    age_at_diagnosis = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(18), MaxValueValidator(110)], help_text="Years."
    )
    sex = models.CharField(max_length=1, choices=Sex, default=Sex.OTHER)
    diagnosis = models.DateField(help_text="Month and year of diagnosis.")
    iss = models.CharField("ISS", max_length=3, choices=Stage, blank=True)
    r_iss = models.CharField("R-ISS", max_length=3, choices=Stage, blank=True)
    del_17p = models.CharField("del(17p)", max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    t_4_14 = models.CharField("t(4;14)", max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    t_14_16 = models.CharField("t(14;16)", max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    gain_1q = models.CharField("gain/amp 1q", max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    t_11_14 = models.CharField("t(11;14)", max_length=10, choices=FishResult, default=FishResult.UNKNOWN)
    frailty = models.CharField("IMWG frailty", max_length=20, choices=Frailty, blank=True)
    ecog = models.PositiveSmallIntegerField("ECOG", null=True, blank=True, validators=[MaxValueValidator(4)])
    cardiovascular_risk = models.CharField(max_length=40, choices=CardiovascularRisk, blank=True)
    peripheral_neuropathy_grade = models.PositiveSmallIntegerField(
        "peripheral neuropathy grade",
        null=True,
        blank=True,
        validators=[MaxValueValidator(4)],
        help_text="CTCAE 0–4.",
    )
    crcl_ml_min = models.PositiveSmallIntegerField(
        "creatinine clearance (mL/min)", null=True, blank=True, validators=[MaxValueValidator(250)]
    )
    ocular_surface_disease = models.CharField(
        max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    car_t_eligible = models.CharField(
        "CAR-T eligible", max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    car_t_notes = models.TextField("CAR-T eligibility notes", blank=True)
    prefers_fewer_hospital_visits = models.CharField(
        max_length=10, choices=YesNoUnknown, default=YesNoUnknown.UNKNOWN
    )
    current_relapse = models.DateField(
        null=True, blank=True, help_text="Month of the relapse the board discusses; empty: this month."
    )
    notes = models.TextField(blank=True, help_text="Clinical notes. No names, dates of birth or addresses.")
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Optimistic concurrency counter."
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
    PROGRESSION_ON_THERAPY = "progression_on_therapy", "progression on therapy"
    """Progressed while receiving the line (maintenance included): refractory."""
    PROGRESSION_WITHIN_60_DAYS = "progression_within_60_days", "progression within 60 days of the last dose"
    """IMWG: also refractory."""
    PROGRESSION_LATER = "progression_later", "progression more than 60 days after the last dose"
    """Relapse off therapy: exposed, still sensitive."""
    TOXICITY = "toxicity", "stopped for toxicity"
    """Stopped because of side effects: intolerant."""
    COMPLETED = "completed", "completed, no progression yet"
    """Planned course finished, no progression recorded."""
    ONGOING = "ongoing", "ongoing"
    """Still receiving it."""


PROGRESSION_OUTCOMES = {
    LineOutcome.PROGRESSION_ON_THERAPY,
    LineOutcome.PROGRESSION_WITHIN_60_DAYS,
    LineOutcome.PROGRESSION_LATER,
}


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
        help_text="From the knowledge base; empty for anything else (then name it below and tick its drugs).",
    )
    regimen_text = models.CharField(
        "other regimen", max_length=120, blank=True, help_text="Free text, e.g. VRd, VTd, Dara-VTd."
    )
    drug_keys = models.JSONField(
        default=list, blank=True, help_text="Drugs of a free-text regimen (knowledge-base drug keys)."
    )
    other_drug_classes = models.JSONField(
        default=list, blank=True, help_text="Classes of drugs not in the knowledge base (e.g. an alkylator)."
    )
    start = models.DateField(help_text="Month the line started.")
    end = models.DateField(null=True, blank=True, help_text="Month of the last dose; empty while ongoing.")
    progression = models.DateField(null=True, blank=True, help_text="Month of progression, if any.")
    asct = models.BooleanField("ASCT", default=False, help_text="Autologous transplant within this line.")
    asct_date = models.DateField("ASCT month", null=True, blank=True)
    maintenance_drug_keys = models.JSONField(
        default=list, blank=True, help_text="Maintenance drugs (knowledge-base keys), e.g. LENALIDOMIDE."
    )
    maintenance_start = models.DateField(null=True, blank=True)
    len_dose_at_progression_mg = models.DecimalField(
        "lenalidomide dose at progression (mg)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
    )
    best_response = models.CharField(max_length=4, choices=Response, blank=True)
    outcome = models.CharField("how the line ended", max_length=40, choices=LineOutcome)
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
    HAEMATOLOGY = "haematology", "Haematology"
    """Treating haematologists."""
    PHARMACY = "pharmacy", "Pharmacy"
    """Clinical pharmacists."""
    NURSING = "nursing", "Nursing"
    """Specialist nurses."""
    RADIOLOGY = "radiology", "Radiology"
    """Imaging."""
    PATHOLOGY = "pathology", "Pathology"
    """Pathology and cytogenetics."""
    TRANSPLANT = "transplant", "Transplant / cell therapy"
    """Transplant and CAR-T programme."""
    OTHER = "other", "Other"
    """Anyone else."""


class Attendee(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(
        max_length=120, help_text="A clinician's name as it should appear in the minutes."
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
    question = models.CharField(max_length=300, blank=True, help_text="What the board is asked.")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "case"], name="%(app_label)s_%(class)s_unique_case"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id and self.meeting} #{self.position}: {self.case_id and self.case}"


class DecisionStatus(models.TextChoices):
    PLANNED = "planned", "planned"
    """Decided, not started yet."""
    STARTED = "started", "started"
    """Treatment started as decided."""
    NOT_STARTED = "not_started", "not started"
    """Not carried out; the deviation reason says why."""


class DeviationReason(models.TextChoices):
    NONE = "", "—"
    """No deviation."""
    PATIENT_CHOICE = "patient_choice", "patient's choice"
    """The patient declined or chose otherwise."""
    CLINICAL_DETERIORATION = "clinical_deterioration", "clinical deterioration or death"
    """The patient's condition changed."""
    TOXICITY = "toxicity_comorbidity", "toxicity or comorbidity"
    """A new contraindication."""
    ACCESS = "access", "drug not available or not reimbursed"
    """Availability, reimbursement or slot."""
    TRIAL = "trial", "enrolled in a clinical trial instead"
    """Trial enrolment."""
    MISSING_INFORMATION = "missing_information", "missing documentation or work-up"
    """The case was not ready."""
    OTHER = "other", "other"
    """See the note."""


class DecisionQuerySet(models.QuerySet):
    def for_home(self):
        """The home page's lists: case and meeting joined; the snapshot (tens of KB) is not shown."""
        return self.select_related("case", "meeting").defer("snapshot")

    def follow_ups_due(self, until):
        """Planned decisions whose follow-up falls on or before `until`, soonest first."""
        return self.filter(status=DecisionStatus.PLANNED, follow_up__lte=until).order_by("follow_up", "pk")

    def newest_first(self):
        return self.order_by("-recorded_at", "-pk")


class Decision(models.Model):
    """The board's decision for a case, with a frozen snapshot of what the board saw."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    option_key = models.CharField(max_length=60, help_text="Regimen or action key, or OTHER.")
    option_label = models.CharField(max_length=200)
    category = models.CharField(
        max_length=30, blank=True, help_text="The option's category in the recommendation at the time."
    )
    rationale = models.TextField()
    dissent = models.TextField(blank=True)
    patient_preference = models.TextField(blank=True)
    follow_up = models.DateField("follow-up date", null=True, blank=True)
    status = models.CharField(max_length=20, choices=DecisionStatus, default=DecisionStatus.PLANNED)
    deviation_reason = models.CharField(max_length=30, choices=DeviationReason, blank=True)
    deviation_note = models.CharField(max_length=300, blank=True)
    algorithm_version = models.CharField(max_length=80, blank=True)
    snapshot = models.JSONField(
        help_text="Frozen at the decision: facts, the full recommendation, evidence figures shown."
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
        ]

    def __str__(self) -> str:
        return f"{self.case_id and self.case}: {self.option_label}"

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            # A new decision answers every review the algorithm asked for (issue 12).
            for flag in ReviewFlag.objects.open().filter(case_id=self.case_id):
                flag.close(ReviewFlagStatus.CLEARED, by=self.recorded_by, decision=self)


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
