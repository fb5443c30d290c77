"""Forms for cases, therapy lines, overrides, meetings and decisions: every check with a clear message."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cases import derivation as F
from cases.models import (
    AgendaItem,
    Attendee,
    Case,
    Decision,
    DecisionStatus,
    DeviationReason,
    LineOutcome,
    Meeting,
    Response,
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
        kwargs.setdefault("help_text", "Month and year.")
        super().__init__(**kwargs)
        self.error_messages["invalid"] = "Enter a month as YYYY-MM, e.g. 2024-03."

    def to_python(self, value):
        result = super().to_python(value)
        return result.replace(day=1) if isinstance(result, date) else result


def _drug_choices():
    return [(d.key, d.name) for d in Drug.objects.order_by("name").only("key", "name")]


# Classes an editor may tick for a drug the knowledge base does not hold (e.g. melphalan).
OTHER_CLASS_CHOICES = [(c.value, c.label) for c in DrugClass if c.value in F.EXPOSURE_CLASS]


class FieldsetsMixin:
    """`form.fieldsets`: (legend, bound fields) pairs for the template to lay out."""

    FIELDSETS: list[tuple[str, list[str]]] = []

    @property
    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]


class CaseForm(FieldsetsMixin, forms.ModelForm):
    diagnosis = MonthField(label="Diagnosis (month)")
    current_relapse = MonthField(label="Current relapse (month)", required=False,
                                 help_text="The relapse the board discusses; empty: this month.")  # fmt: skip
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    FIELDSETS = [
        ("Patient", ["code", "age_at_diagnosis", "sex", "diagnosis", "current_relapse"]),
        ("Staging and FISH", ["iss", "r_iss", "del_17p", "t_4_14", "t_14_16", "gain_1q", "t_11_14"]),
        ("Fitness and comorbidity", ["frailty", "ecog", "cardiovascular_risk", "peripheral_neuropathy_grade",
                                     "crcl_ml_min", "ocular_surface_disease"]),
        ("CAR-T and preferences", ["car_t_eligible", "prefers_fewer_hospital_visits", "car_t_notes", "notes"]),
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

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean(self):
        data = super().clean()
        diagnosis, relapse = data.get("diagnosis"), data.get("current_relapse")
        if diagnosis and diagnosis > date.today():
            self.add_error("diagnosis", "The diagnosis cannot be in the future.")
        if diagnosis and relapse and relapse < diagnosis:
            self.add_error("current_relapse", "The relapse cannot be before the diagnosis.")
        return data


class TherapyLineForm(FieldsetsMixin, forms.ModelForm):
    regimen = forms.ModelChoiceField(
        queryset=Regimen.objects.order_by("abbreviation"),
        to_field_name="key",
        required=False,
        label="Regimen (knowledge base)",
        empty_label="— other (name it below) —",
        error_messages={
            "invalid_choice": "Unknown regimen: it is not in the knowledge base. Choose one from the list, "
            "or name it under “other regimen” and tick its drugs."
        },
    )
    drug_keys = forms.MultipleChoiceField(
        label="Drugs of the other regimen",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick every drug; they decide the derived refractoriness.",
    )
    other_drug_classes = forms.MultipleChoiceField(
        label="Other drug classes (drugs not in the knowledge base)",
        required=False,
        choices=OTHER_CLASS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    maintenance_drug_keys = forms.MultipleChoiceField(
        label="Maintenance drugs", required=False, widget=forms.CheckboxSelectMultiple
    )
    start = MonthField(label="Start")
    end = MonthField(label="Last dose", required=False, help_text="Empty while the line is ongoing.")
    progression = MonthField(label="Progression", required=False)
    asct_date = MonthField(label="ASCT month", required=False)
    maintenance_start = MonthField(label="Maintenance start", required=False)
    best_response = forms.ChoiceField(
        label="Best response (IMWG)",
        required=False,
        choices=[("", "not recorded"), *Response.choices],
        error_messages={
            "invalid_choice": "Best response must be an IMWG category: sCR, CR, VGPR, PR, MR, SD or PD."
        },
    )

    FIELDSETS = [
        ("Regimen", ["number", "regimen", "regimen_text", "drug_keys", "other_drug_classes"]),
        ("Dates", ["start", "end"]),
        ("Transplant and maintenance", ["asct", "asct_date", "maintenance_start", "len_dose_at_progression_mg",
                                        "maintenance_drug_keys"]),
        ("Response and how the line ended", ["best_response", "outcome", "progression", "notes"]),
    ]  # fmt: skip

    class Meta:
        model = TherapyLine
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
        self.fields["outcome"].error_messages["invalid_choice"] = "Choose how the line ended from the list."
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
            self.add_error("regimen", "Choose a regimen, or name another one under “other regimen”.")
        if regimen and text:
            self.add_error("regimen_text", "Either a knowledge-base regimen or another regimen, not both.")
        if not regimen and text and not data.get("drug_keys") and not data.get("other_drug_classes"):
            self.add_error("drug_keys", f"Tick the drugs of “{text}” so its refractoriness can be derived.")
        if start and end and end < start:
            self.add_error("end", f"The last dose cannot be before the start ({start:%m/%Y}).")
        if start and progression and progression < start:
            self.add_error("progression", f"Progression cannot be before the start ({start:%m/%Y}).")
        if outcome == LineOutcome.ONGOING and end:
            self.add_error(
                "end", "An ongoing line has no last dose yet: clear it or change how the line ended."
            )
        if outcome and outcome != LineOutcome.ONGOING and not end and "end" not in self.errors:
            self.add_error("end", "Enter the month of the last dose (or choose “ongoing”).")
        if outcome == LineOutcome.PROGRESSION_LATER:
            if not progression:
                self.add_error("progression", "Enter the month of progression.")
            elif end and progression < end:
                self.add_error("progression", "A progression after the last dose cannot be before it.")
        if progression and outcome in {LineOutcome.TOXICITY, LineOutcome.COMPLETED, LineOutcome.ONGOING}:
            self.add_error("outcome", "A progression month is given: choose one of the progression outcomes.")
        if data.get("asct"):
            asct_date = data.get("asct_date")
            if not asct_date:
                self.add_error("asct_date", "Enter the month of the ASCT.")
            elif start and asct_date < start:
                self.add_error("asct_date", "The ASCT cannot be before the start of the line.")
        elif data.get("asct_date"):
            self.add_error("asct", "Tick ASCT, or clear its month.")
        maintenance = data.get("maintenance_drug_keys") or []
        if data.get("maintenance_start") and not maintenance:
            self.add_error("maintenance_drug_keys", "Tick the maintenance drugs.")
        if data.get("maintenance_start") and start and data["maintenance_start"] < start:
            self.add_error("maintenance_start", "Maintenance cannot start before the line.")
        if data.get("len_dose_at_progression_mg") is not None and "LENALIDOMIDE" not in maintenance:
            drug_keys = set(data.get("drug_keys") or [])
            if regimen:
                drug_keys |= {c.drug.key for c in regimen.components.select_related("drug")}
            if "LENALIDOMIDE" not in drug_keys:
                self.add_error("len_dose_at_progression_mg", "Only for a line with lenalidomide.")
        self._check_order(data)
        return data

    def _check_order(self, data) -> None:
        number, start = data.get("number"), data.get("start")
        if not number:
            return
        others = [line for line in self.case.lines.all() if line.pk != self.instance.pk]
        numbers = {line.number for line in others}
        if number in numbers:
            self.add_error("number", f"Line {number} already exists for this case.")
            return
        if number > max(numbers, default=0) + 1:
            self.add_error(
                "number",
                f"Line numbers follow on without gaps: the next line is {max(numbers, default=0) + 1}.",
            )
            return
        if start:
            for line in others:
                if line.number < number and line.start > start:
                    self.add_error(
                        "number",
                        f"Line numbers out of order: line {line.number} started {line.start:%m/%Y}, "
                        f"after this line's start ({start:%m/%Y}).",
                    )
                    return
                if line.number > number and line.start < start:
                    self.add_error(
                        "number",
                        f"Line numbers out of order: line {line.number} started {line.start:%m/%Y}, "
                        f"before this line's start ({start:%m/%Y}).",
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
    fact = forms.ChoiceField(choices=[(k, F.FACT_LABELS.get(k, k)) for k in F.OVERRIDABLE])
    value = forms.CharField(max_length=40, help_text="e.g. refractory, exposed_sensitive, yes, no, 3.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def clean(self):
        data = super().clean()
        if "fact" in data and "value" in data:
            try:
                data["parsed"] = F.parse_override(data["fact"], data["value"])
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
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    class Meta:
        model = Meeting
        fields = ["date", "title", "location", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class AttendeeForm(forms.ModelForm):
    class Meta:
        model = Attendee
        fields = ["name", "specialty"]
        widgets = {"name": forms.TextInput(attrs={"placeholder": "as it should appear in the minutes"})}
        help_texts = {"name": ""}


class AgendaItemForm(forms.ModelForm):
    case = forms.CharField(
        label="Case code", max_length=30, widget=forms.TextInput(attrs={"placeholder": "MM-…"})
    )

    class Meta:
        model = AgendaItem
        fields = ["case", "question"]
        widgets = {"question": forms.TextInput(attrs={"placeholder": "what the board is asked"})}
        help_texts = {"question": ""}

    def __init__(self, *args, meeting: Meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting = meeting

    def clean_case(self):
        code = self.cleaned_data["case"].strip().upper()
        case = Case.objects.filter(code=code).first()
        if case is None:
            raise ValidationError(f"No case {code}.")
        if AgendaItem.objects.filter(meeting=self.meeting, case=case).exists():
            raise ValidationError(f"{code} is already on the agenda.")
        return case


OTHER_OPTION = "OTHER"


class DecisionForm(forms.ModelForm):
    option = forms.ChoiceField(label="Decision")
    other_label = forms.CharField(label="Other decision", max_length=200, required=False,
                                  help_text="When the decision is not one of the options shown.")  # fmt: skip
    follow_up = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), required=False, label="Follow-up date"
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
        self.fields["option"].choices = [("", "— choose —"), *options, (OTHER_OPTION, "Other (describe)")]

    def clean(self):
        data = super().clean()
        if data.get("option") == OTHER_OPTION and not (data.get("other_label") or "").strip():
            self.add_error("other_label", "Describe the decision.")
        _check_deviation(self, data)
        return data


class DecisionStatusForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["status", "deviation_reason", "deviation_note", "follow_up"]
        widgets = {"follow_up": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        data = super().clean()
        _check_deviation(self, data)
        return data


def _check_deviation(form: forms.Form, data) -> None:
    if data.get("status") == DecisionStatus.NOT_STARTED and not data.get("deviation_reason"):
        form.add_error("deviation_reason", "Say why the decision was not carried out.")
    if data.get("status") != DecisionStatus.NOT_STARTED and data.get("deviation_reason"):
        form.add_error("deviation_reason", "A deviation reason only goes with “not started”.")
    if data.get("deviation_reason") == DeviationReason.OTHER and not data.get("deviation_note"):
        form.add_error("deviation_note", "Describe the other reason.")
