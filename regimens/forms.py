"""Admin forms for the knowledge base.

Curators edit trials, results, regimens and approvals through Django admin.
These forms check the domain rules (a CI contains its value, a hazard ratio
names its comparator arm, ...) in `clean()` and attach each message to the
field a curator has to change, in words a curator understands. The database
check constraints stay as the last line of defence; because a field with an
error is excluded from model validation, a curator sees the message here and
never the name of a constraint.
"""

import json
import re

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Max
from django.forms.models import BaseInlineFormSet
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from regimens.models import Action, Approval, Caution, Drug, Endpoint, Regimen, Result, Trial, TrialArm, Unit

MEDIAN_ENDPOINTS = frozenset({Endpoint.PFS_MEDIAN, Endpoint.OS_MEDIAN, Endpoint.DOR_MEDIAN})
HAZARD_RATIO_ENDPOINTS = frozenset({Endpoint.PFS_HR, Endpoint.OS_HR})
# The unit each endpoint is reported in (as in the shipped evidence files).
UNIT_OF_ENDPOINT: dict[str, Unit] = {
    **dict.fromkeys(MEDIAN_ENDPOINTS, Unit.MONTHS),
    **dict.fromkeys(HAZARD_RATIO_ENDPOINTS, Unit.RATIO),
    **dict.fromkeys(
        (Endpoint.ORR, Endpoint.CR_OR_BETTER, Endpoint.VGPR_OR_BETTER, Endpoint.MRD_NEG, Endpoint.PFS_RATE),
        Unit.PERCENT,
    ),
}

KEY_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
NCT_PATTERN = re.compile(r"NCT\d{8}")
RESULT_FIELDS = [
    "trial", "arm", "vs", "endpoint", "population", "value", "not_reached", "ci_low", "ci_high", "ci_level",
    "unit", "p", "analysis", "source", "quote", "order",
]  # fmt: skip
FIRST_YEAR, LAST_YEAR = 1990, 2100  # as the Approval check constraint


class KnownLabelAutocompleteSelect(AutocompleteSelect):
    """An admin autocomplete that renders the current choice without a query.

    Django's autocomplete looks up the label of the selected object once per
    widget, which makes a tabular inline cost one query per row. The form sets
    `known_labels` from the related object already loaded on its instance
    (`select_related`); any other value falls back to Django's lookup.
    """

    known_labels: dict[str, str] | None = None

    def optgroups(self, name, value, attr=None):
        labels = self.known_labels or {}
        selected = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if not selected or any(v not in labels for v in selected):
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        for pk in selected[:1]:
            options.append(self.create_option(name, pk, labels[pk], set(selected), len(options)))
        return [(None, options, 0)]


class KnowledgeBaseForm(forms.ModelForm):
    """Base of every admin form here: autocompletes reuse already-loaded objects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = {field.name: field for field in self._meta.model._meta.concrete_fields}
        for name, form_field in self.fields.items():
            widget = getattr(form_field.widget, "widget", form_field.widget)
            model_field = model_fields.get(name)
            if (
                isinstance(widget, KnownLabelAutocompleteSelect)
                and model_field is not None
                and model_field.is_relation
                and model_field.is_cached(self.instance)
            ):
                related = model_field.get_cached_value(self.instance)
                if related is not None:
                    widget.known_labels = {str(related.pk): form_field.label_from_instance(related)}

    def _raw(self, name: str, number: float) -> str:
        """The number as the curator typed it ("12.0"), else in its shortest form."""
        if self.is_bound:
            typed = str(self.data.get(self.add_prefix(name), "")).strip()
            if typed:
                return typed
        return f"{number:g}"

    def _usable(self, name: str) -> bool:
        """True when the field passed its own validation (so cleaned_data holds its value)."""
        return name in self.cleaned_data and name not in self.errors


def _check_key(key: str, example: str) -> str:
    key = key.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise forms.ValidationError(
            _(
                "Write the key in capitals, digits, “-” and “_” only, e.g. %(example)s; other files and links refer to it."
            )
            % {"example": example}
        )
    return key


# ---------------------------------------------------------------------------
# Trials and results


class TrialAdminForm(KnowledgeBaseForm):
    PERCENT_FIELDS = ("len_refractory_pct", "anti_cd38_refractory_pct", "triple_class_refractory_pct")

    class Meta:
        model = Trial
        fields = [
            "key", "name", "nct", "phase", "design", "population", "prior_lines_min", "prior_lines_max",
            "len_refractory_pct", "anti_cd38_refractory_pct", "triple_class_refractory_pct", "notes", "sources",
        ]  # fmt: skip

    def clean_key(self) -> str:
        return _check_key(self.cleaned_data["key"], "KARMMA-3")

    def clean_nct(self) -> str:
        nct = self.cleaned_data["nct"].strip().upper()
        if nct and not NCT_PATTERN.fullmatch(nct):
            raise forms.ValidationError(
                _(
                    "Write the ClinicalTrials.gov identifier as NCT and 8 digits, e.g. NCT03651128 (or leave it empty)."
                )
            )
        return nct

    def clean(self):
        cleaned = super().clean()
        for name in self.PERCENT_FIELDS:
            value = cleaned.get(name)
            if self._usable(name) and value is not None and not 0 <= value <= 100:
                self.add_error(
                    name,
                    _("A percentage of patients is between 0 and 100, not %(value)s.")
                    % {"value": self._raw(name, value)},
                )
        low, high = cleaned.get("prior_lines_min"), cleaned.get("prior_lines_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "prior_lines_max",
                _(
                    "The maximum number of prior lines (%(high)s) is below the minimum (%(low)s). "
                    "Leave the maximum empty if there was no upper limit."
                )
                % {"high": high, "low": low},
            )
        return cleaned


def arm_choice_label(arm: TrialArm) -> str:
    """An arm within its trial, short: its key, and its regimen (or label) when that adds something.

    'Kd70-QW · Kd', 'SOC · Standard care: phy…', but 'DPd' for the arm D-Pd of regimen DPd.
    """
    short = arm.short_label

    def bare(text: str) -> str:
        return text.replace("-", "").replace(" ", "").lower()

    return arm.key if bare(short) == bare(arm.key) else f"{arm.key} · {Truncator(short).chars(20)}"


class ResultAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Result
        fields = RESULT_FIELDS
        widgets = {"analysis": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        cleaned = super().clean()
        self._clean_arms(cleaned)
        self._clean_value(cleaned)
        self._clean_interval(cleaned)
        return cleaned

    def _trial(self, cleaned) -> Trial | None:
        # On the result's own page `trial` is a field; in the inline under a
        # trial it is the parent (an InlineForeignKeyField puts it in cleaned_data).
        trial = cleaned.get("trial")
        return trial if isinstance(trial, Trial) else None

    def _clean_arms(self, cleaned) -> None:
        trial = self._trial(cleaned)
        arm, vs = cleaned.get("arm"), cleaned.get("vs")
        endpoint = cleaned.get("endpoint")
        if trial is not None and trial.pk is not None:
            if arm is not None and arm.trial_id != trial.pk:
                self.add_error(
                    "arm",
                    _("The arm “%(arm)s” belongs to %(other)s, not to %(trial)s: choose an arm of %(trial)s.")
                    % {"arm": arm.label, "other": arm.trial, "trial": trial},
                )
            if vs is not None and vs.trial_id != trial.pk:
                self.add_error(
                    "vs",
                    _("The comparator arm must be another arm of %(trial)s; “%(arm)s” belongs to %(other)s.")
                    % {"trial": trial, "arm": vs.label, "other": vs.trial},
                )
        if vs is not None and arm is not None and vs.pk == arm.pk and "vs" not in self.errors:
            self.add_error("vs", _("The comparator must be another arm of the trial, not the arm itself."))
        if endpoint in HAZARD_RATIO_ENDPOINTS and vs is None and self._usable("vs"):
            self.add_error(
                "vs",
                _(
                    "A hazard ratio compares two arms: choose the comparator arm "
                    "(the arm it is measured against, e.g. the control arm)."
                ),
            )

    def _clean_value(self, cleaned) -> None:
        endpoint = cleaned.get("endpoint")
        if endpoint is None or not self._usable("value"):
            return
        value, not_reached, unit = cleaned.get("value"), cleaned.get("not_reached"), cleaned.get("unit")
        label = Endpoint(endpoint).label
        if not_reached and endpoint not in MEDIAN_ENDPOINTS:
            self.add_error(
                "not_reached",
                _("Only a median can be “not reached”; %(endpoint)s needs a value. Untick “not reached”.")
                % {"endpoint": label},
            )
        elif not_reached and value is not None:
            self.add_error(
                "value", _("Leave the value empty when the median was not reached, or untick “not reached”.")
            )
        elif not not_reached and value is None:
            self.add_error(
                "value",
                _("Enter the value, or tick “not reached” if the median was not reached.")
                if endpoint in MEDIAN_ENDPOINTS
                else _("Enter the value."),
            )

        expected = UNIT_OF_ENDPOINT.get(endpoint)
        if expected is not None and self._usable("unit") and unit != expected:
            self.add_error(
                "unit",
                _("The unit of %(endpoint)s is “%(unit)s”: choose “%(unit)s”.")
                % {"endpoint": label, "unit": expected.label},
            )

        if value is None or "value" in self.errors:
            return
        shown = self._raw("value", value)
        unit = expected if expected is not None else unit
        if unit == Unit.PERCENT and not 0 <= value <= 100:
            self.add_error("value", _("A percentage is between 0 and 100, not %(value)s.") % {"value": shown})
        elif endpoint in HAZARD_RATIO_ENDPOINTS and value <= 0:
            self.add_error("value", _("A hazard ratio is greater than 0, not %(value)s.") % {"value": shown})
        elif unit == Unit.MONTHS and value < 0:
            self.add_error("value", _("A duration cannot be negative (%(value)s months).") % {"value": shown})

    def _clean_interval(self, cleaned) -> None:
        level = cleaned.get("ci_level")
        if self._usable("ci_level") and level is not None and not 0 < level < 1:
            hint = (
                " "
                + _("(%(fraction)s for a %(level)s%% CI)")
                % {"fraction": f"{level / 100:g}", "level": f"{level:g}"}
                if 1 < level < 100
                else ""
            )
            self.add_error(
                "ci_level",
                _("Write the CI level as a fraction between 0 and 1, e.g. 0.95%(hint)s.") % {"hint": hint},
            )
            level = None
        low = cleaned.get("ci_low") if self._usable("ci_low") else None
        high = cleaned.get("ci_high") if self._usable("ci_high") else None
        endpoint = cleaned.get("endpoint")
        percent = UNIT_OF_ENDPOINT.get(endpoint, cleaned.get("unit")) == Unit.PERCENT
        for name, bound in (("ci_low", low), ("ci_high", high)):
            if bound is not None and percent and not 0 <= bound <= 100:
                self.add_error(
                    name,
                    _("A percentage is between 0 and 100, not %(value)s.")
                    % {"value": self._raw(name, bound)},
                )
        if "ci_low" in self.errors or "ci_high" in self.errors:
            return
        if low is not None and high is not None and low > high:
            self.add_error(
                "ci_high",
                _("The upper bound %(high)s is below the lower bound %(low)s.")
                % {"high": self._raw("ci_high", high), "low": self._raw("ci_low", low)},
            )
        value = cleaned.get("value") if self._usable("value") else None
        if value is None:
            return
        low_is_wrong = low is not None and low > value
        high_is_wrong = high is not None and high < value and "ci_high" not in self.errors
        if low_is_wrong or high_is_wrong:
            percent_level = f"{round((level or 0.95) * 100, 1):g}%"
            low_shown = "NE" if low is None else self._raw("ci_low", low)
            high_shown = "NE" if high is None else self._raw("ci_high", high)
            message = _("The %(level)s CI %(low)s–%(high)s does not contain the value %(value)s.") % {
                "level": percent_level,
                "low": low_shown,
                "high": high_shown,
                "value": self._raw("value", value),
            }
            self.add_error("ci_low" if low_is_wrong else "ci_high", message)


class ResultInlineForm(ResultAdminForm):
    """A result as one row under its trial: narrow inputs so the row fits the page."""

    class Meta:
        model = Result
        fields = RESULT_FIELDS
        widgets = {
            "population": forms.TextInput(attrs={"size": 8}),
            "value": forms.TextInput(attrs={"size": 5, "inputmode": "decimal"}),
            "ci_low": forms.TextInput(attrs={"size": 5, "inputmode": "decimal"}),
            "ci_high": forms.TextInput(attrs={"size": 5, "inputmode": "decimal"}),
            "p": forms.TextInput(attrs={"size": 6}),
            "analysis": forms.TextInput(attrs={"size": 14}),
            "quote": forms.Textarea(attrs={"rows": 2, "cols": 20}),
        }


class ParentInlineFormSet(BaseInlineFormSet):
    """Inline rows know their parent object, so showing a row costs no query for it."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if form.instance.pk is not None and self.instance.pk is not None:
            setattr(form.instance, self.fk.name, self.instance)


class ResultInlineFormSet(ParentInlineFormSet):
    """Results under a trial: arm and comparator are chosen among this trial's arms.

    The arms are read once for all rows (a plain select per row would query
    them again for every row).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.arm_queryset = TrialArm.objects.none()
            arms = []
        else:
            self.arm_queryset = TrialArm.objects.filter(trial=self.instance)
            arms = list(self.arm_queryset.select_related("regimen").order_by("order", "pk"))
        self.arm_choices = [("", "---------"), *((arm.pk, arm_choice_label(arm)) for arm in arms)]

    def save_new(self, form, commit=True):
        # The inline has no order column: a new result goes after the trial's others.
        last = self.instance.results.aggregate(last=Max("order"))["last"]
        form.instance.order = 0 if last is None else last + 1
        return super().save_new(form, commit)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for name in ("arm", "vs"):
            field = form.fields[name]
            field.queryset = self.arm_queryset
            field.choices = self.arm_choices
            # Arms are added in the arms table above, not from a result row.
            for attribute in (
                "can_add_related",
                "can_change_related",
                "can_delete_related",
                "can_view_related",
            ):
                setattr(field.widget, attribute, False)


# ---------------------------------------------------------------------------
# Regimens, approvals and drugs


class RegimenAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Regimen
        fields = [
            "key",
            "abbreviation",
            "name",
            "aliases",
            "schedule",
            "schedule_source",
            "key_trials",
            "notes",
        ]
        widgets = {"aliases": forms.Textarea(attrs={"rows": 2, "cols": 60})}
        error_messages = {
            "aliases": {
                "invalid": 'Write the aliases as a list in square brackets, e.g. ["Isa-Kd", "IsaKD"].'
            }
        }

    def clean_key(self) -> str:
        return _check_key(self.cleaned_data["key"], "ISA-KD")

    def clean_aliases(self) -> list[str]:
        aliases = self.cleaned_data.get("aliases")
        if aliases is None:
            return []
        if not isinstance(aliases, list):
            raise forms.ValidationError(
                'Write the aliases as a list in square brackets, e.g. ["Isa-Kd", "IsaKD"] (or [] for none).'
            )
        wrong = [alias for alias in aliases if not isinstance(alias, str) or not alias.strip()]
        if wrong:
            raise forms.ValidationError(
                'Each alias is a spelling in double quotes, e.g. ["Isa-Kd", "IsaKD"]; '
                f"{', '.join(_json_text(alias) for alias in wrong)} is not."
            )
        cleaned = [alias.strip() for alias in aliases]
        return list(dict.fromkeys(cleaned))  # drop repeats, keep order


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class ApprovalAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Approval
        fields = ["regimen", "agency", "year", "date", "indication", "status", "source", "quote"]

    def clean_year(self) -> int | None:
        year = self.cleaned_data["year"]
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            raise forms.ValidationError(
                _(
                    "Enter the year of the decision, between %(first)s and %(last)s "
                    "(or leave it empty if no source gives it)."
                )
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return year

    def clean(self):
        cleaned = super().clean()
        year, date = cleaned.get("year"), cleaned.get("date")
        if date is not None and self._usable("year"):
            if year is None:
                cleaned["year"] = date.year
            elif date.year != year:
                self.add_error(
                    "date",
                    _("The date %(date)s is not in the year %(year)s.")
                    % {"date": f"{date:%d %b %Y}", "year": year},
                )
        return cleaned


class CautionAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Caution
        fields = ["drug", "key", "description", "source", "quote", "order"]
        widgets = {"quote": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("quote") and self._usable("source") and cleaned.get("source") is None:
            self.add_error(
                "source", _("A quote is read from a source: choose the source the quote comes from.")
            )
        return cleaned


class DrugAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Drug
        fields = ["key", "name", "drug_class", "route", "notes", "sources"]

    def clean_key(self) -> str:
        return _check_key(self.cleaned_data["key"], "CARFILZOMIB")


class ActionAdminForm(KnowledgeBaseForm):
    class Meta:
        model = Action
        fields = ["key", "label", "description", "source", "other_sources", "notes"]

    def clean_key(self) -> str:
        return _check_key(self.cleaned_data["key"], "SECOND-ASCT")
