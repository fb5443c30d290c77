"""Therapy lines -> the facts the relapse algorithm needs, each with its reason.

Pure functions over plain dataclasses (no Django import), so the IMWG rules
are unit-tested without a database. Titles and value words are the engine's
fact specs (algorithm/engine/facts.py), the one vocabulary of facts. `cases.services.case_data()` builds the
dataclasses from the models.

IMWG definitions used here:
- A line of therapy is one planned treatment programme: induction, ASCT and
  maintenance planned together are one line.
- Refractory: progression while on a drug (low-dose maintenance included), or
  within 60 days of its last dose; also no response better than stable
  disease while on it. Refractoriness in any line persists.
- Intolerant (proteasome inhibitors): stopped for toxicity, not refractory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from algorithm.engine.facts import FIELD_SPECS, NOT_KNOWN, title, value_words

# Reasons, titles and value words in the active language: cases/apps.py sets this to Django's
# gettext when the app is ready (this module imports no Django; without it, English).
translate: Callable[[str], str] = str


def _(text: str) -> str:
    """A reason's words in the active language (`make messages` collects the marked texts)."""
    return translate(text)


def say(key: str, value: Any) -> str:
    """A value of a fact in that fact's words, in the active language."""
    if isinstance(value, (frozenset, set, list, tuple)):
        return ", ".join(say(key, v) for v in sorted(value, key=str)) or _("none")
    spec = FIELD_SPECS.get(key)
    word = spec.words.get(value) if spec else None
    return _(word or value_words(value))


# Drug classes of the knowledge base (regimens.models.DrugClass values) ->
# the class names of the algorithm's `prior_exposure` input.
EXPOSURE_CLASS = {
    "imid": "IMiD",
    "proteasome_inhibitor": "PI",
    "anti_cd38": "anti_CD38",
    "anti_slamf7": "anti_SLAMF7",
    "xpo1_inhibitor": "XPO1",
    "bcma_adc": "BCMA_ADC",
    "bcma_car_t": "BCMA_CAR_T",
    "bcma_bispecific": "BCMA_bispecific",
    "gprc5d_bispecific": "GPRC5D_bispecific",
    "alkylator": "alkylator",
}

# Per-drug statuses the algorithm asks for: input key -> (drug key, words).
DRUG_STATUS_INPUTS = {
    "len_status": ("LENALIDOMIDE", "lenalidomide"),
    "bortezomib_status": ("BORTEZOMIB", "bortezomib"),
    "carfilzomib_status": ("CARFILZOMIB", "carfilzomib"),
    "pomalidomide_status": ("POMALIDOMIDE", "pomalidomide"),
}
# The FISH results as a reason says them (listed for the catalogue).
FISH_WORDS = (_("present"), _("absent"))
INTOLERANCE_INPUTS = {"bortezomib_status", "carfilzomib_status"}
ANTI_CD38_AGENTS = {"DARATUMUMAB": "daratumumab", "ISATUXIMAB": "isatuximab"}
BCMA_CLASSES = {"bcma_adc": "adc", "bcma_car_t": "car_t", "bcma_bispecific": "bispecific"}

PROGRESSION_ON_THERAPY = "progression_on_therapy"
PROGRESSION_WITHIN_60_DAYS = "progression_within_60_days"
PROGRESSION_LATER = "progression_later"
TOXICITY = "toxicity"
COMPLETED = "completed"
ONGOING = "ongoing"
REFRACTORY_RESPONSES = {"SD", "PD"}
EARLY_RELAPSE_MONTHS = 18


@dataclass(frozen=True)
class Drug:
    key: str
    name: str
    drug_class: str


@dataclass(frozen=True)
class Line:
    """One therapy line as plain data. Dates are month precision (first of the month)."""

    number: int
    label: str
    drugs: tuple[Drug, ...]
    start: date
    outcome: str
    end: date | None = None
    progression: date | None = None
    best_response: str = ""
    asct: bool = False
    asct_date: date | None = None
    maintenance: tuple[Drug, ...] = ()
    maintenance_start: date | None = None
    len_dose_at_progression_mg: float | None = None
    other_classes: tuple[str, ...] = ()

    @property
    def all_drugs(self) -> tuple[Drug, ...]:
        seen = {d.key for d in self.drugs}
        return self.drugs + tuple(d for d in self.maintenance if d.key not in seen)

    @property
    def progressed(self) -> bool:
        return self.outcome in {PROGRESSION_ON_THERAPY, PROGRESSION_WITHIN_60_DAYS, PROGRESSION_LATER}

    @property
    def progression_month(self) -> date | None:
        """Progression date; for progression on therapy the end month stands in when not given."""
        if self.progression:
            return self.progression
        if self.outcome in {PROGRESSION_ON_THERAPY, PROGRESSION_WITHIN_60_DAYS}:
            return self.end
        return None


@dataclass(frozen=True)
class Override:
    value: Any
    reason: str
    by: str = ""


@dataclass(frozen=True)
class CaseData:
    lines: tuple[Line, ...] = ()
    as_of: date | None = None
    t_11_14: str = "unknown"  # present / absent / unknown
    fish_high_risk: Mapping[str, str] = field(default_factory=dict)  # label -> present/absent/unknown
    frailty: str = ""
    ecog: int | None = None
    cardiovascular_risk: str = ""
    peripheral_neuropathy_grade: int | None = None
    crcl_ml_min: int | None = None
    car_t_eligible: str = "unknown"  # yes / no / unknown
    ocular_surface_disease: str = "unknown"
    prefers_fewer_hospital_visits: str = "unknown"
    overrides: Mapping[str, Override] = field(default_factory=dict)


@dataclass(frozen=True)
class Fact:
    key: str
    value: Any
    reason: str
    derived_value: Any = None
    override: Override | None = None

    @property
    def label(self) -> str:
        return _(title(self.key))

    @property
    def value_label(self) -> str:
        return say(self.key, self.value)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end (month precision)."""
    return (end.year - start.year) * 12 + end.month - start.month


def month_label(value: date | None) -> str:
    return f"{value:%m/%Y}" if value else "?"


@dataclass
class _DrugStatus:
    """Running status of one drug across lines: worst wins (refractory > intolerant > exposed)."""

    drug: Drug
    status: str = "exposed_sensitive"
    reason: str = ""
    last_line: int = 0

    RANK = {"exposed_sensitive": 0, "intolerant": 1, "refractory": 2}

    def update(self, status: str, reason: str, line: int) -> None:
        self.last_line = max(self.last_line, line)
        if self.RANK[status] >= self.RANK[self.status] or not self.reason:
            self.status, self.reason = status, reason


def _within_60_days(line: Line) -> bool:
    """A later progression dated at most one calendar month after the last dose counts as within 60 days."""
    return bool(
        line.outcome == PROGRESSION_LATER
        and line.end
        and line.progression
        and 0 <= months_between(line.end, line.progression) <= 1
    )


def _line_drug_statuses(line: Line) -> list[tuple[Drug, str, str]]:
    """(drug, status, reason) for every drug of one line."""
    out: list[tuple[Drug, str, str]] = []
    on_maintenance = {d.key for d in line.maintenance}
    when = month_label(line.progression_month)
    refractory_outcome = line.outcome in {
        PROGRESSION_ON_THERAPY,
        PROGRESSION_WITHIN_60_DAYS,
    } or _within_60_days(line)
    for drug in line.all_drugs:
        # With maintenance, progression is attributed to the maintenance drugs;
        # the induction drugs had stopped (more than 60 days earlier, typically).
        active_at_progression = drug.key in on_maintenance if line.maintenance else True
        if refractory_outcome and active_at_progression:
            if drug.key in on_maintenance:
                dose = (
                    f", {drug.name} {line.len_dose_at_progression_mg:g} mg"
                    if drug.key == "LENALIDOMIDE" and line.len_dose_at_progression_mg is not None
                    else ""
                )
                reason = _("refractory: progressed on line %(line)s maintenance%(dose)s, %(when)s") % {
                    "line": line.number,
                    "dose": dose,
                    "when": when,
                }
            elif line.outcome == PROGRESSION_ON_THERAPY:
                reason = _("refractory: progressed on line %(line)s (%(regimen)s), %(when)s") % {
                    "line": line.number,
                    "regimen": line.label,
                    "when": when,
                }
            else:
                reason = _(
                    "refractory: progressed within 60 days of the last dose of line %(line)s "
                    "(%(regimen)s), last dose %(end)s, progression %(when)s"
                ) % {"line": line.number, "regimen": line.label, "end": month_label(line.end), "when": when}
            out.append((drug, "refractory", reason))
        elif line.best_response in REFRACTORY_RESPONSES and drug.key not in on_maintenance:
            out.append(
                (
                    drug,
                    "refractory",
                    _("refractory: best response %(response)s on line %(line)s (%(regimen)s)")
                    % {"response": line.best_response, "line": line.number, "regimen": line.label},
                )
            )
        elif line.outcome == TOXICITY:
            out.append(
                (
                    drug,
                    "intolerant",
                    _("intolerant: line %(line)s (%(regimen)s) stopped for toxicity")
                    % {"line": line.number, "regimen": line.label},
                )
            )
        else:
            how = {
                PROGRESSION_LATER: _("progression %(when)s, more than 60 days after the last dose")
                % {"when": when},
                COMPLETED: _("completed without progression"),
                ONGOING: _("ongoing"),
            }.get(line.outcome, _("no progression on it"))
            if line.maintenance and not active_at_progression and line.progressed:
                how = _("stopped before the maintenance on which the disease progressed")
            out.append(
                (
                    drug,
                    "exposed_sensitive",
                    _("exposed, sensitive: line %(line)s (%(regimen)s), %(how)s")
                    % {"line": line.number, "regimen": line.label, "how": how},
                )
            )
    return out


def _drug_statuses(lines: Iterable[Line]) -> dict[str, _DrugStatus]:
    statuses: dict[str, _DrugStatus] = {}
    for line in sorted(lines, key=lambda x: x.number):
        for drug, status, reason in _line_drug_statuses(line):
            entry = statuses.setdefault(drug.key, _DrugStatus(drug))
            entry.update(status, reason, line.number)
    return statuses


def _class_status(statuses: Iterable[_DrugStatus], drug_class: str) -> _DrugStatus | None:
    """The worst status among a class's drugs (refractory beats exposed)."""
    best: _DrugStatus | None = None
    for entry in statuses:
        if entry.drug.drug_class != drug_class:
            continue
        if best is None or entry.RANK[entry.status] > best.RANK[best.status]:
            best = entry
    return best


def derive(case: CaseData) -> dict[str, Fact]:
    """Every fact that can be derived from the case, with its reason; overrides applied."""
    lines = tuple(sorted(case.lines, key=lambda x: x.number))
    facts: dict[str, Fact] = {}

    def put(key: str, value: Any, reason: str) -> None:
        facts[key] = Fact(key, value, reason, derived_value=value)

    statuses = _drug_statuses(lines)

    # Per-drug statuses.
    for key, (drug_key, words) in DRUG_STATUS_INPUTS.items():
        entry = statuses.get(drug_key)
        if entry is None:
            put(key, "naive", _("naive: no line recorded with %(drug)s") % {"drug": words})
            continue
        status = entry.status
        if status == "intolerant" and key not in INTOLERANCE_INPUTS:
            status = "exposed_sensitive"
        put(key, status, entry.reason)

    cd38 = _class_status(statuses.values(), "anti_cd38")
    if cd38 is None:
        put("anti_cd38_status", "naive", _("naive: no line recorded with daratumumab or isatuximab"))
        put("anti_cd38_agent_last", "none", _("no anti-CD38 antibody recorded"))
    else:
        status = "exposed_sensitive" if cd38.status == "intolerant" else cd38.status
        put("anti_cd38_status", status, cd38.reason.replace(": ", f" ({cd38.drug.name}): ", 1))
        last = max(
            (s for s in statuses.values() if s.drug.drug_class == "anti_cd38"), key=lambda s: s.last_line
        )
        agent = ANTI_CD38_AGENTS.get(last.drug.key)
        if agent:
            put(
                "anti_cd38_agent_last",
                agent,
                _("%(drug)s in line %(line)s") % {"drug": last.drug.name, "line": last.last_line},
            )

    # Lines and exposure.
    if lines:
        asct_note = (
            " " + _("(induction, ASCT and maintenance planned together count as one line)")
            if any(line.asct or line.maintenance for line in lines)
            else ""
        )
        recorded = _("1 line recorded") if len(lines) == 1 else _("%(n)s lines recorded") % {"n": len(lines)}
        put("prior_lines", len(lines), recorded + asct_note)
    exposure_lines: dict[str, int] = {}
    for line in lines:
        classes = {d.drug_class for d in line.all_drugs} | set(line.other_classes)
        for drug_class in classes:
            if drug_class in EXPOSURE_CLASS:
                exposure_lines.setdefault(EXPOSURE_CLASS[drug_class], line.number)
    put(
        "prior_exposure",
        sorted(exposure_lines),
        "; ".join(
            _("%(drug_class)s from line %(line)s") % {"drug_class": say("prior_exposure", name), "line": n}
            for name, n in sorted(exposure_lines.items(), key=lambda i: i[1])
        )
        or _("no drug classes recorded"),
    )
    triple = {"IMiD", "PI", "anti_CD38"}
    missing = triple - exposure_lines.keys()
    put(
        "triple_class_exposed",
        not missing,
        _("exposed to an IMiD, a PI and an anti-CD38 antibody")
        if not missing
        else _("not exposed to: %(classes)s") % {"classes": ", ".join(sorted(missing))},
    )
    refractory = [s for s in statuses.values() if s.status == "refractory"]
    refractory_by_class: dict[str, list[str]] = {}
    for entry in refractory:
        refractory_by_class.setdefault(entry.drug.drug_class, []).append(entry.drug.name)
    tcr_missing = [
        name for cls, name in (("imid", "IMiD"), ("proteasome_inhibitor", "PI"), ("anti_cd38", "anti-CD38"))
        if cls not in refractory_by_class
    ]  # fmt: skip
    put(
        "triple_class_refractory",
        not tcr_missing,
        _("refractory to %(drugs)s")
        % {
            "drugs": ", ".join(
                "/".join(refractory_by_class[c]) for c in ("imid", "proteasome_inhibitor", "anti_cd38")
            )
        }
        if not tcr_missing
        else _("not refractory to: %(classes)s") % {"classes": ", ".join(tcr_missing)},
    )
    n_imid = len(refractory_by_class.get("imid", []))
    n_pi = len(refractory_by_class.get("proteasome_inhibitor", []))
    n_cd38 = len(refractory_by_class.get("anti_cd38", []))
    penta = n_imid >= 2 and n_pi >= 2 and n_cd38 >= 1
    put(
        "penta_refractory",
        penta,
        _("refractory to %(imid)s IMiD(s), %(pi)s PI(s), %(cd38)s anti-CD38 antibody(ies)")
        % {"imid": n_imid, "pi": n_pi, "cd38": n_cd38}
        + ("" if penta else " " + _("(needs ≥2, ≥2, ≥1)")),
    )

    bcma_last: tuple[int, str, str] | None = None
    gprc5d: tuple[int, str] | None = None
    for line in lines:
        classes = [(d.drug_class, d.name) for d in line.all_drugs] + [(c, c) for c in line.other_classes]
        for drug_class, name in classes:
            if drug_class in BCMA_CLASSES:
                bcma_last = (line.number, BCMA_CLASSES[drug_class], name)
            if drug_class == "gprc5d_bispecific":
                gprc5d = (line.number, name)
    if bcma_last:
        put(
            "bcma_exposed",
            bcma_last[1],
            _("%(drug)s in line %(line)s (most recent BCMA-directed)")
            % {"drug": bcma_last[2], "line": bcma_last[0]},
        )
    else:
        put("bcma_exposed", "none", _("no BCMA-directed therapy recorded"))
    if gprc5d:
        put("gprc5d_exposed", True, _("%(drug)s in line %(line)s") % {"drug": gprc5d[1], "line": gprc5d[0]})
    else:
        put("gprc5d_exposed", False, _("no GPRC5D-directed therapy recorded"))

    # Time intervals.
    if lines:
        first = lines[0]
        progression = first.progression_month
        if progression:
            months = months_between(first.start, progression)
            put(
                "months_from_start_of_frontline_to_progression",
                months,
                _("line 1 started %(start)s, progression %(progression)s")
                % {"start": month_label(first.start), "progression": month_label(progression)},
            )
            early = months < EARLY_RELAPSE_MONTHS
            put(
                "early_relapse",
                early,
                _("%(months)s months from start of first line (%(sign)s 18)")
                % {"months": months, "sign": "<" if early else "≥"},
            )
        ended = [line for line in lines if line.end and line.outcome != ONGOING]
        if ended and case.as_of and len(ended) == len(lines):
            last = max(ended, key=lambda x: x.end or date.min)
            assert last.end is not None
            put(
                "months_since_end_of_last_therapy",
                max(0, months_between(last.end, case.as_of)),
                _("last dose of line %(line)s %(end)s, relapse %(relapse)s")
                % {"line": last.number, "end": month_label(last.end), "relapse": month_label(case.as_of)},
            )
        for line in lines:
            if line.asct:
                start = line.asct_date
                stop = line.progression_month
                if start and stop:
                    put(
                        "prior_asct_remission_months",
                        months_between(start, stop),
                        _("ASCT %(asct)s in line %(line)s, progression %(progression)s")
                        % {"asct": month_label(start), "line": line.number, "progression": month_label(stop)},
                    )
                break

    # Recorded on the case.
    if case.t_11_14 in ("present", "absent"):
        put("t_11_14", case.t_11_14 == "present", "FISH: t(11;14) " + _(case.t_11_14))
    else:
        put("t_11_14", "unknown", _("FISH: t(11;14) not tested"))
    present = [label for label, result in case.fish_high_risk.items() if result == "present"]
    unknown = [label for label, result in case.fish_high_risk.items() if result not in ("present", "absent")]
    if present:
        put("high_risk_cytogenetics", True, f"FISH: {', '.join(present)}")
    elif unknown or not case.fish_high_risk:
        put(
            "high_risk_cytogenetics",
            "unknown",
            _("FISH not reported for %(lesions)s")
            % {"lesions": ", ".join(unknown) or _("high-risk lesions")},
        )
    else:
        put(
            "high_risk_cytogenetics",
            False,
            _("FISH: no high-risk lesion among %(lesions)s") % {"lesions": ", ".join(case.fish_high_risk)},
        )
    for key in ("frailty", "ecog", "cardiovascular_risk", "peripheral_neuropathy_grade", "crcl_ml_min"):
        value = getattr(case, key)
        if value not in (None, ""):
            put(key, value, _("recorded on the case"))
    for key in ("car_t_eligible", "ocular_surface_disease", "prefers_fewer_hospital_visits"):
        value = getattr(case, key)
        if value in ("yes", "no"):
            put(key, value == "yes", _("recorded on the case"))

    # Overrides win, and say so.
    for key, override in case.overrides.items():
        derived = facts.get(key)
        derived_value = derived.value if derived else None
        derived_reason = derived.reason if derived else _("not derivable from the lines")
        who = _("overridden by %(user)s") % {"user": override.by} if override.by else _("overridden")
        facts[key] = Fact(
            key,
            override.value,
            f"{who}: {override.reason} "
            + _("(derived: %(value)s — %(reason)s)")
            % {"value": say(key, derived_value), "reason": derived_reason},
            derived_value=derived_value,
            override=override,
        )
    return facts


def engine_facts(facts: Mapping[str, Fact]) -> dict[str, Any]:
    """The JSON-ready input of the algorithm: every known fact (all are engine inputs)."""
    out: dict[str, Any] = {}
    for key, fact in facts.items():
        if fact.value is None:
            continue
        out[key] = list(fact.value) if isinstance(fact.value, list | tuple | set | frozenset) else fact.value
    return out


OVERRIDABLE = tuple(name for name, spec in FIELD_SPECS.items() if spec.overridable)


def parse_override(key: str, raw: str) -> Any:
    """An override value from a form, checked against the fact's allowed values; ValueError with a message."""
    spec = FIELD_SPECS.get(key)
    if spec is None or not spec.overridable:
        raise ValueError(f"{key} cannot be overridden")
    raw = raw.strip()
    if spec.kind in ("int", "number"):
        try:
            number = int(raw)
        except ValueError as exc:
            raise ValueError(_("Enter a whole number.")) from exc
        if number < 0:
            raise ValueError(_("Enter a number of 0 or more."))
        return number
    if spec.kind == "bool":
        allowed: tuple[Any, ...] = (True, False, NOT_KNOWN)
        value: Any = {"true": True, "yes": True, "false": False, "no": False}.get(raw.lower(), raw)
    else:
        allowed, value = spec.choices, raw
    if value not in allowed:
        raise ValueError(
            _("Choose one of: %(values)s.") % {"values": ", ".join(say(key, v) for v in allowed)}
        )
    return value
