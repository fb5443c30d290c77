"""CaseFacts: the facts about one relapsed-myeloma case that the algorithm asks for.

The field names are the `inputs` keys of regimens/evidence/algorithm.yaml (a unit
test keeps the allowed values here equal to the file's). Every fact is optional:
None means "not known", and the engine then says what it would need rather than
guessing.

Refractory follows IMWG: progression on the drug (low-dose maintenance included)
or within 60 days of its last dose. Derived facts (triple-class exposure and
refractoriness, penta-refractoriness, PI sensitivity, early relapse, the BCMA and
GPRC5D exposure) are computed from the drug statuses when they are not given; a
given value is kept, unless it plainly contradicts the statuses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

NOT_KNOWN = "unknown"  # accepted from forms and JSON as another way to say None

DRUG_STATUSES = ("naive", "exposed_sensitive", "refractory")
PI_STATUSES = (*DRUG_STATUSES, "intolerant")
EXPOSURE_CLASSES = (
    "IMiD",
    "PI",
    "anti_CD38",
    "anti_SLAMF7",
    "XPO1",
    "BCMA_ADC",
    "BCMA_CAR_T",
    "BCMA_bispecific",
    "GPRC5D_bispecific",
    "alkylator",
)
EARLY_RELAPSE_MONTHS = 18  # KarMMa-2 cohorts 2a/2b: progression < 18 months from start of first line

# Every drug status the facts track: the status fact -> (the regimen component it is about, in
# words). The engine's refractoriness rule reads this (a regimen containing a drug the disease is
# refractory to is not recommended); a component is a drug key or a drug class of regimens_*.yaml.
STATUS_DRUGS: dict[str, tuple[str, str]] = {
    "len_status": ("LENALIDOMIDE", "lenalidomide"),
    "pomalidomide_status": ("POMALIDOMIDE", "pomalidomide"),
    "bortezomib_status": ("BORTEZOMIB", "bortezomib"),
    "carfilzomib_status": ("CARFILZOMIB", "carfilzomib"),
    "anti_cd38_status": ("anti_cd38", "an anti-CD38 antibody"),
}


class FactsError(ValueError):
    """A fact that is not allowed; `field` names it, `message` says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FieldSpec:
    """One fact: its title, the values it may hold and their words. The one vocabulary of facts:
    the wizard, the case page, the overrides, the minutes and the engine's messages all read it."""

    title: str  # as a haematologist reads it, e.g. "Lenalidomide status"
    kind: str  # "choice" | "bool" | "int" | "number" | "classes"
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    derived: bool = False  # computed from other facts when not given
    overridable: bool = False  # a case editor may override the value derived from the therapy lines
    words: Mapping[Any, str] = field(default_factory=dict)  # this fact's own words for a value

    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "classes":
            return "a list of drug classes from " + ", ".join(EXPOSURE_CLASSES)
        what = "a whole number" if self.kind == "int" else "a number"
        return f"{what} from {_num(self.minimum)} to {_num(self.maximum)}"

    def say(self, value: Any) -> str:
        """A value of this fact in words ("frail (score ≥ 2)", "exposed and sensitive", "yes")."""
        if isinstance(value, (frozenset, set, list, tuple)):
            return ", ".join(self.say(v) for v in sorted(value, key=str)) or "none"
        return self.words.get(value) or value_words(value)


def _(text: str) -> str:
    """Marks a title or a value word for the Italian catalogue (`make messages` collects it).

    The engine stays in English and free of Django; the pages translate these words when
    they show them (algorithm/words.py).
    """
    return text


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


_GRADE_WORDS = {
    0: _("0 — none"),
    1: _("1 — asymptomatic"),
    2: _("2 — moderate; limits instrumental ADL"),
    3: _("3 — severe; limits self-care ADL"),
    4: _("4 — life-threatening"),
}

FIELD_SPECS: dict[str, FieldSpec] = {
    "len_status": FieldSpec(_("Lenalidomide status"), "choice", DRUG_STATUSES, overridable=True),
    "anti_cd38_status": FieldSpec(_("Anti-CD38 antibody status"), "choice", DRUG_STATUSES, overridable=True),
    "anti_cd38_agent_last": FieldSpec(
        _("Anti-CD38 antibody given last"),
        "choice",
        ("none", "daratumumab", "isatuximab"),
        overridable=True,
        words={"none": _("none given")},
    ),
    "bortezomib_status": FieldSpec(_("Bortezomib status"), "choice", PI_STATUSES, overridable=True),
    "carfilzomib_status": FieldSpec(_("Carfilzomib status"), "choice", PI_STATUSES, overridable=True),
    "pi_sensitive": FieldSpec(_("PI-sensitive disease"), "bool", derived=True),
    "pomalidomide_status": FieldSpec(_("Pomalidomide status"), "choice", DRUG_STATUSES, overridable=True),
    # Upper bounds only catch typing errors; no real case comes near them.
    "prior_lines": FieldSpec(_("Prior lines of therapy"), "int", minimum=1, maximum=30, overridable=True),
    "prior_exposure": FieldSpec(_("Drug classes received before"), "classes", EXPOSURE_CLASSES),
    "triple_class_exposed": FieldSpec(_("Triple-class exposed"), "bool", derived=True, overridable=True),
    "triple_class_refractory": FieldSpec(
        _("Triple-class refractory"), "bool", derived=True, overridable=True
    ),
    "penta_refractory": FieldSpec(_("Penta-refractory"), "bool", derived=True, overridable=True),
    "bcma_exposed": FieldSpec(
        _("Prior BCMA-directed therapy"),
        "choice",
        ("none", "adc", "car_t", "bispecific"),
        derived=True,
        overridable=True,
    ),
    "gprc5d_exposed": FieldSpec(
        _("Prior GPRC5D-directed therapy (talquetamab)"), "bool", derived=True, overridable=True
    ),
    "t_11_14": FieldSpec(_("t(11;14) by FISH"), "bool"),
    "high_risk_cytogenetics": FieldSpec(_("High-risk cytogenetics"), "bool", overridable=True),
    "frailty": FieldSpec(
        _("IMWG frailty"),
        "choice",
        ("fit", "intermediate", "frail"),
        words={
            "fit": _("fit (score 0)"),
            "intermediate": _("intermediate fitness (score 1)"),
            "frail": _("frail (score ≥ 2)"),
        },
    ),
    "ecog": FieldSpec(
        _("ECOG performance status"),
        "choice",
        (0, 1, 2, 3, 4),
        words={
            0: _("0 — fully active"),
            1: _("1 — restricted in strenuous activity"),
            2: _("2 — ambulatory, no work; up > 50% of waking hours"),
            3: _("3 — limited self-care; in bed or chair > 50%"),
            4: _("4 — completely disabled"),
        },
    ),
    "cardiovascular_risk": FieldSpec(
        _("Cardiovascular risk"),
        "choice",
        (
            "none",
            "controlled_hypertension",
            "uncontrolled_hypertension",
            "heart_failure_or_reduced_lvef",
            "ischaemic_heart_disease",
            "other_cv_disease",
        ),
    ),
    "peripheral_neuropathy_grade": FieldSpec(
        _("Peripheral neuropathy grade (CTCAE)"), "choice", (0, 1, 2, 3, 4), words=_GRADE_WORDS
    ),
    "crcl_ml_min": FieldSpec(_("Creatinine clearance (mL/min)"), "number", minimum=0, maximum=250),
    "on_dialysis": FieldSpec(_("On dialysis"), "bool"),
    "months_from_start_of_frontline_to_progression": FieldSpec(
        _("Months from start of first line to progression"),
        "number",
        minimum=0,
        maximum=600,
        overridable=True,
    ),
    "early_relapse": FieldSpec(
        _("Early relapse (< 18 months from start of first line)"), "bool", derived=True
    ),
    "months_since_end_of_last_therapy": FieldSpec(
        _("Months since the end of the last therapy"), "number", minimum=0, maximum=600, overridable=True
    ),
    "relapse_kinetics": FieldSpec(
        _("Relapse kinetics"),
        "choice",
        ("slow_or_biochemical", "rapid_or_aggressive"),
        words={
            "slow_or_biochemical": _("slow or biochemical"),
            "rapid_or_aggressive": _("rapid or aggressive"),
        },
    ),
    "car_t_eligible": FieldSpec(_("Eligible for CAR-T"), "bool"),
    "prior_asct_remission_months": FieldSpec(
        _("Remission after the first ASCT (months)"), "number", minimum=0, maximum=600, overridable=True
    ),
    "ocular_surface_disease": FieldSpec(_("Ocular surface disease"), "bool"),
    "prefers_fewer_hospital_visits": FieldSpec(_("Prefers fewer hospital visits"), "bool"),
    "country": FieldSpec(
        _("Availability layer"),
        "choice",
        ("IT", "other"),
        words={"IT": _("Italy (AIFA reimbursement)"), "other": _("other country")},
    ),
}

VALUE_WORDS: dict[Any, str] = {
    "exposed_sensitive": _("exposed and sensitive"),
    NOT_KNOWN: _("not known"),
    "adc": _("an antibody-drug conjugate (belantamab)"),
    "car_t": _("CAR-T"),
    "bispecific": _("a bispecific antibody"),
    "heart_failure_or_reduced_lvef": _("heart failure or reduced LVEF"),
    "other_cv_disease": _("other cardiovascular disease"),
    "IT": _("Italy"),
    "anti_CD38": _("anti-CD38"),
    "anti_SLAMF7": _("anti-SLAMF7"),
    "BCMA_ADC": _("BCMA ADC"),
    "BCMA_CAR_T": _("BCMA CAR-T"),
    "BCMA_bispecific": _("BCMA bispecific"),
    "GPRC5D_bispecific": _("GPRC5D bispecific"),
    # Said as the key reads (underscores as spaces); listed so that `make messages` collects them.
    "naive": _("naive"),
    "refractory": _("refractory"),
    "intolerant": _("intolerant"),
    "none": _("none"),
    "controlled_hypertension": _("controlled hypertension"),
    "uncontrolled_hypertension": _("uncontrolled hypertension"),
    "ischaemic_heart_disease": _("ischaemic heart disease"),
}


def title(name: str) -> str:
    """A fact's title ("Lenalidomide status")."""
    spec = FIELD_SPECS.get(name)
    return spec.title if spec else name.replace("_", " ").capitalize()


def label(name: str) -> str:
    """A fact's name inside a sentence ("lenalidomide status", but "ECOG performance status")."""
    words = title(name)
    return words if words[:2].isupper() or not words[:1].isupper() else words[0].lower() + words[1:]


def say(name: str, value: Any) -> str:
    """A value of a fact in that fact's words."""
    spec = FIELD_SPECS.get(name)
    return spec.say(value) if spec else value_words(value)


def value_words(value: Any) -> str:
    """A value in words, whatever the fact ("exposed and sensitive", "yes")."""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value is None:
        return _("not known")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (frozenset, set, list, tuple)):
        return ", ".join(value_words(v) for v in sorted(value, key=str)) or _("none")
    return VALUE_WORDS.get(value, str(value).replace("_", " "))


# Which drug-status facts tell us a class was received (any status but naive).
_CLASS_STATUSES = {
    "IMiD": ("len_status", "pomalidomide_status"),
    "PI": ("bortezomib_status", "carfilzomib_status"),
    "anti_CD38": ("anti_cd38_status",),
}
_BCMA_CLASS = {"adc": "BCMA_ADC", "car_t": "BCMA_CAR_T", "bispecific": "BCMA_bispecific"}


@dataclass(frozen=True)
class CaseFacts:
    """The algorithm inputs of one case; None = not known."""

    len_status: str | None = None
    anti_cd38_status: str | None = None
    anti_cd38_agent_last: str | None = None
    bortezomib_status: str | None = None
    carfilzomib_status: str | None = None
    pi_sensitive: bool | None = None
    pomalidomide_status: str | None = None
    prior_lines: int | None = None
    prior_exposure: frozenset[str] | None = None
    triple_class_exposed: bool | None = None
    triple_class_refractory: bool | None = None
    penta_refractory: bool | None = None
    bcma_exposed: str | None = None
    gprc5d_exposed: bool | None = None
    t_11_14: bool | None = None
    high_risk_cytogenetics: bool | None = None
    frailty: str | None = None
    ecog: int | None = None
    cardiovascular_risk: str | None = None
    peripheral_neuropathy_grade: int | None = None
    crcl_ml_min: float | None = None
    on_dialysis: bool | None = None
    months_from_start_of_frontline_to_progression: float | None = None
    early_relapse: bool | None = None
    months_since_end_of_last_therapy: float | None = None
    relapse_kinetics: str | None = None
    car_t_eligible: bool | None = None
    prior_asct_remission_months: float | None = None
    ocular_surface_disease: bool | None = None
    prefers_fewer_hospital_visits: bool | None = None
    country: str | None = None

    def __post_init__(self) -> None:
        # Check every fact on its own first, so an error names the bad field
        # rather than a contradiction it happens to cause.
        for name, spec in FIELD_SPECS.items():
            value = getattr(self, name)
            if spec.kind == "classes" and value is not None and not isinstance(value, frozenset):
                value = _as_class_set(name, value)
                object.__setattr__(self, name, value)
            _check_value(name, spec, value)
        self._check_consistency()
        self._derive()

    # -- construction from JSON ---------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseFacts:
        """Build from JSON-like data: unknown keys are refused; "unknown", "" and null mean None."""
        if not isinstance(data, Mapping):
            raise FactsError("facts", "must be a JSON object of facts")
        unknown = sorted(str(k) for k in data if k not in FIELD_SPECS)
        if unknown:
            raise FactsError(
                unknown[0] or "facts",  # an empty key still gets a field name in the error
                f"is not a fact the algorithm knows (unknown: {', '.join(unknown)}); "
                f"known facts: {', '.join(FIELD_SPECS)}",
            )
        values = {name: _coerce(name, FIELD_SPECS[name], raw) for name, raw in data.items()}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every fact, None for unknown, drug classes as a sorted list."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = sorted(value) if isinstance(value, frozenset) else value
        return out

    # -- lookups used by the rules --------------------------------------------
    def fact(self, name: str) -> Any:
        return getattr(self, name)

    def known_members(self, name: str) -> frozenset[str]:
        """Members of a set-valued fact that are certain even when the fact itself is not given."""
        if name == "prior_exposure":
            return self.prior_exposure if self.prior_exposure is not None else self._implied_classes()
        return frozenset()

    # -- internals -------------------------------------------------------------
    def _implied_classes(self) -> frozenset[str]:
        """Drug classes the statuses prove were received."""
        implied = {
            drug_class
            for drug_class, names in _CLASS_STATUSES.items()
            if any(getattr(self, n) not in (None, "naive") for n in names)
        }
        if self.bcma_exposed in _BCMA_CLASS:
            implied.add(_BCMA_CLASS[self.bcma_exposed])
        if self.gprc5d_exposed:
            implied.add("GPRC5D_bispecific")
        return frozenset(implied)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_consistency(self) -> None:
        statuses = {n: getattr(self, n) for names in _CLASS_STATUSES.values() for n in names}
        cd38 = self.anti_cd38_status
        if self.anti_cd38_agent_last == "none" and cd38 in ("exposed_sensitive", "refractory"):
            raise FactsError("anti_cd38_agent_last", f"cannot be none when anti_cd38_status is {cd38}")
        if self.anti_cd38_agent_last in ("daratumumab", "isatuximab") and cd38 == "naive":
            raise FactsError(
                "anti_cd38_agent_last", "must be none (or unknown) when anti_cd38_status is naive"
            )
        if self.triple_class_exposed is True and cd38 == "naive":
            raise FactsError("triple_class_exposed", "cannot be true when anti_cd38_status is naive")
        if self.triple_class_refractory is True and cd38 in ("naive", "exposed_sensitive"):
            raise FactsError("triple_class_refractory", f"cannot be true when anti_cd38_status is {cd38}")
        if self.penta_refractory is True:
            for names in (("anti_cd38_status",), _CLASS_STATUSES["IMiD"], _CLASS_STATUSES["PI"]):
                if all(statuses[n] not in (None, "refractory") for n in names):
                    raise FactsError(
                        "penta_refractory",
                        "cannot be true when " + " and ".join(f"{n} is {statuses[n]}" for n in names),
                    )
        if self.pi_sensitive is True and statuses["bortezomib_status"] == statuses["carfilzomib_status"] == (
            "refractory"
        ):
            raise FactsError(
                "pi_sensitive", "cannot be true when bortezomib and carfilzomib are both refractory"
            )
        if self.prior_exposure is not None:
            self._check_exposure_against(self.prior_exposure)

    def _check_exposure_against(self, given: frozenset[str]) -> None:
        # anti_cd38_status covers every anti-CD38 antibody (unlike len/pom for IMiDs or bortezomib/
        # carfilzomib for PIs, which leave out thalidomide and ixazomib).
        if "anti_CD38" in given and self.anti_cd38_status == "naive":
            raise FactsError("prior_exposure", "cannot include anti_CD38 when anti_cd38_status is naive")
        bcma_given = [c for c in _BCMA_CLASS.values() if c in given]
        if self.bcma_exposed == "none" and bcma_given:
            raise FactsError("bcma_exposed", f"cannot be none when prior_exposure includes {bcma_given[0]}")
        if self.gprc5d_exposed is False and "GPRC5D_bispecific" in given:
            raise FactsError(
                "gprc5d_exposed", "cannot be false when prior_exposure includes GPRC5D_bispecific"
            )

    def _derive(self) -> None:
        if self.prior_exposure is not None:
            # prior_exposure lists every class received; the statuses may add what it left out.
            self._set("prior_exposure", self.prior_exposure | self._implied_classes())
        self._derive_exposure_flags()
        self._derive_or_check("triple_class_exposed", self._triple_class_exposed())
        self._derive_or_check("triple_class_refractory", self._triple_class_refractory())
        self._derive_or_check("penta_refractory", self._penta_refractory())
        if self.pi_sensitive is None:
            self._set("pi_sensitive", self._pi_sensitive())
        months = self.months_from_start_of_frontline_to_progression
        if months is not None:
            self._derive_or_check("early_relapse", months < EARLY_RELAPSE_MONTHS, certain=True)

    def _derive_exposure_flags(self) -> None:
        exposure = self.prior_exposure
        if exposure is None:
            return
        if self.bcma_exposed is None:
            # Several BCMA classes: keep the one that most limits BCMA re-targeting.
            for value in ("bispecific", "car_t", "adc"):
                if _BCMA_CLASS[value] in exposure:
                    self._set("bcma_exposed", value)
                    break
            else:
                self._set("bcma_exposed", "none")
        if self.gprc5d_exposed is None:
            self._set("gprc5d_exposed", "GPRC5D_bispecific" in exposure)

    def _derive_or_check(self, name: str, derived: bool | None, certain: bool = False) -> None:
        """Fill a derived fact; a given value wins unless a sure derivation contradicts it."""
        given = getattr(self, name)
        if given is None:
            self._set(name, derived)
        elif derived is not None and given != derived and (certain or derived is True):
            raise FactsError(name, f"is {_json(given)}, but the drug statuses make it {_json(derived)}")

    def _class_exposed(self, drug_class: str) -> bool | None:
        names = _CLASS_STATUSES[drug_class]
        if drug_class in self.known_members("prior_exposure"):
            return True
        if self.prior_exposure is not None:
            return False
        # Without prior_exposure, naive to every listed drug of the class counts as
        # not exposed (thalidomide or ixazomib belong in prior_exposure).
        if all(getattr(self, n) == "naive" for n in names):
            return False
        return None

    def _class_refractory(self, drug_class: str) -> bool | None:
        values = [getattr(self, n) for n in _CLASS_STATUSES[drug_class]]
        if "refractory" in values:
            return True
        if None in values:
            return None
        return False

    def _triple_class_exposed(self) -> bool | None:
        return _all3(self._class_exposed(c) for c in _CLASS_STATUSES)

    def _triple_class_refractory(self) -> bool | None:
        return _all3(self._class_refractory(c) for c in _CLASS_STATUSES)

    def _penta_refractory(self) -> bool | None:
        # At least two PIs and two IMiDs: bortezomib + carfilzomib, lenalidomide + pomalidomide.
        names = (
            "len_status",
            "pomalidomide_status",
            "bortezomib_status",
            "carfilzomib_status",
            "anti_cd38_status",
        )
        return _all3(None if getattr(self, n) is None else getattr(self, n) == "refractory" for n in names)

    def _pi_sensitive(self) -> bool | None:
        # The statuses do not say which PI came last, so any PI refractoriness counts against.
        values = (self.bortezomib_status, self.carfilzomib_status)
        if "refractory" in values:
            return False
        if None in values:
            return None
        return True


def _json(value: Any) -> str:
    return {True: "true", False: "false"}.get(value, repr(value)) if isinstance(value, bool) else repr(value)


def _all3(values: Iterable[bool | None]) -> bool | None:
    """Three-valued AND: false wins, then unknown."""
    values = list(values)
    if False in values:
        return False
    if None in values:
        return None
    return True


# -- validation and JSON coercion ------------------------------------------------


def _check_value(name: str, spec: FieldSpec, value: Any) -> None:
    if value is None:
        return
    if spec.kind == "choice":
        # bool is an int in Python; never accept it as an ECOG grade.
        if isinstance(value, bool) or value not in spec.choices:
            raise FactsError(name, f"must be {spec.allowed()} (got {_shown(value)})")
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise FactsError(name, f"must be {spec.allowed()} (got {_shown(value)})")
    elif spec.kind in ("int", "number"):
        numeric = isinstance(value, int) if spec.kind == "int" else isinstance(value, (int, float))
        if isinstance(value, bool) or not numeric or (isinstance(value, float) and not math.isfinite(value)):
            raise FactsError(name, f"must be {spec.allowed()} (got {_shown(value)})")
        if (spec.minimum is not None and value < spec.minimum) or (
            spec.maximum is not None and value > spec.maximum
        ):
            raise FactsError(name, f"must be {spec.allowed()} (got {_shown(value)})")
    elif spec.kind == "classes":
        bad = sorted(v for v in value if v not in EXPOSURE_CLASSES)
        if bad:
            raise FactsError(
                name, f"has unknown drug class {bad[0]!r}; allowed: {', '.join(EXPOSURE_CLASSES)}"
            )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_class_set(name: str, value: Any) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise FactsError(name, f"must be {FIELD_SPECS[name].allowed()} (got {_shown(value)})")
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise FactsError(name, f"must be {FIELD_SPECS[name].allowed()} (got {_shown(value)})")
    return frozenset(items)


def _coerce(name: str, spec: FieldSpec, raw: Any) -> Any:
    """JSON and form values -> Python values; anything doubtful is left for _check_value to refuse."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", NOT_KNOWN)):
        return None
    if spec.kind == "bool" and isinstance(raw, str):
        word = raw.strip().lower()
        return {"true": True, "yes": True, "false": False, "no": False}.get(word, raw)
    if spec.kind == "choice" and isinstance(raw, str):
        word = raw.strip()
        if spec.choices and isinstance(spec.choices[0], int):
            return int(word) if word.isdigit() else raw
        return word
    if spec.kind == "choice" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if spec.kind in ("int", "number"):
        return _coerce_number(spec, raw)
    if spec.kind == "classes":
        return _as_class_set(name, raw)
    return raw


def _coerce_number(spec: FieldSpec, raw: Any) -> Any:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return raw
    if spec.kind == "int" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return raw
