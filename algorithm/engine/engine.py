"""evaluate(facts, rules) -> Recommendation: options for the board, each explained.

The engine lists options with their evidence and cautions; the board decides.
Steps:
1. Settings whose conditions hold are matched, most specific first; settings that
   could hold if more facts were known are listed as possible.
2. Their options are gathered (one per regimen or action). An option whose
   `requires` needs an unknown fact stays, marked conditional with what it needs;
   one whose `requires` fails is listed as not applicable, with why.
3. Modifiers add cautions, rank options lower, hide or exclude them.
4. Regimens a setting advises against, and the safety rules below, fill
   `not_recommended`, each with its reason and sources.

Safety rules, enforced here for any facts and any rules (not only the file's):
no lenalidomide-containing regimen when lenalidomide-refractory, no anti-CD38
regimen when anti-CD38-refractory, no venetoclax regimen without t(11;14).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .facts import CaseFacts, label
from .rules import CATEGORIES, ModifierAction, ModifierRule, OptionRule, Outcome, Rules, SettingRule

# Demotion moves an option one category down; "future" stays future (it is about time, not rank).
DEMOTED_CATEGORY = {
    "preferred": "alternative",
    "alternative": "consider",
    "consider": "consider",
    "future": "future",
}


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
    modifier: str
    action: str  # "caution" or "demote"
    message: str
    because: tuple[str, ...]  # the patient facts that triggered it, in words
    source: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    """A modifier that may apply: answering `needs` would tell."""

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
class Option:
    key: str
    kind: str  # "regimen" | "action"
    category: str  # after any demotion
    rank: int  # position in the setting that places it (most specific setting first)
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
class Recommendation:
    algorithm_version: str
    facts: dict[str, Any]
    settings: tuple[SettingMatch, ...]
    possible_settings: tuple[PossibleSetting, ...]
    options: tuple[Option, ...]
    not_recommended: tuple[NotRecommended, ...]
    not_applicable: tuple[NotApplicable, ...]
    no_match_message: str | None

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


SAFETY_RULES = (
    SafetyRule(
        applies=lambda f, c: f.len_status == "refractory" and "LENALIDOMIDE" in c,
        reason=(
            "contains lenalidomide, and the disease is lenalidomide-refractory (IMWG: progression on "
            "lenalidomide or within 60 days of the last dose; progression on low-dose maintenance counts)"
        ),
        sources=("imwg-uniform-reporting-2011", "seed-barila-2025"),
    ),
    SafetyRule(
        applies=lambda f, c: f.anti_cd38_status == "refractory" and "anti_cd38" in c,
        reason=(
            "contains an anti-CD38 antibody, and the disease is anti-CD38-refractory: retreatment showed no "
            "significant benefit, and no data show isatuximab works after daratumumab resistance"
        ),
        sources=("seed-barila-2025", "nci-pdq-mm-2025"),
        trials=("LYNX",),
    ),
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
    placements: list[Placement] = field(default_factory=list)
    listed_cautions: set[str] = field(default_factory=set)
    needs_per_placement: list[tuple[str, ...]] = field(default_factory=list)
    extra_needs: list[str] = field(default_factory=list)
    cautions: dict[str, Caution] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    demoted: bool = False
    hidden: NotApplicable | None = None
    excluded: NotRecommended | None = None
    trials: dict[str, None] = field(default_factory=dict)
    sources: dict[str, None] = field(default_factory=dict)

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


def evaluate(facts: CaseFacts, rules: Rules) -> Recommendation:
    """The options for these facts under these rules, with reasons, cautions and exclusions."""
    matched, possible = _match_settings(facts, rules)
    drafts, not_applicable = _gather_options(facts, matched)
    _apply_modifiers(facts, rules, drafts)
    excluded = _setting_exclusions(matched)
    excluded += [d.excluded for d in drafts.values() if d.excluded]
    excluded += _safety_exclusions(facts, rules, drafts)
    excluded = _merge_exclusions(excluded)
    gone = {n.key for n in excluded}

    hidden = [d.hidden for d in drafts.values() if d.hidden and d.rule.key not in gone]
    offered = [d for d in drafts.values() if not d.hidden and d.rule.key not in gone]
    not_applicable = [n for key, n in not_applicable.items() if key not in drafts and key not in gone]

    return Recommendation(
        algorithm_version=rules.version,
        facts=facts.to_dict(),
        settings=tuple(SettingMatch(s.key, s.label, o.held) for s, o in matched),
        possible_settings=tuple(possible),
        options=tuple(_finish(d) for d in sorted(offered, key=_display_order)),
        not_recommended=tuple(excluded),
        not_applicable=tuple(hidden + not_applicable),
        no_match_message=None if matched else _no_match_message(possible),
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
    # Most specific first: more conditions that held; on a tie, the later setting
    # (settings are in order of disease course, so the later one is where the case has got to).
    matched.sort(key=lambda m: (-len(m[1].held), -m[0].position))
    return matched, possible


def _gather_options(
    facts: CaseFacts, matched: list[tuple[SettingRule, Outcome]]
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
            draft = drafts.setdefault(option.key, _Draft(option, order))
            draft.place(setting, option, required.needs)
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
        return draft.rule.key in action.targets
    return modifier.reaches(draft.rule.key, draft.listed_cautions)


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
    if action.action in ("caution", "demote"):
        caution = Caution(modifier.key, action.action, modifier.message, because, source, modifier.sources)
        if action.action == "demote" or modifier.key not in draft.cautions:
            draft.cautions[modifier.key] = caution
        draft.demoted = draft.demoted or action.action == "demote"
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
    # Every regimen the algorithm can offer is checked, so the board also sees, e.g.,
    # why lenalidomide triplets are absent for a lenalidomide-refractory patient.
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


def _display_order(draft: _Draft) -> tuple[int, bool, int, int]:
    return (CATEGORIES.index(_category(draft)), draft.demoted, draft.setting_order, draft.rule.rank)


def _category(draft: _Draft) -> str:
    return DEMOTED_CATEGORY[draft.rule.category] if draft.demoted else draft.rule.category


def _finish(draft: _Draft) -> Option:
    rule = draft.rule
    needs = draft.needs()
    return Option(
        key=rule.key,
        kind=rule.kind,
        category=_category(draft),
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
        demoted_from=rule.category if draft.demoted and _category(draft) != rule.category else None,
        status_note=rule.status_note,
        evidence_gap=rule.evidence_gap,
    )


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
