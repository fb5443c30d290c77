"""The algorithm as plain data: conditions over CaseFacts, settings, options, modifiers.

`rules_from_dict` builds `Rules` from the structure of regimens/evidence/algorithm.yaml
(the database layer builds the same dict from its rows), checking every condition
against the facts the engine knows, so a curator's typo fails with the path that
holds it instead of silently never matching.

Conditions are three-valued: True, False, or None when a fact they need is not
known. Each evaluation says, in words, which tests held and which facts it needs.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .evidence import TrialEvidence
from .facts import EXPOSURE_CLASSES, FIELD_SPECS, STATUS_DRUGS, label, value_words

CATEGORIES = ("preferred", "alternative", "consider", "future")
RANKED_CATEGORIES = ("preferred", "alternative", "consider")  # "future" is about time, not rank
# caution: a note; demote: one category lower (or down to `at_most`); favour: first within its
# category; hide: not applicable here; exclude: not recommended.
ACTIONS = ("caution", "demote", "favour", "hide", "exclude")
ELIGIBILITY_KINDS = ("required", "enrolled", "excluded")

# Which matched setting sets an option's category (rule 5 of issue 10), unless the file says it
# in meta.setting_resolution_rule. Recommendation JSON carries the text as `category_rule`.
DEFAULT_RESOLUTION_RULE = (
    "When several settings match, the one that fits the number of prior lines best sets an option's "
    "category: the setting whose prior-lines range starts closest below the case's count (a setting "
    "with no prior-lines condition, such as after BCMA-directed therapy, fits every count); then the "
    "one with more conditions that held; then the later one in the file. An option that only another "
    "matched setting places keeps that setting's category."
)
COMPARISONS = ("in", "eq", "gt", "gte", "lt", "lte", "between", "includes")
ALL_OPTIONS = "all"  # a modifier's applies_to that reaches every option


class RulesError(ValueError):
    """The algorithm data is not valid; `path` says where (e.g. settings[2].when.all[0])."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class FactLookup(Protocol):
    def fact(self, name: str) -> Any: ...

    def known_members(self, name: str) -> frozenset[str]: ...


# -- conditions ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Result of a condition: value True / False / None (unknown), and why, in words."""

    value: bool | None
    held: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # fact names that were not known


class Condition(Protocol):
    def evaluate(self, facts: FactLookup) -> Outcome: ...

    def describe(self) -> str: ...

    def inputs(self) -> frozenset[str]: ...


def _join_or(values: Iterable[Any]) -> str:
    words = [value_words(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _join_and(values: Iterable[Any]) -> str:
    words = [value_words(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class Comparison:
    """One fact compared with a value: {input: len_status, in: [refractory]}."""

    input: str
    op: str
    operand: Any

    def inputs(self) -> frozenset[str]:
        return frozenset({self.input})

    def describe(self) -> str:
        what = label(self.input)
        return f"{what} {self._requirement()}"

    def _requirement(self) -> str:
        op, operand = self.op, self.operand
        if op == "in":
            return f"is {_join_or(operand)}"
        if op == "eq":
            return f"is {value_words(operand)}"
        if op == "between":
            return f"is between {value_words(operand[0])} and {value_words(operand[1])}"
        if op == "includes":
            return f"include {_join_and(operand)}"
        words = {"gt": "more than", "gte": "at least", "lt": "less than", "lte": "at most"}
        return f"is {words[op]} {value_words(operand)}"

    def evaluate(self, facts: FactLookup) -> Outcome:
        value = facts.fact(self.input)
        if self.op == "includes":
            return self._includes(value, facts)
        if value is None:
            return Outcome(None, needs=(self.input,))
        if self._holds(value):
            return Outcome(True, held=(self._as_found(value),))
        return Outcome(False, failed=(f"{self._as_found(value)} (needs: {self.describe()})",))

    def _holds(self, value: Any) -> bool:
        op, operand = self.op, self.operand
        if op == "in":
            return any(_same(value, v) for v in operand)
        if op == "eq":
            return _same(value, operand)
        if op == "between":
            return operand[0] <= value <= operand[1]
        return {
            "gt": value > operand,
            "gte": value >= operand,
            "lt": value < operand,
            "lte": value <= operand,
        }[op]

    def _as_found(self, value: Any) -> str:
        what = label(self.input)
        if self.op in ("in", "eq") and FIELD_SPECS[self.input].kind == "bool":
            return f"{what}: {value_words(value)}"
        if self.op in ("in", "eq"):
            return f"{what} is {value_words(value)}"
        return f"{what} is {value_words(value)} ({self._requirement().removeprefix('is ')})"

    def _includes(self, value: Any, facts: FactLookup) -> Outcome:
        wanted = tuple(self.operand)
        known = value if value is not None else facts.known_members(self.input)
        if all(w in known for w in wanted):
            return Outcome(True, held=(self.describe().replace(" include ", " includes ", 1),))
        if value is None:
            return Outcome(None, needs=(self.input,))
        missing = [w for w in wanted if w not in value]
        return Outcome(False, failed=(f"{label(self.input)} lack {_join_and(missing)}",))


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a yes/no fact must never match a grade and vice versa.
    return isinstance(value, bool) == isinstance(expected, bool) and value == expected


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def inputs(self) -> frozenset[str]:
        return frozenset().union(*(p.inputs() for p in self.parts))

    def describe(self) -> str:
        return "; ".join(p.describe() for p in self.parts)

    def evaluate(self, facts: FactLookup) -> Outcome:
        results = [p.evaluate(facts) for p in self.parts]
        failed = tuple(f for r in results if r.value is False for f in r.failed)
        held = tuple(h for r in results if r.value is True for h in r.held)
        if failed:
            return Outcome(False, held=held, failed=failed)
        needs = _unique(n for r in results if r.value is None for n in r.needs)
        return Outcome(None if needs else True, held=held, needs=needs)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def inputs(self) -> frozenset[str]:
        return frozenset().union(*(p.inputs() for p in self.parts))

    def describe(self) -> str:
        return "one of: " + "; ".join(p.describe() for p in self.parts)

    def evaluate(self, facts: FactLookup) -> Outcome:
        results = [p.evaluate(facts) for p in self.parts]
        held = tuple(h for r in results if r.value is True for h in r.held)
        if any(r.value is True for r in results):
            return Outcome(True, held=held)
        needs = _unique(n for r in results if r.value is None for n in r.needs)
        failed = tuple(f for r in results for f in r.failed)
        return Outcome(None if needs else False, failed=failed, needs=needs)


@dataclass(frozen=True)
class Always:
    def inputs(self) -> frozenset[str]:
        return frozenset()

    def describe(self) -> str:
        return "always"

    def evaluate(self, facts: FactLookup) -> Outcome:
        return Outcome(True)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def compile_condition(data: Any, path: str) -> Condition:
    """Plain data -> condition tree. A list means all of its items."""
    if isinstance(data, list):
        return AllOf(tuple(compile_condition(item, f"{path}[{i}]") for i, item in enumerate(data)))
    if not isinstance(data, Mapping):
        raise RulesError(path, f"a condition must be a mapping or a list (got {data!r})")
    kinds = [k for k in ("all", "any") if k in data]
    if kinds:
        if len(data) != 1:
            raise RulesError(path, "use either all or any, alone")
        kind = kinds[0]
        items = data[kind]
        if not isinstance(items, list) or not items:
            raise RulesError(f"{path}.{kind}", "must be a non-empty list of conditions")
        parts = tuple(compile_condition(item, f"{path}.{kind}[{i}]") for i, item in enumerate(items))
        return AllOf(parts) if kind == "all" else AnyOf(parts)
    if "always" in data:
        if data != {"always": True}:
            raise RulesError(path, "write always as {always: true}, alone")
        return Always()
    return _compile_test(data, path)


def _compile_test(data: Mapping[str, Any], path: str) -> Comparison:
    name = data.get("input")
    if name not in FIELD_SPECS:
        known = ", ".join(FIELD_SPECS)
        raise RulesError(f"{path}.input", f"{name!r} is not a fact the engine knows; known facts: {known}")
    ops = [k for k in data if k != "input"]
    if len(ops) != 1 or ops[0] not in COMPARISONS:
        raise RulesError(path, f"needs exactly one test among {', '.join(COMPARISONS)} (got {ops})")
    op = ops[0]
    operand = data[op]
    _check_operand(FIELD_SPECS[name], name, op, operand, f"{path}.{op}")
    if op in ("in", "between", "includes"):
        operand = tuple(operand)
    return Comparison(name, op, operand)


def _check_operand(spec: Any, name: str, op: str, operand: Any, path: str) -> None:
    allowed = spec.choices if spec.kind == "choice" else (True, False) if spec.kind == "bool" else ()
    numeric_fact = spec.kind in ("int", "number") or (
        spec.kind == "choice" and all(isinstance(c, int) for c in spec.choices)
    )

    def is_number(x: Any) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    if op in ("in", "eq"):
        values = operand if op == "in" else [operand]
        if op == "in" and (not isinstance(operand, list) or not operand):
            raise RulesError(path, "must be a non-empty list of values")
        if not allowed:
            raise RulesError(path, f"{name} is not a fact with named values; use a numeric test")
        for v in values:
            if not any(_same(v, a) for a in allowed):
                raise RulesError(path, f"{v!r} is not a value of {name}; allowed: {_join_or(allowed)}")
    elif op in ("gt", "gte", "lt", "lte"):
        if not numeric_fact or not is_number(operand):
            raise RulesError(path, f"needs a number and a numeric fact ({name} is {spec.kind})")
    elif op == "between":
        ok = isinstance(operand, list) and len(operand) == 2 and all(is_number(x) for x in operand)
        if not numeric_fact or not ok or operand[0] > operand[1]:
            raise RulesError(path, "needs [low, high] numbers (inclusive) on a numeric fact")
    elif op == "includes":
        if spec.kind != "classes" or not isinstance(operand, list) or not operand:
            raise RulesError(path, "needs a non-empty list of drug classes, on prior_exposure")
        for v in operand:
            if v not in EXPOSURE_CLASSES:
                raise RulesError(path, f"{v!r} is not a drug class; allowed: {', '.join(EXPOSURE_CLASSES)}")


# -- rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class OptionRule:
    """One option of a setting: a regimen or an action, with its category and evidence."""

    key: str
    kind: str  # "regimen" | "action"
    category: str
    rank: int  # 1-based position in the setting (the file's display order)
    rationale: str
    trials: tuple[str, ...]
    cautions: tuple[str, ...]  # modifier keys the file names for this placement
    requires: Condition | None
    sources: tuple[str, ...]  # sources that place it (placed_by)
    status_note: str = ""
    evidence_gap: str = ""


@dataclass(frozen=True)
class NotRecommendedRule:
    """Regimens a source advises against in a setting."""

    keys: tuple[str, ...]
    reason: str
    sources: tuple[str, ...]
    trials: tuple[str, ...] = ()
    modifier: str | None = None


@dataclass(frozen=True)
class NotPlacedRule:
    """Regimens whose label covers (part of) a setting but which the setting does not offer, and why."""

    keys: tuple[str, ...]
    reason: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class SettingRule:
    key: str
    label: str
    when: Condition
    options: tuple[OptionRule, ...]
    not_recommended: tuple[NotRecommendedRule, ...] = ()
    note: str = ""
    position: int = 0  # order in the file; later settings describe later disease
    not_placed: tuple[NotPlacedRule, ...] = ()

    @property
    def lines_floor(self) -> float:
        """The lowest number of prior lines this setting's conditions allow; infinite without one.

        Used to resolve overlapping settings: the setting whose range starts closest below the
        case's count fits it best (a setting with no prior-lines condition fits every count).
        """
        floors = [_floor(c) for c in _comparisons(self.when) if c.input == "prior_lines"]
        return min(floors) if floors else float("inf")


def _comparisons(condition: Condition) -> list[Comparison]:
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, (AllOf, AnyOf)):
        return [c for part in condition.parts for c in _comparisons(part)]
    return []


def _floor(test: Comparison) -> float:
    operand = test.operand
    if test.op == "between":
        return float(operand[0])
    if test.op in ("gte", "eq"):
        return float(operand)
    if test.op == "gt":
        return float(operand) + 1
    if test.op == "in":
        return float(min(operand))
    return 1.0  # lt / lte: from the first line on


@dataclass(frozen=True)
class Target:
    """Options a rule reaches: by key, and/or by a component (a drug key or a drug class)."""

    keys: frozenset[str] = frozenset()
    drugs: frozenset[str] = frozenset()

    def matches(self, key: str, components: frozenset[str]) -> bool:
        return key in self.keys or bool(self.drugs & components)


@dataclass(frozen=True)
class Quote:
    """A verbatim phrase (at most 30 words) of a source, kept beside a rule that rests on it."""

    source: str
    text: str


@dataclass(frozen=True)
class ModifierAction:
    """What a modifier does: to which options (None: its own targets) and when (None: its trigger).

    `at_most` (demote only): the highest category the option may keep, e.g. consider.
    """

    action: str
    targets: Target | None = None
    when: Condition | None = None
    at_most: str | None = None


@dataclass(frozen=True)
class ModifierRule:
    """A patient factor that adds a caution, ranks an option lower or first, hides or excludes it."""

    key: str
    applies_to: Target | None  # None: every option
    trigger: Condition
    message: str  # the file's `effect`, shown to the board
    sources: tuple[str, ...]
    actions: tuple[ModifierAction, ...]
    trials: tuple[str, ...] = ()
    note: str = ""
    quotes: tuple[Quote, ...] = ()

    def reaches(
        self, option_key: str, listed_cautions: Iterable[str], components: frozenset[str] = frozenset()
    ) -> bool:
        """Does this modifier concern the option (by applies_to, or named in its cautions)?"""
        if self.applies_to is None or self.applies_to.matches(option_key, components):
            return True
        return self.key in listed_cautions


@dataclass(frozen=True)
class Criterion:
    """A patient feature that trials enrolled or excluded (trial_eligibility.criteria)."""

    key: str
    words: str
    when: Condition
    demote: bool = False  # an organ-function exclusion: outside every cited trial ranks one lower
    # When it holds, say for every cited trial whether it enrolled such patients: for options whose
    # trials say something about it, and for options containing one of these drugs or classes.
    report: bool = False
    report_for: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EligibilityFact:
    """What one trial did with one criterion: required it, enrolled some such patients, or excluded them."""

    trial: str
    criterion: str
    kind: str  # one of ELIGIBILITY_KINDS
    source: str | None
    quote: str = ""
    note: str = ""


@dataclass(frozen=True)
class RefractoryRule:
    """An option containing `drug` is not recommended when `when` holds (e.g. lenalidomide-refractory),

    unless a trial cited for the option enrolled such patients (criterion `criterion`).
    """

    key: str
    when: Condition
    drug: str  # a component: drug key or drug class
    criterion: str
    reason: str
    sources: tuple[str, ...]
    trials: tuple[str, ...] = ()
    notes: tuple[tuple[Condition, str, tuple[str, ...]], ...] = ()  # (when, words added, sources)
    input: str | None = None  # the drug-status fact, for the drug statuses the facts track


@dataclass(frozen=True)
class DoseTier:
    """One renal dose tier of a drug: creatinine clearance [crcl_min, crcl_max) or dialysis."""

    drug: str
    words: str  # the drug in words
    crcl_min: float | None
    crcl_max: float | None
    dialysis: bool
    dose: str
    kind: str  # "standard" (no change), "adjust" (a lower dose), "no_data" or "caution" (a renal risk)
    source: str | None
    quote: str = ""
    note: str = ""

    def holds(self, crcl: float | None, on_dialysis: bool | None) -> bool | None:
        """Does the tier apply? A case not known to be on dialysis is taken by its clearance."""
        if self.dialysis:
            return on_dialysis
        if on_dialysis:
            return False
        if self.crcl_min is None and self.crcl_max is None:
            return True
        if crcl is None:
            return None
        if self.crcl_min is not None and crcl < self.crcl_min:
            return False
        return not (self.crcl_max is not None and crcl >= self.crcl_max)

    def range_words(self) -> str:
        if self.dialysis:
            return "on dialysis"
        low, high = self.crcl_min, self.crcl_max
        if low is None and high is None:
            return "any creatinine clearance"
        if low is None:
            return f"CrCl < {high:g} mL/min"
        if high is None:
            return f"CrCl >= {low:g} mL/min"
        return f"CrCl {low:g} to < {high:g} mL/min"


@dataclass(frozen=True)
class InputRule:
    """Guidance for entering a fact (e.g. low-dose lenalidomide progression counts as refractory).

    Not evaluated by the engine: it describes how a fact is classified, which the
    therapy-line derivation and the wizard's field help apply.
    """

    key: str
    input: str
    note: str
    effect: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    version: str
    settings: tuple[SettingRule, ...]
    modifiers: tuple[ModifierRule, ...]
    regimen_components: Mapping[str, frozenset[str]]
    action_keys: frozenset[str]
    input_rules: tuple[InputRule, ...] = ()
    known_sources: frozenset[str] = field(default_factory=frozenset)
    refractory: tuple[RefractoryRule, ...] = ()
    criteria: Mapping[str, Criterion] = field(default_factory=dict)
    eligibility: Mapping[str, tuple[EligibilityFact, ...]] = field(default_factory=dict)  # by trial
    evidence: TrialEvidence = field(default_factory=TrialEvidence)
    dose_tiers: tuple[DoseTier, ...] = ()
    resolution_rule: str = DEFAULT_RESOLUTION_RULE
    dominance_rule: str = ""

    def kind_of(self, key: str) -> str:
        return "action" if key in self.action_keys and key not in self.regimen_components else "regimen"

    def components(self, key: str) -> frozenset[str]:
        return self.regimen_components.get(key, frozenset())


def rules_from_dict(
    data: Mapping[str, Any],
    regimen_components: Mapping[str, Iterable[str]],
    action_keys: Iterable[str] = (),
    version: str | None = None,
    evidence: TrialEvidence | None = None,
) -> Rules:
    """Build Rules from the algorithm structure; raise RulesError naming the bad path.

    `evidence` is what the knowledge base's trials say (prior-lines ranges, PFS comparisons);
    without it the rules know no trial populations and no randomised comparisons.
    """
    components = {k: frozenset(v) for k, v in regimen_components.items()}
    actions = frozenset(action_keys)
    known_keys = set(components) | actions
    known_drugs = frozenset().union(*components.values()) if components else frozenset()
    modifier_keys = {m.get("key") for m in data.get("modifiers") or ()}
    refractory = _refractory_rules(data.get("refractoriness") or {}, known_drugs)
    exclusion_keys = modifier_keys | {r.key for r in refractory}

    settings = tuple(
        _setting(s, f"settings[{i}]", i, known_keys, actions, components, modifier_keys, exclusion_keys)
        for i, s in enumerate(data.get("settings") or ())
    )
    modifiers: list[ModifierRule] = []
    input_rules: list[InputRule] = []
    for i, m in enumerate(data.get("modifiers") or ()):
        path = f"modifiers[{i}]"
        applies = m.get("applies_to")
        if isinstance(applies, str) and applies.startswith("input:"):
            input_rules.append(_input_rule(m, path, applies.removeprefix("input:")))
        else:
            modifiers.append(_modifier(m, path, known_keys, known_drugs))
    meta = data.get("meta") or {}
    label = (
        version or meta.get("version") or f"{meta.get('file', 'algorithm')} ({meta.get('status', 'draft')})"
    )
    sources = frozenset(s["key"] for s in data.get("sources") or () if "key" in s)
    criteria, eligibility = _trial_eligibility(data.get("trial_eligibility") or {})
    return Rules(
        version=str(label),
        settings=settings,
        modifiers=tuple(modifiers),
        regimen_components=components,
        action_keys=actions,
        input_rules=tuple(input_rules),
        known_sources=sources,
        refractory=refractory,
        criteria=criteria,
        eligibility=eligibility,
        evidence=evidence or TrialEvidence(),
        dose_tiers=_dose_tiers(data.get("renal_dosing") or {}, known_drugs),
        resolution_rule=str(meta.get("setting_resolution_rule") or DEFAULT_RESOLUTION_RULE),
        dominance_rule=str(meta.get("dominance_rule") or ""),
    )


# -- the general refractoriness rule, trial eligibility and renal dosing --------------------------


def _status_criterion(name: str) -> str:
    return name.removesuffix("_status") + "_refractory"


def _refractory_rules(data: Mapping[str, Any], known_drugs: frozenset[str]) -> tuple[RefractoryRule, ...]:
    """One rule per drug status the facts track (always, whatever the file says), then the file's others.

    The file's `refractoriness.drugs` entries add sources, trials and notes to the built-in ones;
    `refractoriness.prior_therapy` entries are rules of the same kind for earlier therapies
    (e.g. a BCMA CAR-T given before).
    """
    if not isinstance(data, Mapping):
        raise RulesError("refractoriness", "must be a mapping")
    given: dict[str, Mapping[str, Any]] = {}
    for i, item in enumerate(data.get("drugs") or ()):
        name = item.get("input")
        if name not in STATUS_DRUGS:
            raise RulesError(
                f"refractoriness.drugs[{i}].input",
                f"{name!r} is not a drug status the facts track ({', '.join(STATUS_DRUGS)})",
            )
        given[name] = item
    rules = []
    for name, (drug, words) in STATUS_DRUGS.items():
        item = given.get(name, {})
        path = f"refractoriness.drugs[{name}]"
        rules.append(
            RefractoryRule(
                key=str(item.get("key") or f"REFRACTORY-{name.removesuffix('_status').upper()}"),
                when=Comparison(name, "eq", "refractory"),
                drug=drug,
                criterion=_status_criterion(name),
                reason=str(item.get("reason") or f"contains {words}, to which the disease is refractory"),
                sources=tuple(item.get("sources") or ("imwg-uniform-reporting-2011",)),
                trials=tuple(item.get("trials") or ()),
                notes=_notes(item.get("notes") or (), f"{path}.notes"),
                input=name,
            )
        )
    for i, item in enumerate(data.get("prior_therapy") or ()):
        path = f"refractoriness.prior_therapy[{i}]"
        drug = _required(item, "drug", path)
        if drug not in known_drugs:
            raise RulesError(f"{path}.drug", f"{drug!r} is neither a drug nor a drug class of any regimen")
        rules.append(
            RefractoryRule(
                key=str(_required(item, "key", path)),
                when=compile_condition(_required(item, "when", path), f"{path}.when"),
                drug=drug,
                criterion=str(_required(item, "criterion", path)),
                reason=str(_required(item, "reason", path)),
                sources=tuple(item.get("sources") or ()),
                trials=tuple(item.get("trials") or ()),
                notes=_notes(item.get("notes") or (), f"{path}.notes"),
            )
        )
    return tuple(rules)


def _notes(items: Iterable[Any], path: str) -> tuple[tuple[Condition, str, tuple[str, ...]], ...]:
    out = []
    for j, note in enumerate(items):
        npath = f"{path}[{j}]"
        out.append(
            (
                compile_condition(_required(note, "when", npath), f"{npath}.when"),
                str(_required(note, "text", npath)),
                tuple(note.get("sources") or ()),
            )
        )
    return tuple(out)


def _trial_eligibility(
    data: Mapping[str, Any],
) -> tuple[dict[str, Criterion], dict[str, tuple[EligibilityFact, ...]]]:
    if not isinstance(data, Mapping):
        raise RulesError("trial_eligibility", "must be a mapping with criteria and trials")
    criteria: dict[str, Criterion] = {
        _status_criterion(name): Criterion(
            _status_criterion(name), f"{words}-refractory disease", Comparison(name, "eq", "refractory")
        )
        for name, (_, words) in STATUS_DRUGS.items()
    }
    for i, item in enumerate(data.get("criteria") or ()):
        path = f"trial_eligibility.criteria[{i}]"
        key = str(_required(item, "key", path))
        criteria[key] = Criterion(
            key=key,
            words=str(_required(item, "words", path)),
            when=compile_condition(_required(item, "when", path), f"{path}.when"),
            demote=bool(item.get("demote", False)),
            report=bool(item.get("report", False)),
            report_for=frozenset(item.get("report_for") or ()),
        )
    trials = data.get("trials") or {}
    if not isinstance(trials, Mapping):
        raise RulesError("trial_eligibility.trials", "must map trial keys to lists of criteria")
    eligibility: dict[str, tuple[EligibilityFact, ...]] = {}
    for trial, items in trials.items():
        facts = []
        for j, item in enumerate(items or ()):
            path = f"trial_eligibility.trials.{trial}[{j}]"
            criterion = _required(item, "criterion", path)
            if criterion not in criteria:
                raise RulesError(
                    f"{path}.criterion", f"{criterion!r} is not a criterion of trial_eligibility"
                )
            kind = _required(item, "kind", path)
            if kind not in ELIGIBILITY_KINDS:
                raise RulesError(f"{path}.kind", f"{kind!r} is not one of {', '.join(ELIGIBILITY_KINDS)}")
            facts.append(
                EligibilityFact(
                    trial=str(trial),
                    criterion=str(criterion),
                    kind=str(kind),
                    source=item.get("source"),
                    quote=str(item.get("quote") or ""),
                    note=str(item.get("note") or ""),
                )
            )
        eligibility[str(trial)] = tuple(facts)
    return criteria, eligibility


DOSE_KINDS = ("standard", "adjust", "no_data", "caution")


def _dose_tiers(data: Mapping[str, Any], known_drugs: frozenset[str]) -> tuple[DoseTier, ...]:
    if not isinstance(data, Mapping):
        raise RulesError("renal_dosing", "must be a mapping with tiers")
    tiers = []
    for i, item in enumerate(data.get("tiers") or ()):
        path = f"renal_dosing.tiers[{i}]"
        drug = _required(item, "drug", path)
        if known_drugs and drug not in known_drugs:
            raise RulesError(f"{path}.drug", f"{drug!r} is not a drug of any regimen")
        kind = _required(item, "kind", path)
        if kind not in DOSE_KINDS:
            raise RulesError(f"{path}.kind", f"{kind!r} is not one of {', '.join(DOSE_KINDS)}")
        low, high = item.get("crcl_min"), item.get("crcl_max")
        for name, value in (("crcl_min", low), ("crcl_max", high)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise RulesError(f"{path}.{name}", "must be a number of mL/min or null")
        tiers.append(
            DoseTier(
                drug=drug,
                words=str(item.get("words") or drug.lower()),
                crcl_min=low,
                crcl_max=high,
                dialysis=bool(item.get("dialysis", False)),
                dose=str(_required(item, "dose", path)),
                kind=kind,
                source=item.get("source"),
                quote=str(item.get("quote") or ""),
                note=str(item.get("note") or ""),
            )
        )
    return tuple(tiers)


def _required(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise RulesError(f"{path}.{key}", "is required")
    return data[key]


def _setting(
    data: Mapping[str, Any],
    path: str,
    position: int,
    known_keys: set[str],
    actions: frozenset[str],
    components: Mapping[str, frozenset[str]],
    modifier_keys: set[str],
    exclusion_keys: set[str],
) -> SettingRule:
    options = []
    for j, o in enumerate(data.get("options") or ()):
        opath = f"{path}.options[{j}]"
        key = _required(o, "regimen", opath)
        if key not in known_keys:
            raise RulesError(f"{opath}.regimen", f"{key!r} is neither a known regimen nor an action")
        category = _required(o, "category", opath)
        if category not in CATEGORIES:
            raise RulesError(f"{opath}.category", f"{category!r} is not one of {', '.join(CATEGORIES)}")
        cautions = tuple(o.get("cautions") or ())
        for c in cautions:
            if c not in modifier_keys:
                raise RulesError(f"{opath}.cautions", f"{c!r} is not a modifier key")
        requires = o.get("requires")
        options.append(
            OptionRule(
                key=key,
                kind="action" if key in actions and key not in components else "regimen",
                category=category,
                rank=j + 1,
                rationale=str(o.get("rationale") or ""),
                trials=tuple(o.get("trials") or ()),
                cautions=cautions,
                requires=compile_condition(requires, f"{opath}.requires") if requires else None,
                sources=_unique(p["source"] for p in o.get("placed_by") or () if p.get("source")),
                status_note=str(o.get("status_note") or ""),
                evidence_gap=str(o.get("evidence_gap") or ""),
            )
        )
    not_recommended = []
    for j, n in enumerate(data.get("not_recommended") or ()):
        npath = f"{path}.not_recommended[{j}]"
        keys = tuple(_required(n, "regimens", npath))
        for key in keys:
            if key not in known_keys:
                raise RulesError(f"{npath}.regimens", f"{key!r} is neither a known regimen nor an action")
        modifier = n.get("modifier")
        if modifier is not None and modifier not in exclusion_keys:
            raise RulesError(
                f"{npath}.modifier", f"{modifier!r} is neither a modifier nor a refractoriness key"
            )
        not_recommended.append(
            NotRecommendedRule(
                keys=keys,
                reason=str(_required(n, "reason", npath)),
                sources=_unique(p["source"] for p in n.get("placed_by") or () if p.get("source")),
                trials=tuple(n.get("trials") or ()),
                modifier=modifier,
            )
        )
    not_placed = []
    for j, n in enumerate(data.get("not_placed") or ()):
        npath = f"{path}.not_placed[{j}]"
        keys = tuple(_required(n, "regimens", npath))
        for key in keys:
            if key not in known_keys:
                raise RulesError(f"{npath}.regimens", f"{key!r} is neither a known regimen nor an action")
        not_placed.append(
            NotPlacedRule(
                keys=keys, reason=str(_required(n, "reason", npath)), sources=tuple(n.get("sources") or ())
            )
        )
    return SettingRule(
        key=_required(data, "key", path),
        label=str(data.get("label") or data["key"]),
        when=compile_condition(_required(data, "when", path), f"{path}.when"),
        options=tuple(options),
        not_recommended=tuple(not_recommended),
        note=str(data.get("note") or ""),
        position=position,
        not_placed=tuple(not_placed),
    )


def _targets(value: Any, path: str, known_keys: set[str], known_drugs: frozenset[str]) -> Target | None:
    """'all' (None), a list of regimen or action keys, or {regimens: [...], drugs: [...]}."""
    if value == ALL_OPTIONS:
        return None
    if isinstance(value, Mapping):
        unknown = set(value) - {"regimens", "drugs"}
        if unknown or not value:
            raise RulesError(path, "a mapping of targets takes regimens and/or drugs")
        keys = value.get("regimens") or []
        drugs = value.get("drugs") or []
        for drug in drugs:
            if drug not in known_drugs:
                raise RulesError(
                    f"{path}.drugs", f"{drug!r} is neither a drug nor a drug class of any regimen"
                )
    elif isinstance(value, list) and value:
        keys, drugs = value, []
    else:
        raise RulesError(path, "must be a list of regimen or action keys, {drugs: [...]}, or 'all'")
    for key in keys:
        if key not in known_keys:
            raise RulesError(path, f"{key!r} is neither a known regimen nor an action")
    return Target(frozenset(keys), frozenset(drugs))


def _modifier(
    data: Mapping[str, Any], path: str, known_keys: set[str], known_drugs: frozenset[str]
) -> ModifierRule:
    key = _required(data, "key", path)
    applies_to = _targets(_required(data, "applies_to", path), f"{path}.applies_to", known_keys, known_drugs)
    trigger = compile_condition(_required(data, "trigger", path), f"{path}.trigger")
    actions = []
    for k, item in enumerate(data.get("apply") or [{"action": "caution"}]):
        apath = f"{path}.apply[{k}]"
        action = _required(item, "action", apath)
        if action not in ACTIONS:
            raise RulesError(f"{apath}.action", f"{action!r} is not one of {', '.join(ACTIONS)}")
        targets = _targets(item["to"], f"{apath}.to", known_keys, known_drugs) if "to" in item else None
        when = compile_condition(item["when"], f"{apath}.when") if "when" in item else None
        at_most = item.get("at_most")
        if at_most is not None and (action != "demote" or at_most not in RANKED_CATEGORIES):
            raise RulesError(
                f"{apath}.at_most", f"only a demote takes at_most, one of {', '.join(RANKED_CATEGORIES)}"
            )
        actions.append(ModifierAction(action=action, targets=targets, when=when, at_most=at_most))
    evidence = data.get("evidence") or ()
    return ModifierRule(
        key=key,
        applies_to=applies_to,
        trigger=trigger,
        message=str(data.get("effect") or ""),
        sources=_unique(e["source"] for e in evidence if e.get("source")),
        actions=tuple(actions),
        trials=tuple(data.get("trials") or ()),
        note=str(data.get("note") or ""),
        quotes=tuple(
            Quote(e["source"], str(e["quote"])) for e in evidence if e.get("source") and e.get("quote")
        ),
    )


def _input_rule(data: Mapping[str, Any], path: str, name: str) -> InputRule:
    if name not in FIELD_SPECS:
        raise RulesError(f"{path}.applies_to", f"{name!r} is not a fact the engine knows")
    trigger = data.get("trigger") or {}
    return InputRule(
        key=_required(data, "key", path),
        input=name,
        note=str(trigger.get("note") or ""),
        effect=str(data.get("effect") or ""),
        sources=_unique(e["source"] for e in data.get("evidence") or () if e.get("source")),
    )
