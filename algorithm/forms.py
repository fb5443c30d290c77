"""The forms of the /algorithm/ wizard: step 1 (history) and step 2 (patient factors).

Every field is optional and has an explicit "Not known" choice. The forms only
render and carry values: the one validator is the engine's `CaseFacts.from_dict`,
whose `FactsError(field, message)` the view puts back on the field. Titles and
value words are the engine's fact specs (the one vocabulary); help texts are the
input definitions of the published algorithm version (`document["inputs"]`), so
curators edit them in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from algorithm import words
from algorithm.engine.facts import EXPOSURE_CLASSES, FIELD_SPECS, NOT_KNOWN

UNKNOWN_LABEL = _("Not known")

HISTORY_FIELDS = (
    "len_status",
    "anti_cd38_status",
    "anti_cd38_agent_last",
    "bortezomib_status",
    "carfilzomib_status",
    "pomalidomide_status",
    "prior_lines",
    "prior_exposure",
    "bcma_exposed",
    "gprc5d_exposed",
    "months_from_start_of_frontline_to_progression",
    "months_since_end_of_last_therapy",
    "prior_asct_remission_months",
)
PATIENT_FIELDS = (
    "frailty",
    "ecog",
    "cardiovascular_risk",
    "peripheral_neuropathy_grade",
    "crcl_ml_min",
    "on_dialysis",
    "t_11_14",
    "high_risk_cytogenetics",
    "car_t_eligible",
    "relapse_kinetics",
    "ocular_surface_disease",
    "prefers_fewer_hospital_visits",
    "country",
)
STEP_FIELDS = {1: HISTORY_FIELDS, 2: PATIENT_FIELDS}

# Short help that leads; the algorithm file's definition follows it.
LEAD_HELP = {
    "len_status": _(
        "IMWG refractory: progression on lenalidomide or within 60 days of the last dose. "
        "Progression on low-dose (10 mg) maintenance counts as refractory."
    ),
    "anti_cd38_status": _(
        "Daratumumab (IV or SC) or isatuximab; refractory as for lenalidomide. "
        "Progression on D-Rd makes the disease refractory to both (double refractory)."
    ),
    "bortezomib_status": _(
        "Refractory: progression on it or within 60 days of the last dose; "
        "intolerant: stopped for toxicity (e.g. neuropathy)."
    ),
    "carfilzomib_status": _(
        "Refractory: progression on it or within 60 days of the last dose; intolerant: stopped for toxicity."
    ),
    "pomalidomide_status": _("Refractory: progression on it or within 60 days of the last dose."),
    "prior_exposure": _(
        "Tick every class given in any earlier line; leave all unticked if not known. "
        "The drug statuses above are counted as well."
    ),
    "frailty": _(
        "IMWG frailty score (age, Charlson comorbidity index, ADL, IADL): 0 fit, "
        "1 intermediate, 2 or more frail."
    ),
}


def _choices(name: str) -> list[tuple[str, str]]:
    spec = FIELD_SPECS[name]
    if spec.kind == "bool":
        return [(NOT_KNOWN, UNKNOWN_LABEL), ("true", gettext("Yes")), ("false", gettext("No"))]
    return [(NOT_KNOWN, UNKNOWN_LABEL)] + [(str(c), words.say(name, c)) for c in spec.choices]


class _LooseField(forms.Field):
    """Carries the submitted value as is; CaseFacts validates it (one validator, one message)."""

    def to_python(self, value: Any) -> Any:
        return value


def _field(name: str, help_text: str, definition: str) -> forms.Field:
    made = _make_field(name, help_text)
    made.definition = definition  # type: ignore[attr-defined]  # shown under "Definition"
    return made


def _make_field(name: str, help_text: str) -> forms.Field:
    spec = FIELD_SPECS[name]
    label = words.title(name)
    if spec.kind == "classes":
        choices = [(c, words.say(name, c)) for c in EXPOSURE_CLASSES]
        return _LooseField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.CheckboxSelectMultiple(choices=choices, attrs={"class": "classes"}),
        )
    if spec.kind in ("int", "number"):
        attrs = {"min": f"{spec.minimum:g}", "max": f"{spec.maximum:g}", "inputmode": "decimal"}
        attrs["step"] = "1" if spec.kind == "int" else "any"
        return forms.CharField(
            label=label,
            required=False,
            strip=True,
            help_text=(help_text + " " + gettext("Leave empty if not known.")).strip(),
            widget=forms.NumberInput(attrs=attrs),
        )
    widget: forms.Widget
    if spec.kind == "bool":
        widget = forms.RadioSelect(choices=_choices(name), attrs={"class": "inline-choices"})
    else:
        widget = forms.Select(choices=_choices(name))
    return forms.CharField(label=label, required=False, help_text=help_text, widget=widget)


def definition_texts(definitions: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The algorithm file's definition of each input, with the seed review's rule where it has one."""
    out = {}
    for name in FIELD_SPECS:
        item = definitions.get(name) or {}
        parts = [str(item.get("definition") or ""), str(item.get("seed_rule") or "")]
        out[name] = " ".join(p for p in parts if p)
    return out


class StepForm(forms.Form):
    """One wizard step; bound to the query string, values shown as given."""

    step = 1
    field_names: tuple[str, ...] = ()

    def __init__(self, data: QueryDict, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        bound = data.copy()
        for name in self.field_names:
            # A field never answered shows its explicit "Not known" choice.
            if FIELD_SPECS[name].kind in ("choice", "bool") and not bound.get(name):
                bound[name] = NOT_KNOWN
        super().__init__(bound, auto_id="id_%s", label_suffix="")
        texts = definition_texts(definitions)
        for name in self.field_names:
            self.fields[name] = _field(name, str(LEAD_HELP.get(name, "")), texts[name])


class HistoryForm(StepForm):
    step = 1
    field_names = HISTORY_FIELDS


class PatientForm(StepForm):
    step = 2
    field_names = PATIENT_FIELDS


FORMS: dict[int, type[StepForm]] = {1: HistoryForm, 2: PatientForm}


def step_of(field: str) -> int:
    """The step whose form holds this fact (facts on no form, e.g. derived ones, belong to step 1)."""
    return 2 if field in PATIENT_FIELDS else 1


def given_facts(params: QueryDict) -> dict[str, Any]:
    """The facts the query string gives, as CaseFacts.from_dict reads them; "not known" left out."""
    facts: dict[str, Any] = {}
    for name, spec in FIELD_SPECS.items():
        if spec.kind == "classes":
            values = [v for item in params.getlist(name) for v in item.split(",") if v.strip()]
            if values:
                facts[name] = [v.strip() for v in values]
            continue
        value = params.get(name)
        if value is None:
            continue
        value = value.strip()
        if value and value.lower() != NOT_KNOWN:
            facts[name] = value
    return facts
