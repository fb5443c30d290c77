"""Forms for cases, therapy lines, overrides, meetings and decisions: every check with a clear message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from algorithm import words
from cases import derivation
from cases.models import (
    AgendaItem,
    Attendee,
    Case,
    DatePrecision,
    Decision,
    DecisionStatus,
    DeviationReason,
    LineOutcome,
    Meeting,
    Outcome,
    ProgressionBasis,
    Response,
    ResponseAssessment,
    TherapyLine,
)
from regimens.models import Drug, DrugClass, Regimen

MONTH_FORMATS = ["%Y-%m", "%m/%Y", "%Y-%m-%d"]


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m")


class MonthField(forms.DateField):
    """A month (YYYY-MM), stored as its first day."""

    widget = MonthInput

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", MONTH_FORMATS)
        kwargs.setdefault("help_text", _("Month and year."))
        super().__init__(**kwargs)
        self.error_messages["invalid"] = _("Enter a month as YYYY-MM, e.g. 2024-03.")

    def to_python(self, value):
        result = super().to_python(value)
        return result.replace(day=1) if isinstance(result, date) else result


def _drug_choices():
    return [(d.key, d.name) for d in Drug.objects.order_by("name").only("key", "name")]


# Classes an editor may tick for a drug the knowledge base does not hold (e.g. melphalan).
OTHER_CLASS_CHOICES = [(c.value, c.label) for c in DrugClass if c.value in derivation.EXPOSURE_CLASS]


class FieldsetsMixin:
    """`form.fieldsets`: (legend, bound fields) pairs for the template to lay out."""

    FIELDSETS: list[tuple[str, list[str]]] = []  # (legend, lazily translated; field names)

    @property
    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]


class CaseForm(FieldsetsMixin, forms.ModelForm):
    diagnosis = MonthField(label=_("Diagnosis (month)"))
    current_relapse = MonthField(label=_("Current relapse (month)"), required=False,
                                 help_text=_("The relapse the board discusses; empty: this month."))  # fmt: skip
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    FIELDSETS = [
        (_("Patient"), ["code", "age_at_diagnosis", "sex", "diagnosis", "current_relapse"]),
        (_("Staging and FISH"), ["iss", "r_iss", "del_17p", "t_4_14", "t_14_16", "gain_1q", "t_11_14"]),
        (_("Fitness and comorbidity"), ["frailty", "ecog", "cardiovascular_risk", "peripheral_neuropathy_grade",
                                     "crcl_ml_min", "ocular_surface_disease"]),
        (_("CAR-T and preferences"), ["car_t_eligible", "prefers_fewer_hospital_visits", "car_t_notes", "notes"]),
    ]  # fmt: skip

    class Meta:
        model = Case
        fields = [
            "code", "age_at_diagnosis", "sex", "diagnosis", "iss", "r_iss", "del_17p", "t_4_14",
            "t_14_16", "gain_1q", "t_11_14", "frailty", "ecog", "cardiovascular_risk",
            "peripheral_neuropathy_grade", "crcl_ml_min", "ocular_surface_disease", "car_t_eligible",
            "car_t_notes", "prefers_fewer_hospital_visits", "current_relapse", "notes",
        ]  # fmt: skip
        widgets = {
            "car_t_notes": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "code": _("Code"),
            "age_at_diagnosis": _("Age at diagnosis"),
            "sex": _("Sex"),
            "cardiovascular_risk": _("Cardiovascular risk"),
            "ocular_surface_disease": _("Ocular surface disease"),
            "prefers_fewer_hospital_visits": _("Prefers fewer hospital visits"),
            "notes": _("Notes"),
        }

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean(self):
        data = super().clean()
        diagnosis, relapse = data.get("diagnosis"), data.get("current_relapse")
        if diagnosis and diagnosis > date.today():
            self.add_error("diagnosis", _("The diagnosis cannot be in the future."))
        if diagnosis and relapse and relapse < diagnosis:
            self.add_error("current_relapse", _("The relapse cannot be before the diagnosis."))
        return data


class TherapyLineForm(FieldsetsMixin, forms.ModelForm):
    regimen = forms.ModelChoiceField(
        queryset=Regimen.objects.order_by("abbreviation"),
        to_field_name="key",
        required=False,
        label=_("Regimen (knowledge base)"),
        empty_label=_("— other (name it below) —"),
        error_messages={
            "invalid_choice": _(
                "Unknown regimen: it is not in the knowledge base. Choose one from the list, "
                "or name it under “other regimen” and tick its drugs."
            )
        },
    )
    drug_keys = forms.MultipleChoiceField(
        label=_("Drugs of the other regimen"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick every drug; they decide the derived refractoriness."),
    )
    other_drug_classes = forms.MultipleChoiceField(
        label=_("Other drug classes (drugs not in the knowledge base)"),
        required=False,
        choices=OTHER_CLASS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    maintenance_drug_keys = forms.MultipleChoiceField(
        label=_("Maintenance drugs"), required=False, widget=forms.CheckboxSelectMultiple
    )
    start = MonthField(label=_("Start"))
    end = MonthField(label=_("Last dose"), required=False, help_text=_("Empty while the line is ongoing."))
    progression = MonthField(label=_("Progression"), required=False)
    asct_date = MonthField(label=_("ASCT month"), required=False)
    maintenance_start = MonthField(label=_("Maintenance start"), required=False)
    best_response = forms.ChoiceField(
        label=_("Best response (IMWG)"),
        required=False,
        choices=[("", _("not recorded")), *Response.choices],
        error_messages={
            "invalid_choice": _("Best response must be an IMWG category: sCR, CR, VGPR, PR, MR, SD or PD.")
        },
    )

    FIELDSETS = [
        (_("Regimen"), ["number", "regimen", "regimen_text", "drug_keys", "other_drug_classes"]),
        (_("Dates"), ["start", "end"]),
        (_("Transplant and maintenance"), ["asct", "asct_date", "maintenance_start", "len_dose_at_progression_mg",
                                        "maintenance_drug_keys"]),
        (_("Response and how the line ended"), ["best_response", "outcome", "progression", "notes"]),
    ]  # fmt: skip

    class Meta:
        model = TherapyLine
        labels = {
            "number": _("Number"),
            "len_dose_at_progression_mg": _("Lenalidomide dose at progression (mg)"),
            "outcome": _("How the line ended"),
            "notes": _("Notes"),
        }
        fields = [
            "number", "regimen", "regimen_text", "drug_keys", "other_drug_classes", "start", "end",
            "asct", "asct_date", "maintenance_drug_keys", "maintenance_start", "len_dose_at_progression_mg",
            "best_response", "outcome", "progression", "notes",
        ]  # fmt: skip

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        drugs = _drug_choices()
        self.fields["drug_keys"].choices = drugs
        self.fields["maintenance_drug_keys"].choices = drugs
        self.fields["outcome"].error_messages["invalid_choice"] = _(
            "Choose how the line ended from the list."
        )
        if self.instance.pk is None and not self.is_bound:
            numbers = [line.number for line in case.lines.all()]
            self.initial.setdefault("number", max(numbers, default=0) + 1)
        if self.instance.regimen_id:
            self.initial["regimen"] = self.instance.regimen.key

    def clean(self):
        data = super().clean()
        regimen, text = data.get("regimen"), (data.get("regimen_text") or "").strip()
        start, end, progression = data.get("start"), data.get("end"), data.get("progression")
        outcome = data.get("outcome")
        if not regimen and not text:
            self.add_error("regimen", _("Choose a regimen, or name another one under “other regimen”."))
        if regimen and text:
            self.add_error("regimen_text", _("Either a knowledge-base regimen or another regimen, not both."))
        if not regimen and text and not data.get("drug_keys") and not data.get("other_drug_classes"):
            self.add_error(
                "drug_keys",
                _("Tick the drugs of “%(regimen)s” so its refractoriness can be derived.")
                % {"regimen": text},
            )
        if start and end and end < start:
            self.add_error(
                "end",
                _("The last dose cannot be before the start (%(start)s).") % {"start": f"{start:%m/%Y}"},
            )
        if start and progression and progression < start:
            self.add_error(
                "progression",
                _("Progression cannot be before the start (%(start)s).") % {"start": f"{start:%m/%Y}"},
            )
        if outcome == LineOutcome.ONGOING and end:
            self.add_error(
                "end", _("An ongoing line has no last dose yet: clear it or change how the line ended.")
            )
        if outcome and outcome != LineOutcome.ONGOING and not end and "end" not in self.errors:
            self.add_error("end", _("Enter the month of the last dose (or choose “ongoing”)."))
        if outcome == LineOutcome.PROGRESSION_LATER:
            if not progression:
                self.add_error("progression", _("Enter the month of progression."))
            elif end and progression < end:
                self.add_error("progression", _("A progression after the last dose cannot be before it."))
        if progression and outcome in {LineOutcome.TOXICITY, LineOutcome.COMPLETED, LineOutcome.ONGOING}:
            self.add_error(
                "outcome", _("A progression month is given: choose one of the progression outcomes.")
            )
        if data.get("asct"):
            asct_date = data.get("asct_date")
            if not asct_date:
                self.add_error("asct_date", _("Enter the month of the ASCT."))
            elif start and asct_date < start:
                self.add_error("asct_date", _("The ASCT cannot be before the start of the line."))
        elif data.get("asct_date"):
            self.add_error("asct", _("Tick ASCT, or clear its month."))
        maintenance = data.get("maintenance_drug_keys") or []
        if data.get("maintenance_start") and not maintenance:
            self.add_error("maintenance_drug_keys", _("Tick the maintenance drugs."))
        if data.get("maintenance_start") and start and data["maintenance_start"] < start:
            self.add_error("maintenance_start", _("Maintenance cannot start before the line."))
        if data.get("len_dose_at_progression_mg") is not None and "LENALIDOMIDE" not in maintenance:
            drug_keys = set(data.get("drug_keys") or [])
            if regimen:
                drug_keys |= {c.drug.key for c in regimen.components.select_related("drug")}
            if "LENALIDOMIDE" not in drug_keys:
                self.add_error("len_dose_at_progression_mg", _("Only for a line with lenalidomide."))
        self._check_order(data)
        return data

    def _check_order(self, data) -> None:
        number, start = data.get("number"), data.get("start")
        if not number:
            return
        others = [line for line in self.case.lines.all() if line.pk != self.instance.pk]
        numbers = {line.number for line in others}
        if number in numbers:
            self.add_error("number", _("Line %(number)s already exists for this case.") % {"number": number})
            return
        if number > max(numbers, default=0) + 1:
            self.add_error(
                "number",
                _("Line numbers follow on without gaps: the next line is %(next)s.")
                % {"next": max(numbers, default=0) + 1},
            )
            return
        if start:
            for line in others:
                if line.number < number and line.start > start:
                    self.add_error(
                        "number",
                        _(
                            "Line numbers out of order: line %(number)s started %(other)s, "
                            "after this line's start (%(start)s)."
                        )
                        % {"number": line.number, "other": f"{line.start:%m/%Y}", "start": f"{start:%m/%Y}"},
                    )
                    return
                if line.number > number and line.start < start:
                    self.add_error(
                        "number",
                        _(
                            "Line numbers out of order: line %(number)s started %(other)s, "
                            "before this line's start (%(start)s)."
                        )
                        % {"number": line.number, "other": f"{line.start:%m/%Y}", "start": f"{start:%m/%Y}"},
                    )
                    return

    def save(self, commit=True):
        line = super().save(commit=False)
        line.case = self.case
        line.regimen_text = (line.regimen_text or "").strip()
        if line.regimen_id:
            line.drug_keys, line.other_drug_classes = [], []
        if commit:
            line.save()
        return line


class OverrideForm(forms.Form):
    fact = forms.ChoiceField(
        label=_("Fact"), choices=lambda: [(k, words.title(k)) for k in derivation.OVERRIDABLE]
    )
    value = forms.CharField(max_length=40, help_text=_("e.g. refractory, exposed_sensitive, yes, no, 3."))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def clean(self):
        data = super().clean()
        if "fact" in data and "value" in data:
            try:
                data["parsed"] = derivation.parse_override(data["fact"], data["value"])
            except ValueError as exc:
                self.add_error("value", str(exc))
        return data


class ReviewDismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text=_("Why the board keeps the case as it is despite the algorithm change."),
    )


class MeetingForm(forms.ModelForm):
    date = forms.DateTimeField(
        label=_("Date"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    class Meta:
        model = Meeting
        fields = ["date", "title", "location", "notes"]
        labels = {"title": _("Title"), "location": _("Location"), "notes": _("Notes")}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class AttendeeForm(forms.ModelForm):
    class Meta:
        model = Attendee
        fields = ["name", "specialty"]
        labels = {"name": _("Name"), "specialty": _("Specialty")}
        widgets = {"name": forms.TextInput(attrs={"placeholder": _("as it should appear in the minutes")})}
        help_texts = {"name": ""}


class AgendaItemForm(forms.ModelForm):
    case = forms.CharField(
        label=_("Case code"), max_length=30, widget=forms.TextInput(attrs={"placeholder": _("MM-…")})
    )

    class Meta:
        model = AgendaItem
        fields = ["case", "question"]
        labels = {"question": _("Question")}
        widgets = {"question": forms.TextInput(attrs={"placeholder": _("what the board is asked")})}
        help_texts = {"question": ""}

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting = meeting

    def clean_case(self):
        code = self.cleaned_data["case"].strip().upper()
        case = Case.objects.filter(code=code).first()
        if case is None:
            raise ValidationError(_("No case %(code)s.") % {"code": code})
        if AgendaItem.objects.filter(meeting=self.meeting, case=case).exists():
            raise ValidationError(_("%(code)s is already on the agenda.") % {"code": code})
        return case


OTHER_OPTION = "OTHER"


class DecisionForm(forms.ModelForm):
    option = forms.ChoiceField(label=_("Decision"))
    other_label = forms.CharField(label=_("Other decision"), max_length=200, required=False,
                                  help_text=_("When the decision is not one of the options shown."))  # fmt: skip
    follow_up = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), required=False, label=_("Follow-up date")
    )

    class Meta:
        model = Decision
        fields = [
            "rationale", "dissent", "patient_preference", "follow_up", "status", "deviation_reason",
            "deviation_note",
        ]  # fmt: skip
        widgets = {
            "rationale": forms.Textarea(attrs={"rows": 3}),
            "dissent": forms.Textarea(attrs={"rows": 2}),
            "patient_preference": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "rationale": _("Rationale"),
            "dissent": _("Dissent"),
            "patient_preference": _("Patient's preference"),
            "status": _("Status"),
            "deviation_reason": _("Deviation reason"),
            "deviation_note": _("Deviation note"),
            "follow_up": _("Follow-up date"),
        }

    field_order = [
        "option",
        "other_label",
        "rationale",
        "dissent",
        "patient_preference",
        "follow_up",
        "status",
    ]

    def __init__(self, *args, options: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = [
            ("", _("— choose —")),
            *options,
            (OTHER_OPTION, _("Other (describe)")),
        ]

    def clean(self):
        data = super().clean()
        if data.get("option") == OTHER_OPTION and not (data.get("other_label") or "").strip():
            self.add_error("other_label", _("Describe the decision."))
        _check_deviation(self, data)
        return data


class DecisionStatusForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["status", "deviation_reason", "deviation_note", "follow_up"]
        widgets = {"follow_up": forms.DateInput(attrs={"type": "date"})}
        labels = {
            "rationale": _("Rationale"),
            "dissent": _("Dissent"),
            "patient_preference": _("Patient's preference"),
            "status": _("Status"),
            "deviation_reason": _("Deviation reason"),
            "deviation_note": _("Deviation note"),
            "follow_up": _("Follow-up date"),
        }

    def clean(self):
        data = super().clean()
        _check_deviation(self, data)
        return data


def _check_deviation(form: forms.Form, data) -> None:
    if data.get("status") == DecisionStatus.NOT_STARTED and not data.get("deviation_reason"):
        form.add_error("deviation_reason", _("Say why the decision was not carried out."))
    if data.get("status") != DecisionStatus.NOT_STARTED and data.get("deviation_reason"):
        form.add_error("deviation_reason", _("A deviation reason only goes with “not started”."))
    if data.get("deviation_reason") == DeviationReason.OTHER and not data.get("deviation_note"):
        form.add_error("deviation_note", _("Describe the other reason."))


# --- Follow-up of a decided treatment ------------------------------------------------------------------

DAY_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
MONTH_ONLY_FORMATS = ["%Y-%m", "%m/%Y"]


@dataclass(frozen=True)
class DayOrMonth:
    """A date known to the day or only to the month (then stored as the month's first day)."""

    day: date
    precision: str

    @property
    def label(self) -> str:
        return f"{self.day:%m/%Y}" if self.precision == DatePrecision.MONTH else f"{self.day:%d/%m/%Y}"

    def before(self, other: DayOrMonth) -> bool:
        """Strictly before `other`; a month-precision date compares by month only."""
        if DatePrecision.MONTH in (self.precision, other.precision):
            return (self.day.year, self.day.month) < (other.day.year, other.day.month)
        return self.day < other.day


class DayOrMonthField(forms.Field):
    """A day (2026-03-14 or 14/03/2026) or a month (2026-03 or 03/2026): a DayOrMonth."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text", _("A day (2026-03-14) or, if only the month is known, a month (2026-03).")
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {
            **super().widget_attrs(widget),
            "placeholder": _("YYYY-MM-DD or YYYY-MM"),
            "inputmode": "numeric",
        }

    def prepare_value(self, value):
        return value.label if isinstance(value, DayOrMonth) else value

    def to_python(self, value):
        if isinstance(value, DayOrMonth) or value in self.empty_values:
            return value or None
        text = str(value).strip()
        for formats, precision in (
            (DAY_FORMATS, DatePrecision.DAY),
            (MONTH_ONLY_FORMATS, DatePrecision.MONTH),
        ):
            for fmt in formats:
                try:
                    parsed = datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
                return DayOrMonth(
                    parsed.replace(day=1) if precision == DatePrecision.MONTH else parsed, precision
                )
        raise ValidationError(
            _("Enter a day as YYYY-MM-DD (e.g. 2026-03-14) or a month as YYYY-MM (e.g. 2026-03).")
        )


def day_or_month(day: date | None, precision: str) -> DayOrMonth | None:
    return DayOrMonth(day, precision) if day else None


class FollowUpStatus(models.TextChoices):
    PLANNED = DecisionStatus.PLANNED.value, _("not started yet")
    """Still planned."""
    STARTED = DecisionStatus.STARTED.value, _("started")
    """The decided treatment started."""
    NOT_STARTED = DecisionStatus.NOT_STARTED.value, _("not started (say why)")
    """It will not start."""


class FollowUpForm(FieldsetsMixin, forms.Form):
    """Start (or why not), progression, next treatment, death and last contact of a decided treatment."""

    status = forms.ChoiceField(label=_("Treatment"), choices=FollowUpStatus.choices, widget=forms.RadioSelect)
    start = DayOrMonthField(label=_("Treatment start"), required=False)
    not_started_reason = forms.ChoiceField(
        label=_("Why not started"), required=False, choices=[("", "—"), *DeviationReason.choices[1:]]
    )
    not_started_note = forms.CharField(label=_("Other reason"), max_length=300, required=False)
    progression = DayOrMonthField(label=_("Progression"), required=False)
    progression_basis = forms.ChoiceField(
        label=_("Progression established by"), required=False, choices=[("", "—"), *ProgressionBasis.choices]
    )
    next_treatment = DayOrMonthField(label=_("Start of the next treatment"), required=False)
    death = DayOrMonthField(label=_("Death"), required=False)
    last_contact = DayOrMonthField(
        label=_("Last contact"),
        required=False,
        help_text=_("The last day (or month) the patient was seen or heard of, e.g. 2026-03-14 or 2026-03."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the case page only, never exported. No names or dates of birth."),
    )

    FIELDSETS = [
        (_("Start"), ["status", "start", "not_started_reason", "not_started_note"]),
        (_("Progression and next treatment"), ["progression", "progression_basis", "next_treatment"]),
        (_("Death or last contact"), ["death", "last_contact", "notes"]),
    ]
    DATES = ("start", "progression", "next_treatment", "death", "last_contact")

    def __init__(self, *args, decision: Decision, outcome: Outcome | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision, self.outcome = decision, outcome
        if not self.is_bound:
            self.initial["status"] = decision.status
            self.initial["not_started_reason"] = decision.deviation_reason
            self.initial["not_started_note"] = decision.deviation_note
            if outcome is not None:
                for name in self.DATES:
                    self.initial[name] = day_or_month(
                        getattr(outcome, name), getattr(outcome, f"{name}_precision")
                    )
                self.initial["progression_basis"] = outcome.progression_basis
                self.initial["notes"] = outcome.notes
        self.fields["not_started_reason"].error_messages["invalid_choice"] = _(
            "Choose a reason from the list."
        )
        self.fields["status"].error_messages["invalid_choice"] = _("Choose whether the treatment started.")

    def clean(self):
        data = super().clean()
        status = data.get("status")
        start, progression = data.get("start"), data.get("progression")
        next_treatment, death, last_contact = (
            data.get("next_treatment"),
            data.get("death"),
            data.get("last_contact"),
        )
        today = DayOrMonth(date.today(), DatePrecision.DAY)
        for name in self.DATES:
            if data.get(name) and today.before(data[name]):
                self.add_error(name, _("This date is in the future."))
        decided = (
            DayOrMonth(self.decision.decided_on, DatePrecision.DAY) if self.decision.decided_on else None
        )
        if status == DecisionStatus.STARTED:
            if not start:
                self.add_error("start", _("Enter the day or month the treatment started."))
            elif decided and start.before(decided):
                self.add_error(
                    "start",
                    _("The treatment cannot start before the board's decision (%(day)s).")
                    % {"day": decided.label},
                )
        elif start:
            self.add_error("start", _("A start date goes with “started”: choose it, or clear the date."))
        if status == DecisionStatus.NOT_STARTED:
            if not data.get("not_started_reason"):
                self.add_error("not_started_reason", _("Say why the treatment was not started."))
            elif data["not_started_reason"] == DeviationReason.OTHER and not data.get("not_started_note"):
                self.add_error("not_started_note", _("Describe the other reason."))
        elif data.get("not_started_reason"):
            self.add_error("not_started_reason", _("A reason only goes with “not started”."))
        if status != DecisionStatus.STARTED:
            for name, what in (
                ("progression", _("a progression")),
                ("next_treatment", _("a next treatment")),
            ):
                if data.get(name):
                    self.add_error(
                        name, _("A treatment that has not started has no %(what)s.") % {"what": what}
                    )
        if progression and not data.get("progression_basis"):
            self.add_error("progression_basis", _("Say how the progression was established."))
        if data.get("progression_basis") and not progression:
            self.add_error(
                "progression", _("Enter the date of progression, or clear how it was established.")
            )
        if start:
            for name, value, message in (
                ("progression", progression, _("Progression cannot be before the start (%(day)s).")),
                (
                    "next_treatment",
                    next_treatment,
                    _("The next treatment cannot start before this one (%(day)s)."),
                ),
                ("death", death, _("Death cannot be before the start of the treatment (%(day)s).")),
                ("last_contact", last_contact, _("The last contact cannot be before the start (%(day)s).")),
            ):
                if value and value.before(start) and name not in self.errors:
                    self.add_error(name, message % {"day": start.label})
        if death and progression and death.before(progression) and "death" not in self.errors:
            self.add_error(
                "death", _("Death cannot be before the progression (%(day)s).") % {"day": progression.label}
            )
        if death and last_contact and death.before(last_contact):
            self.add_error(
                "last_contact",
                _("The last contact cannot be after the death (%(day)s).") % {"day": death.label},
            )
        return data

    def check_responses(self, responses: list[DayOrMonth]) -> None:
        """Response assessments need a started treatment and fall between its start and the death."""
        data = self.cleaned_data
        start, death = data.get("start"), data.get("death")
        if responses and data.get("status") != DecisionStatus.STARTED:
            self.add_error(None, _("Response assessments go with a treatment that started."))
            return
        for when in responses:
            if start and when.before(start):
                self.add_error(None, _("A response assessment (%(day)s) cannot be before the start (%(start)s).")
                               % {"day": when.label, "start": start.label})  # fmt: skip
            if death and death.before(when):
                self.add_error(None, _("A response assessment (%(day)s) cannot be after the death (%(death)s).")
                               % {"day": when.label, "death": death.label})  # fmt: skip

    def save(self, user) -> Outcome:
        data = self.cleaned_data
        decision = self.decision
        decision.status = data["status"]
        decision.deviation_reason = data.get("not_started_reason") or ""
        decision.deviation_note = (data.get("not_started_note") or "") if decision.deviation_reason else ""
        decision.save(update_fields=["status", "deviation_reason", "deviation_note"])
        outcome = self.outcome or Outcome(decision=decision)
        for name in self.DATES:
            value = data.get(name)
            setattr(outcome, name, value.day if value else None)
            setattr(outcome, f"{name}_precision", value.precision if value else DatePrecision.DAY)
        outcome.progression_basis = data.get("progression_basis") or ""
        outcome.notes = data.get("notes") or ""
        outcome.updated_by = user
        outcome.save()
        return outcome


class ResponseAssessmentForm(forms.ModelForm):
    when = DayOrMonthField(label=_("Date of the assessment"))
    response = forms.ChoiceField(
        label=_("IMWG response"),
        choices=[("", "—"), *Response.choices],
        error_messages={
            "invalid_choice": _("The response must be an IMWG category: sCR, CR, VGPR, PR, MR, SD or PD.")
        },
    )

    class Meta:
        model = ResponseAssessment
        fields = ["response"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["when"] = DayOrMonth(self.instance.date, self.instance.precision)

    def clean(self):
        data = super().clean()
        when = data.get("when")
        if when and DayOrMonth(date.today(), DatePrecision.DAY).before(when):
            self.add_error("when", _("This date is in the future."))
        return data

    def save(self, commit=True):
        assessment = super().save(commit=False)
        assessment.date = self.cleaned_data["when"].day
        assessment.precision = self.cleaned_data["when"].precision
        if commit:
            assessment.save()
        return assessment


ResponseFormSet = forms.inlineformset_factory(
    Outcome, ResponseAssessment, form=ResponseAssessmentForm, extra=2, can_delete=True, max_num=30
)
