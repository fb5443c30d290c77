"""evaluate(facts, rules) -> Recommendation: options for the board, each explained.

The engine lists options with their evidence and cautions; the board decides.
Steps:
1. Settings whose conditions hold are matched and put in the order that resolves
   them (rules.resolution_rule: the setting that fits the number of prior lines best,
   then the more specific, then the later); settings that could hold if more facts
   were known are listed as possible.
2. Their options are gathered (one per regimen or action); the first setting in that
   order that places an option sets its category. An option whose `requires` needs an
   unknown fact stays, marked conditional with what it needs; one whose `requires`
   fails is listed as not applicable, with why.
3. Modifiers add cautions, rank options lower (or first within their category), hide
   or exclude them; renal dose tiers and the eligibility of the option's trials add
   cautions (an organ-function exclusion by every cited trial ranks it lower).
4. The refractoriness rule: an option containing a drug the disease is refractory to
   (every drug status the facts track) is not recommended, with the reason, unless a
   trial cited for it enrolled such patients (then it stays, with that trial and a
   caution). Regimens a setting advises against, and the venetoclax rule below, fill
   `not_recommended` too.
5. Randomised evidence: where a trial in the knowledge base showed A better than B on
   PFS (HR upper 95% bound < 1) in a population the case is known to match, A is
   never ranked below B unless a patient factor ranked A lower (its card then says so).
6. Regimens a matched setting lists as not placed, with why, fill `not_placed`.

Rules the engine enforces for any rules (not only the file's): the refractoriness
rule for every drug status, and no venetoclax regimen without t(11;14).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .evidence import PfsComparison
from .facts import CaseFacts, label
from .rules import (
    CATEGORIES,
    ModifierAction,
    ModifierRule,
    OptionRule,
    Outcome,
    Quote,
    RefractoryRule,
    Rules,
    SettingRule,
)

# Demotion moves an option one category down; "future" stays future (it is about time, not rank).
DEMOTED_CATEGORY = {
    "preferred": "alternative",
    "alternative": "consider",
    "consider": "consider",
    "future": "future",
}
LOWEST_RANKED = "consider"
RENAL_KEY = "RENAL-DOSE"
TRIAL_FIT_KEY = "TRIAL-FIT"
TRIAL_ENROLMENT_KEY = "TRIAL-ENROLMENT"


# -- the answer --------------------------------------------------------------------


@dataclass(frozen=True)
class SettingMatch:
    key: str
    label: str
    conditions: tuple[str, ...]  # the conditions that held, in words


@dataclass(frozen=True)
class PossibleSetting:
    """A setting that could match if the listed facts were known."""

    key: str
    label: str
    needs: tuple[str, ...]
    needs_text: str


@dataclass(frozen=True)
class Caution:
    modifier: str  # a modifier key, a refractoriness key, RENAL-DOSE, TRIAL-FIT or TRIAL-ENROLMENT
    action: str  # "caution", "demote" or "favour"
    message: str
    because: tuple[str, ...]  # the patient facts that triggered it, in words
    source: str | None
    sources: tuple[str, ...]
    quotes: tuple[Quote, ...] = ()  # verbatim phrases of the sources the caution rests on


@dataclass(frozen=True)
class Check:
    """A rule that may apply: answering `needs` would tell."""

    modifier: str
    message: str
    needs: tuple[str, ...]
    needs_text: str


@dataclass(frozen=True)
class Placement:
    setting: str
    category: str
    rank: int


@dataclass(frozen=True)
class Dominance:
    """A randomised trial compared this option directly with others (rule 4 of issue 10)."""

    trial: str
    over: tuple[str, ...]  # the regimens it was better than, on PFS
    effect: str  # "raised" (ranked up to them), "held" (already above), "not_applied" (ranked lower)
    text: str
    hr: float
    ci_low: float | None
    ci_high: float
    analysis: str
    source: str


@dataclass(frozen=True)
class Option:
    key: str
    kind: str  # "regimen" | "action"
    category: str  # after any demotion or randomised-evidence raise
    rank: int  # position in the setting that places it (the deciding setting first)
    rationale: str
    trials: tuple[str, ...]
    cautions: tuple[Caution, ...]
    checks: tuple[Check, ...]
    settings: tuple[Placement, ...]
    sources: tuple[str, ...]
    needs: tuple[str, ...]  # facts left unknown that the option depends on
    needs_text: str
    conditional: bool
    demoted_from: str | None
    status_note: str
    evidence_gap: str
    category_reason: str = ""  # how the category was set, in words
    demotion: str = ""  # what ranked it lower, in words (also at the bottom category)
    favoured: bool = False  # listed first within its category by a patient factor
    dominance: tuple[Dominance, ...] = ()


@dataclass(frozen=True)
class NotRecommended:
    key: str
    reason: str
    basis: str  # "setting" (a source advises against), "modifier" or "safety"
    source: str | None
    sources: tuple[str, ...]
    trials: tuple[str, ...]
    modifier: str | None
    setting: str | None


@dataclass(frozen=True)
class NotApplicable:
    """An option of a matched setting that does not apply to this patient, and why."""

    key: str
    reason: str
    setting: str
    modifier: str | None


@dataclass(frozen=True)
class NotPlaced:
    """A regimen whose label covers this setting but which the setting does not offer, and why."""

    key: str
    reason: str
    setting: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    algorithm_version: str
    facts: dict[str, Any]
    settings: tuple[SettingMatch, ...]
    possible_settings: tuple[PossibleSetting, ...]
    options: tuple[Option, ...]
    not_recommended: tuple[NotRecommended, ...]
    not_applicable: tuple[NotApplicable, ...]
    no_match_message: str | None
    category_rule: str = ""  # which matched setting sets an option's category
    dominance_rule: str = ""  # how randomised comparisons order the options
    not_placed: tuple[NotPlaced, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists and dicts only)."""
        return _jsonable(self)

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    def excluded(self, key: str) -> NotRecommended | None:
        return next((n for n in self.not_recommended if n.key == key), None)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# -- safety rules -------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyRule:
    applies: Callable[[CaseFacts, frozenset[str]], bool]  # (facts, regimen components)
    reason: str
    sources: tuple[str, ...]
    trials: tuple[str, ...] = ()


# Refractoriness to a drug of the regimen is one general rule (RefractoryRule, built for every
# drug status the facts track); what is left here is not about refractoriness.
SAFETY_RULES = (
    SafetyRule(
        applies=lambda f, c: f.t_11_14 is False and ("VENETOCLAX" in c or "bcl2_inhibitor" in c),
        reason=(
            "venetoclax is an option only with t(11;14), which this patient does not have; in BELLINI's "
            "whole population overall survival favoured placebo because of treatment-related sepsis"
        ),
        sources=("bellini-2020", "eha-esmo-2021"),
        trials=("BELLINI",),
    ),
)


# -- evaluation --------------------------------------------------------------------


@dataclass
class _Draft:
    """An option being assembled from every matched setting that places it."""

    rule: OptionRule
    setting_order: int
    setting_label: str
    components: frozenset[str] = frozenset()
    placements: list[Placement] = field(default_factory=list)
    listed_cautions: set[str] = field(default_factory=set)
    needs_per_placement: list[tuple[str, ...]] = field(default_factory=list)
    extra_needs: list[str] = field(default_factory=list)
    cautions: dict[str, Caution] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    demoted: bool = False
    at_most: str | None = None
    favoured: bool = False
    hidden: NotApplicable | None = None
    excluded: NotRecommended | None = None
    trials: dict[str, None] = field(default_factory=dict)
    sources: dict[str, None] = field(default_factory=dict)
    category: str = ""
    raised_by: list[str] = field(default_factory=list)
    dominance: list[Dominance] = field(default_factory=list)

    def place(self, setting: SettingRule, option: OptionRule, needs: tuple[str, ...]) -> None:
        self.placements.append(Placement(setting.key, option.category, option.rank))
        self.listed_cautions.update(option.cautions)
        self.needs_per_placement.append(needs)
        self.trials.update(dict.fromkeys(option.trials))
        self.sources.update(dict.fromkeys(option.sources))

    def needs(self) -> tuple[str, ...]:
        # Offered without condition by any setting: the option needs nothing more.
        if any(not n for n in self.needs_per_placement):
            base: tuple[str, ...] = ()
        else:
            base = tuple(n for needs in self.needs_per_placement for n in needs)
        return tuple(dict.fromkeys((*base, *self.extra_needs)))

    def ranked_lower(self) -> list[Caution]:
        return [c for c in self.cautions.values() if c.action == "demote"]

    def base_category(self) -> str:
        """The category after demotions, before any randomised-evidence raise."""
        category = DEMOTED_CATEGORY[self.rule.category] if self.demoted else self.rule.category
        if (
            self.at_most
            and category != "future"
            and CATEGORIES.index(category) < CATEGORIES.index(self.at_most)
        ):
            category = self.at_most
        return category


def evaluate(facts: CaseFacts, rules: Rules) -> Recommendation:
    """The options for these facts under these rules, with reasons, cautions and exclusions."""
    matched, possible = _match_settings(facts, rules)
    drafts, not_applicable = _gather_options(facts, rules, matched)
    _apply_modifiers(facts, rules, drafts)
    _apply_renal_tiers(facts, rules, drafts)
    _apply_trial_fit(facts, rules, drafts)
    refractory = _apply_refractoriness(facts, rules, drafts)
    excluded = _setting_exclusions(matched)
    excluded += [d.excluded for d in drafts.values() if d.excluded]
    excluded += refractory
    excluded += _safety_exclusions(facts, rules, drafts)
    excluded = _merge_exclusions(excluded)
    gone = {n.key for n in excluded}

    hidden = [d.hidden for d in drafts.values() if d.hidden and d.rule.key not in gone]
    offered = [d for d in drafts.values() if not d.hidden and d.rule.key not in gone]
    not_applicable = [n for key, n in not_applicable.items() if key not in drafts and key not in gone]
    for draft in offered:
        draft.category = draft.base_category()
    ordered = _apply_dominance(facts, rules, sorted(offered, key=_display_order))
    listed = {d.rule.key for d in ordered} | gone | {n.key for n in (*hidden, *not_applicable)}

    return Recommendation(
        algorithm_version=rules.version,
        facts=facts.to_dict(),
        settings=tuple(SettingMatch(s.key, s.label, o.held) for s, o in matched),
        possible_settings=tuple(possible),
        options=tuple(_finish(d, rules) for d in ordered),
        not_recommended=tuple(excluded),
        not_applicable=tuple(hidden + not_applicable),
        no_match_message=None if matched else _no_match_message(possible),
        category_rule=rules.resolution_rule,
        dominance_rule=rules.dominance_rule,
        not_placed=tuple(_not_placed(matched, listed)),
    )


def _match_settings(
    facts: CaseFacts, rules: Rules
) -> tuple[list[tuple[SettingRule, Outcome]], list[PossibleSetting]]:
    matched: list[tuple[SettingRule, Outcome]] = []
    possible: list[PossibleSetting] = []
    for setting in rules.settings:
        outcome = setting.when.evaluate(facts)
        if outcome.value is True:
            matched.append((setting, outcome))
        elif outcome.value is None:
            possible.append(
                PossibleSetting(setting.key, setting.label, outcome.needs, _needs_text(outcome.needs))
            )
    # The resolution rule: the best fit to the number of prior lines (the range that starts
    # closest below the case's count; no prior-lines condition fits every count), then the
    # more specific (more conditions held), then the later setting (later disease).
    matched.sort(key=lambda m: (-m[0].lines_floor, -len(m[1].held), -m[0].position))
    return matched, possible


def _gather_options(
    facts: CaseFacts, rules: Rules, matched: list[tuple[SettingRule, Outcome]]
) -> tuple[dict[str, _Draft], dict[str, NotApplicable]]:
    drafts: dict[str, _Draft] = {}
    not_applicable: dict[str, NotApplicable] = {}
    for order, (setting, _) in enumerate(matched):
        for option in setting.options:
            required = option.requires.evaluate(facts) if option.requires else Outcome(True)
            if required.value is False:
                reason = "not met: " + "; ".join(required.failed)
                not_applicable.setdefault(option.key, NotApplicable(option.key, reason, setting.key, None))
                continue
            if option.key not in drafts:
                drafts[option.key] = _Draft(option, order, setting.label, rules.components(option.key))
            drafts[option.key].place(setting, option, required.needs)
    return drafts, not_applicable


def _apply_modifiers(facts: CaseFacts, rules: Rules, drafts: dict[str, _Draft]) -> None:
    for modifier in rules.modifiers:
        trigger = modifier.trigger.evaluate(facts)
        for action in modifier.actions:
            outcome = action.when.evaluate(facts) if action.when else trigger
            if outcome.value is False:
                continue
            for draft in drafts.values():
                if _reaches(modifier, action, draft):
                    _apply(modifier, action, outcome, draft)


def _reaches(modifier: ModifierRule, action: ModifierAction, draft: _Draft) -> bool:
    if action.targets is not None:
        return action.targets.matches(draft.rule.key, draft.components)
    return modifier.reaches(draft.rule.key, draft.listed_cautions, draft.components)


def _apply(modifier: ModifierRule, action: ModifierAction, outcome: Outcome, draft: _Draft) -> None:
    source = modifier.sources[0] if modifier.sources else None
    if outcome.value is None:
        # Unknown trigger: a caution becomes a check; a hide or exclude makes the option conditional.
        check = Check(modifier.key, modifier.message, outcome.needs, _needs_text(outcome.needs))
        draft.checks.setdefault(modifier.key, check)
        if action.action in ("hide", "exclude"):
            draft.extra_needs.extend(outcome.needs)
        return
    because = outcome.held
    if action.action in ("caution", "demote", "favour"):
        caution = Caution(
            modifier.key, action.action, modifier.message, because, source, modifier.sources, modifier.quotes
        )
        # A demotion or a favour outranks a plain caution of the same modifier.
        if action.action != "caution" or modifier.key not in draft.cautions:
            draft.cautions[modifier.key] = caution
        if action.action == "demote":
            draft.demoted = draft.demoted or action.at_most is None
            if action.at_most is not None:
                draft.at_most = _lower(draft.at_most, action.at_most)
        draft.favoured = draft.favoured or action.action == "favour"
    elif action.action == "hide":
        reason = f"{modifier.message} (here: {'; '.join(because)})" if because else modifier.message
        draft.hidden = NotApplicable(draft.rule.key, reason, draft.placements[0].setting, modifier.key)
    elif action.action == "exclude":
        draft.excluded = NotRecommended(
            key=draft.rule.key,
            reason=f"{modifier.message} (here: {'; '.join(because)})" if because else modifier.message,
            basis="modifier",
            source=source,
            sources=modifier.sources,
            trials=modifier.trials,
            modifier=modifier.key,
            setting=draft.placements[0].setting,
        )


def _lower(current: str | None, new: str) -> str:
    if current is None:
        return new
    return current if CATEGORIES.index(current) > CATEGORIES.index(new) else new


# -- renal dose tiers --------------------------------------------------------------------


def _apply_renal_tiers(facts: CaseFacts, rules: Rules, drafts: dict[str, _Draft]) -> None:
    """Each drug of the option with a renal tier that changes the dose (or has no data) adds a caution."""
    if not rules.dose_tiers:
        return
    crcl, dialysis = facts.crcl_ml_min, facts.on_dialysis
    for draft in drafts.values():
        found: list[str] = []
        quotes: list[Quote] = []
        sources: list[str] = []
        unknown: list[str] = []
        for drug in sorted(draft.components):
            tiers = [t for t in rules.dose_tiers if t.drug == drug]
            if not tiers:
                continue
            holding = [t for t in tiers if t.holds(crcl, dialysis) is True]
            if holding:
                tier = holding[0]
                if tier.kind == "standard":
                    continue
                words = f"{tier.words}: {tier.dose} ({tier.range_words()})"
                found.append(f"{words}; {tier.note}" if tier.note else words)
                if tier.source:
                    sources.append(tier.source)
                    if tier.quote:
                        quotes.append(Quote(tier.source, tier.quote))
            elif any(t.kind != "standard" for t in tiers):
                unknown.append(tiers[0].words)
        if found:
            because = _renal_words(crcl, dialysis)
            draft.cautions[RENAL_KEY] = Caution(
                RENAL_KEY,
                "caution",
                "Renal dosing: " + "; ".join(found) + ".",
                because,
                sources[0] if sources else None,
                tuple(dict.fromkeys(sources)),
                tuple(quotes),
            )
        elif unknown:
            needs = ("crcl_ml_min",) if dialysis is False else ("crcl_ml_min", "on_dialysis")
            draft.checks[RENAL_KEY] = Check(
                RENAL_KEY,
                f"The dose of {', '.join(unknown)} depends on renal function.",
                needs,
                _needs_text(needs),
            )


def _renal_words(crcl: float | None, dialysis: bool | None) -> tuple[str, ...]:
    out = []
    if crcl is not None:
        out.append(f"{label('crcl_ml_min')} is {crcl:g}")
    if dialysis:
        out.append(f"{label('on_dialysis')}: yes")
    return tuple(out)


# -- the trials' populations -----------------------------------------------------------------


def _trial_outside(facts: CaseFacts, rules: Rules, trial: str) -> tuple[bool, list[str], bool, list[Quote]]:
    """(known, reasons the case is outside the trial's population, any reason demotes, quotes)."""
    info = rules.evidence.trials.get(trial)
    eligibility = rules.eligibility.get(trial, ())
    known = bool(eligibility) or (info is not None and info.lines_words() != "")
    reasons: list[str] = []
    quotes: list[Quote] = []
    demotes = False
    if info is not None and info.lines_hold(facts.prior_lines) is False:
        reasons.append(f"enrolled {info.lines_words()}")
    holds = {f.criterion: rules.criteria[f.criterion].when.evaluate(facts).value for f in eligibility}
    for fact in eligibility:
        criterion = rules.criteria[fact.criterion]
        value = holds[fact.criterion]
        # An enrolled criterion that extends an excluded one (prior_bcma_adc_or_car_t of prior_bcma)
        # is a separate cohort: a case it covers was enrolled after all.
        overridden = any(
            other.kind == "enrolled"
            and _extends(other.criterion, fact.criterion)
            and holds[other.criterion] is True
            for other in eligibility
        )
        outside = (fact.kind == "required" and value is False) or (
            fact.kind == "excluded" and value is True and not overridden
        )
        if not outside:
            continue
        verb = "enrolled only patients with" if fact.kind == "required" else "excluded"
        reasons.append(f"{verb} {criterion.words}" + (f" ({fact.note})" if fact.note else ""))
        demotes = demotes or criterion.demote
        if fact.source and fact.quote:
            quotes.append(Quote(fact.source, fact.quote))
    return known, reasons, demotes, quotes


def _extends(criterion: str, of: str) -> bool:
    """Is `criterion` a narrower form of `of` (its key starts with `of` and an underscore)?"""
    return criterion.startswith(of + "_")


def _population_matches(facts: CaseFacts, rules: Rules, trial: str) -> bool | None:
    """Is the case known to be inside the trial's population? None when a needed fact is not known."""
    info = rules.evidence.trials.get(trial)
    known, reasons, _, _ = _trial_outside(facts, rules, trial)
    if reasons:
        return False
    if info is not None and info.lines_hold(facts.prior_lines) is None and info.lines_words():
        return None
    for fact in rules.eligibility.get(trial, ()):
        if fact.kind == "required" and rules.criteria[fact.criterion].when.evaluate(facts).value is None:
            return None
    return True


def _apply_trial_fit(facts: CaseFacts, rules: Rules, drafts: dict[str, _Draft]) -> None:
    names = rules.evidence.trial_name
    for draft in drafts.values():
        trials = list(draft.trials)
        if not trials:
            continue
        verdicts = [(t, *_trial_outside(facts, rules, t)) for t in trials]
        known = [v for v in verdicts if v[1]]
        if known and all(v[2] for v in known):
            parts = [f"{names(t)} {' and '.join(reasons)}" for t, _, reasons, _, _ in known]
            quotes = tuple(q for v in known for q in v[4])
            demote = all(v[3] for v in known)
            message = "Outside the population of every trial cited for this option: " + "; ".join(parts) + "."
            if demote:
                message += " Ranked lower: the trials did not test it in patients like this one."
            draft.cautions[TRIAL_FIT_KEY] = Caution(
                TRIAL_FIT_KEY,
                "demote" if demote else "caution",
                message,
                tuple(parts),
                quotes[0].source if quotes else None,
                tuple(dict.fromkeys(q.source for q in quotes)),
                quotes,
            )
            draft.demoted = draft.demoted or demote
        _report_enrolment(facts, rules, draft)


def _report_enrolment(facts: CaseFacts, rules: Rules, draft: _Draft) -> None:
    """For a reported criterion the case meets (e.g. prior BCMA therapy): what each cited trial did."""
    lines: list[str] = []
    quotes: list[Quote] = []
    because: list[str] = []
    for criterion in rules.criteria.values():
        if not criterion.report:
            continue
        outcome = criterion.when.evaluate(facts)
        if outcome.value is not True:
            continue
        said = [
            (t, f)
            for t in draft.trials
            for f in rules.eligibility.get(t, ())
            if (f.criterion == criterion.key or _extends(f.criterion, criterion.key))
            and rules.criteria[f.criterion].when.evaluate(facts).value is True
        ]
        if not said and not (criterion.report_for & draft.components):
            continue
        for trial in draft.trials:
            facts_here = [f for t, f in said if t == trial]
            name = rules.evidence.trial_name(trial)
            if not facts_here:
                lines.append(f"{name}: not known whether it enrolled patients with {criterion.words}")
                continue
            for fact in facts_here:
                verb = {"required": "enrolled only", "enrolled": "enrolled", "excluded": "excluded"}[
                    fact.kind
                ]
                lines.append(
                    f"{name} {verb} patients with {rules.criteria[fact.criterion].words}"
                    + (f" ({fact.note})" if fact.note else "")
                )
                if fact.source and fact.quote:
                    quotes.append(Quote(fact.source, fact.quote))
        because.extend(outcome.held)
    if lines:
        draft.cautions[TRIAL_ENROLMENT_KEY] = Caution(
            TRIAL_ENROLMENT_KEY,
            "caution",
            "What the trials cited for this option enrolled: " + "; ".join(dict.fromkeys(lines)) + ".",
            tuple(dict.fromkeys(because)),
            quotes[0].source if quotes else None,
            tuple(dict.fromkeys(q.source for q in quotes)),
            tuple(quotes),
        )


# -- refractoriness ------------------------------------------------------------------------


def _option_trials(rules: Rules, key: str, drafts: dict[str, _Draft]) -> tuple[str, ...]:
    if key in drafts:
        return tuple(drafts[key].trials)
    return tuple(
        dict.fromkeys(t for s in rules.settings for o in s.options if o.key == key for t in o.trials)
    )


def _apply_refractoriness(facts: CaseFacts, rules: Rules, drafts: dict[str, _Draft]) -> list[NotRecommended]:
    """The general rule: refractory to a drug of the option -> not recommended, unless a cited trial enrolled such patients.

    Every regimen the algorithm can offer is checked, so the board also sees why, e.g.,
    lenalidomide triplets are absent for a lenalidomide-refractory patient.
    """
    candidates = dict.fromkeys([*drafts, *(o.key for s in rules.settings for o in s.options)])
    out = []
    for key in candidates:
        if rules.kind_of(key) != "regimen":
            continue
        components = rules.components(key)
        for rule in rules.refractory:
            if rule.drug not in components:
                continue
            outcome = rule.when.evaluate(facts)
            if outcome.value is None:
                if key in drafts:
                    message = (
                        f"Not recommended if {label(rule.input)} is refractory ({rule.reason})."
                        if rule.input
                        else f"Not recommended if this applies: {rule.reason}."
                    )
                    drafts[key].checks.setdefault(
                        rule.key, Check(rule.key, message, outcome.needs, _needs_text(outcome.needs))
                    )
                continue
            if outcome.value is False:
                continue
            reason, sources = _refractory_reason(facts, rule)
            enrolled = [
                f
                for t in _option_trials(rules, key, drafts)
                for f in rules.eligibility.get(t, ())
                if f.criterion == rule.criterion and f.kind in ("enrolled", "required")
            ]
            if enrolled and key in drafts:
                names = ", ".join(dict.fromkeys(rules.evidence.trial_name(f.trial) for f in enrolled))
                quotes = tuple(Quote(f.source, f.quote) for f in enrolled if f.source and f.quote)
                drafts[key].cautions[rule.key] = Caution(
                    rule.key,
                    "caution",
                    f"{reason[:1].upper()}{reason[1:]}; it stays because {names} enrolled such patients.",
                    outcome.held,
                    sources[0] if sources else None,
                    sources,
                    quotes,
                )
                drafts[key].trials.update(dict.fromkeys(f.trial for f in enrolled))
                continue
            if enrolled:
                continue
            out.append(
                NotRecommended(
                    key=key,
                    reason=reason,
                    basis="safety",
                    source=sources[0] if sources else None,
                    sources=sources,
                    trials=rule.trials,
                    modifier=rule.key,
                    setting=None,
                )
            )
    return out


def _refractory_reason(facts: CaseFacts, rule: RefractoryRule) -> tuple[str, tuple[str, ...]]:
    reason = rule.reason
    sources = list(rule.sources)
    for when, text, note_sources in rule.notes:
        if when.evaluate(facts).value is True:
            reason = f"{reason}; {text}"
            sources.extend(note_sources)
    return reason, tuple(dict.fromkeys(sources))


def _setting_exclusions(matched: list[tuple[SettingRule, Outcome]]) -> list[NotRecommended]:
    out = []
    for setting, _ in matched:
        for rule in setting.not_recommended:
            for key in rule.keys:
                out.append(
                    NotRecommended(
                        key=key,
                        reason=f"{rule.reason} (in the setting: {setting.label})",
                        basis="setting",
                        source=rule.sources[0] if rule.sources else None,
                        sources=rule.sources,
                        trials=rule.trials,
                        modifier=rule.modifier,
                        setting=setting.key,
                    )
                )
    return out


def _safety_exclusions(facts: CaseFacts, rules: Rules, drafts: dict[str, _Draft]) -> list[NotRecommended]:
    candidates = dict.fromkeys([*drafts, *(o.key for s in rules.settings for o in s.options)])
    out = []
    for key in candidates:
        if rules.kind_of(key) != "regimen":
            continue
        components = rules.components(key)
        for rule in SAFETY_RULES:
            if rule.applies(facts, components):
                out.append(
                    NotRecommended(
                        key=key,
                        reason=rule.reason,
                        basis="safety",
                        source=rule.sources[0],
                        sources=rule.sources,
                        trials=rule.trials,
                        modifier=None,
                        setting=None,
                    )
                )
    return out


def _merge_exclusions(items: list[NotRecommended]) -> list[NotRecommended]:
    """One entry per regimen: the first reason leads, further distinct reasons are appended."""
    merged: dict[str, NotRecommended] = {}
    for item in items:
        first = merged.get(item.key)
        if first is None:
            merged[item.key] = item
        elif item.reason not in first.reason:
            merged[item.key] = NotRecommended(
                key=first.key,
                reason=f"{first.reason}; also {item.reason}",
                basis=first.basis,
                source=first.source,
                sources=tuple(dict.fromkeys((*first.sources, *item.sources))),
                trials=tuple(dict.fromkeys((*first.trials, *item.trials))),
                modifier=first.modifier or item.modifier,
                setting=first.setting or item.setting,
            )
    return list(merged.values())


# -- order, randomised evidence, answer ---------------------------------------------------------


def _display_order(draft: _Draft) -> tuple[int, bool, bool, int, int]:
    return (
        CATEGORIES.index(draft.category),
        not draft.favoured,
        draft.demoted or draft.at_most is not None,
        draft.setting_order,
        draft.rule.rank,
    )


def _ranked_lower(draft: _Draft) -> bool:
    return draft.demoted or (
        draft.at_most is not None and draft.category == draft.at_most != draft.rule.category
    )


def _apply_dominance(facts: CaseFacts, rules: Rules, ordered: list[_Draft]) -> list[_Draft]:
    """A randomised PFS win keeps A from being ranked below B, unless a patient factor ranked A lower."""
    by_key = {d.rule.key: d for d in ordered}
    matches: dict[str, bool | None] = {}
    applicable: list[PfsComparison] = []
    for comp in rules.evidence.comparisons:
        if comp.better not in by_key or comp.worse not in by_key:
            continue
        if comp.trial not in matches:
            matches[comp.trial] = _population_matches(facts, rules, comp.trial)
        if matches[comp.trial] is True:
            applicable.append(comp)
    if not applicable:
        return ordered
    order = list(ordered)
    raised: dict[tuple[str, str], set[str]] = {}
    for _ in range(len(order) * len(applicable) + 1):
        changed = False
        for comp in applicable:
            a, b = by_key[comp.better], by_key[comp.worse]
            if order.index(a) < order.index(b) or _ranked_lower(a):
                continue
            order.remove(a)
            order.insert(order.index(b), a)
            if CATEGORIES.index(a.category) > CATEGORIES.index(b.category):
                a.category = b.category
            raised.setdefault((a.rule.key, comp.trial), set()).add(comp.worse)
            changed = True
        if not changed:
            break
    for (better, trial), group in _grouped(applicable).items():
        a = by_key[better]
        over = tuple(c.worse for c in group)
        first = group[0]
        names = " and ".join(rules.evidence.name(k) for k in over)
        trial_name = rules.evidence.trial_name(trial)
        below = [k for k in over if order.index(by_key[k]) < order.index(a)]
        if (better, trial) in raised:
            effect = "raised"
            text = f"Ranked with {names} because {trial_name} compared them directly ({first.words()})."
        elif below:
            effect = "not_applied"
            why = "; ".join(f"{c.modifier}: {', '.join(c.because) or c.message}" for c in a.ranked_lower())
            why = why or f"ranked lower: {a.at_most}"
            below_names = " and ".join(rules.evidence.name(k) for k in below)
            text = (
                f"Ranked below {below_names} although {trial_name} showed it better on PFS ({first.words()}), "
                f"because a patient factor ranked it lower ({why})."
            )
        else:
            effect = "held"
            text = f"{trial_name} compared it directly with {names} ({first.words()})."
        a.dominance.append(
            Dominance(
                trial, over, effect, text, first.hr, first.ci_low, first.ci_high, first.analysis, first.source
            )
        )
    return order


def _grouped(comparisons: list[PfsComparison]) -> dict[tuple[str, str], list[PfsComparison]]:
    out: dict[tuple[str, str], list[PfsComparison]] = {}
    for comp in comparisons:
        out.setdefault((comp.better, comp.trial), []).append(comp)
    return out


def _category_reason(draft: _Draft, rules: Rules) -> str:
    rule = draft.rule
    text = f"Placed as {rule.category} by the setting \u201c{draft.setting_label}\u201d"
    if len(draft.placements) > 1:
        text += " (the matched setting that decides, by the category rule)"
    text += "."
    demotion = _demotion_words(draft)
    if demotion:
        text += f" {demotion}"
    for item in draft.dominance:
        if item.effect == "raised":
            text += f" {item.text}"
    return text


def _demotion_words(draft: _Draft) -> str:
    lowered = draft.ranked_lower()
    if not lowered:
        return ""
    why = "; ".join(f"{c.modifier}" + (f" ({'; '.join(c.because)})" if c.because else "") for c in lowered)
    base = draft.rule.category
    after = draft.base_category()
    if base == "future":
        return f"Listed last among future options because of {why}."
    if after == base:
        return f"Already in the lowest ranked category ({base}): listed last in it because of {why}."
    if draft.at_most is not None and after == draft.at_most and not draft.demoted:
        return f"Kept out of the categories above {after} ({base} -> {after}) because of {why}."
    return f"Ranked lower ({base} -> {after}) because of {why}."


def _finish(draft: _Draft, rules: Rules) -> Option:
    rule = draft.rule
    needs = draft.needs()
    base = draft.base_category()
    return Option(
        key=rule.key,
        kind=rule.kind,
        category=draft.category,
        rank=rule.rank,
        rationale=rule.rationale,
        trials=tuple(draft.trials),
        cautions=tuple(draft.cautions.values()),
        checks=tuple(draft.checks.values()),
        settings=tuple(draft.placements),
        sources=tuple(draft.sources),
        needs=needs,
        needs_text=_needs_text(needs),
        conditional=bool(needs),
        demoted_from=rule.category if base != rule.category else None,
        status_note=rule.status_note,
        evidence_gap=rule.evidence_gap,
        category_reason=_category_reason(draft, rules),
        demotion=_demotion_words(draft),
        favoured=draft.favoured,
        dominance=tuple(draft.dominance),
    )


def _not_placed(matched: list[tuple[SettingRule, Outcome]], listed: set[str]) -> list[NotPlaced]:
    out: dict[str, NotPlaced] = {}
    for setting, _ in matched:
        for rule in setting.not_placed:
            for key in rule.keys:
                if key not in listed and key not in out:
                    out[key] = NotPlaced(key, rule.reason, setting.key, rule.sources)
    return list(out.values())


def _needs_text(needs: tuple[str, ...]) -> str:
    return "needs: " + ", ".join(label(n) for n in needs) if needs else ""


def _no_match_message(possible: list[PossibleSetting]) -> str:
    text = "No setting of the algorithm matches these facts, so it lists no options."
    if possible:
        could = "; ".join(f"{p.label} ({p.needs_text})" for p in possible)
        return f"{text} With more facts it could be: {could}."
    return (
        f"{text} The algorithm covers relapse after 1 or more prior lines by lenalidomide and anti-CD38 "
        "status, triple-class exposure and prior BCMA-directed therapy; check the facts entered, or "
        "discuss the case without algorithm support."
    )
