"""What changes between two algorithm versions, in the words the board reads.

`diff_rules` is pure: it takes both versions as plain data (the structure of
algorithm.yaml) and as compiled `Rules` (the engine's public `rules_from_dict`),
so conditions read exactly as the wizard says them ("Lenalidomide is
refractory; Prior lines is between 1 and 3"), and returns one `Change` per
difference: settings (added, removed, renamed, condition), options (added,
removed, category, rationale, conditions, trials, cautions, sources, order),
modifiers (added, removed, effect, trigger, actions, regimens reached) and the
rest of the file. `diff_versions` does the same for two `AlgorithmVersion` rows.

Example: "cilta-cel: consider → preferred in 'Lenalidomide-refractory, anti-CD38 naive'".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from algorithm.engine import Rules
from algorithm.versions import compile_version, option_labels, regimen_components

AREAS = ("setting", "option", "modifier", "document")
NOT_LISTED = gettext_lazy("not listed")


@dataclass(frozen=True)
class Change:
    """One difference between two versions, said in a sentence."""

    area: str  # one of AREAS
    kind: str  # added, removed, category, rationale, condition, trials, cautions, sources, order, ...
    text: str  # the sentence the page shows
    before: str = ""
    after: str = ""
    setting: str = ""  # setting key, when the change is about a setting or one of its options
    option: str = ""  # regimen or action key
    modifier: str = ""  # modifier key

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class VersionDiff:
    old: str  # version labels
    new: str
    old_notes: str = ""
    new_notes: str = ""
    changes: list[Change] = field(default_factory=list)

    def by_area(self) -> list[tuple[str, list[Change]]]:
        return [(area, [c for c in self.changes if c.area == area]) for area in AREAS]

    def counts(self) -> dict[str, int]:
        return {area: sum(1 for c in self.changes if c.area == area) for area in AREAS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "change_notes": {"from": self.old_notes, "to": self.new_notes},
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }


def short_label(label: str) -> str:
    """A setting's label without its parenthesis: "Lenalidomide-refractory, anti-CD38 naive or still sensitive"."""
    return label.split(" (", 1)[0].strip() or label


# -- the pure part --------------------------------------------------------------------------------


def diff_rules(
    old_data: Mapping[str, Any],
    new_data: Mapping[str, Any],
    old_rules: Rules,
    new_rules: Rules,
    labels: Mapping[str, str] | None = None,
) -> list[Change]:
    """Every difference from `old` to `new`: settings and their options, modifiers, the rest of the file."""
    names = _Names(labels or {})
    changes: list[Change] = []
    changes += _settings(old_data, new_data, old_rules, new_rules, names)
    changes += _modifiers(old_data, new_data, old_rules, new_rules, names)
    changes += _document(old_data, new_data)
    return changes


class _Names:
    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = labels

    def __call__(self, key: str) -> str:
        return self.labels.get(key, key)

    def many(self, keys: Iterable[str]) -> str:
        return ", ".join(self(k) for k in keys) or "—"


def _by_key(items: Iterable[Mapping[str, Any]], field_name: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for item in items or ():
        out.setdefault(str(item.get(field_name)), item)
    return out


def _settings(old_data, new_data, old_rules: Rules, new_rules: Rules, names: _Names) -> list[Change]:
    old_settings = _by_key(old_data.get("settings") or (), "key")
    new_settings = _by_key(new_data.get("settings") or (), "key")
    old_compiled = {s.key: s for s in old_rules.settings}
    new_compiled = {s.key: s for s in new_rules.settings}
    changes: list[Change] = []
    for key in [*old_settings, *(k for k in new_settings if k not in old_settings)]:
        old, new = old_settings.get(key), new_settings.get(key)
        if old is None:
            where = short_label(new_compiled[key].label)
            changes.append(
                Change("setting", "added",
                       _("New setting '%(setting)s': %(when)s.") % {"setting": where,
                                                                   "when": new_compiled[key].when.describe()},
                       after=new_compiled[key].when.describe(), setting=key)
            )  # fmt: skip
            changes += [_option_added(key, where, option, names) for option in new.get("options") or ()]
            continue
        if new is None:
            where = short_label(old_compiled[key].label)
            changes.append(
                Change("setting", "removed", _("Setting '%(setting)s' removed.") % {"setting": where},
                       before=old_compiled[key].when.describe(), setting=key)
            )  # fmt: skip
            changes += [_option_removed(key, where, option, names) for option in old.get("options") or ()]
            continue
        changes += _setting_changes(key, old, new, old_compiled[key], new_compiled[key], names)
    return changes


def _setting_changes(key, old, new, old_rule, new_rule, names: _Names) -> list[Change]:
    where = short_label(new_rule.label)
    changes: list[Change] = []
    if old_rule.label != new_rule.label:
        changes.append(
            Change("setting", "label", _("Setting renamed: '%(before)s' → '%(after)s'.")
                   % {"before": old_rule.label, "after": new_rule.label},
                   before=old_rule.label, after=new_rule.label, setting=key)
        )  # fmt: skip
    before, after = old_rule.when.describe(), new_rule.when.describe()
    if old.get("when") != new.get("when"):
        changes.append(
            Change("setting", "condition", _("'%(setting)s' now applies when %(after)s (was: %(before)s).")
                   % {"setting": where, "after": after, "before": before},
                   before=before, after=after, setting=key)
        )  # fmt: skip
    old_advised = {k: n.reason for n in old_rule.not_recommended for k in n.keys}
    new_advised = {k: n.reason for n in new_rule.not_recommended for k in n.keys}
    for option in [*old_advised, *(k for k in new_advised if k not in old_advised)]:
        if option not in new_advised:
            text = _("%(option)s: no longer advised against in '%(setting)s'.")
        elif option not in old_advised:
            text = _("%(option)s: now advised against in '%(setting)s' (%(reason)s).")
        elif old_advised[option] != new_advised[option]:
            text = _("%(option)s: advised against in '%(setting)s' for another reason (%(reason)s).")
        else:
            continue
        changes.append(
            Change("setting", "not_recommended",
                   text % {"option": names(option), "setting": where, "reason": new_advised.get(option, "")},
                   before=old_advised.get(option, ""), after=new_advised.get(option, ""),
                   setting=key, option=option)
        )  # fmt: skip
    if str(old.get("note") or "") != str(new.get("note") or ""):
        changes.append(
            Change("setting", "note", _("'%(setting)s': the note changed.") % {"setting": where},
                   before=str(old.get("note") or ""), after=str(new.get("note") or ""), setting=key)
        )  # fmt: skip
    changes += _options(key, where, old, new, old_rule, new_rule, names)
    return changes


def _options(key, where, old, new, old_rule, new_rule, names: _Names) -> list[Change]:
    old_options = _by_key(old.get("options") or (), "regimen")
    new_options = _by_key(new.get("options") or (), "regimen")
    old_compiled = {o.key: o for o in old_rule.options}
    new_compiled = {o.key: o for o in new_rule.options}
    # An option moved when its place among the options of both versions changed (not when one
    # before it was added or removed).
    common = [k for k in old_options if k in new_options]
    moved = {k for k, k2 in zip(common, sorted(common, key=list(new_options).index), strict=True) if k != k2}
    changes: list[Change] = []
    for option in [*old_options, *(k for k in new_options if k not in old_options)]:
        before, after = old_options.get(option), new_options.get(option)
        if before is None:
            changes.append(_option_added(key, where, after, names))
        elif after is None:
            changes.append(_option_removed(key, where, before, names))
        else:
            changes += _option_changes(key, where, option, before, after, old_compiled[option],
                                       new_compiled[option], names, option in moved)  # fmt: skip
    return changes


def _option_added(setting: str, where: str, option: Mapping[str, Any], names: _Names) -> Change:
    key, category = str(option["regimen"]), str(option.get("category", ""))
    return Change(
        "option", "added",
        _("%(option)s: %(before)s → %(after)s in '%(setting)s' (new option).")
        % {"option": names(key), "before": str(NOT_LISTED), "after": category, "setting": where},
        before="", after=category, setting=setting, option=key,
    )  # fmt: skip


def _option_removed(setting: str, where: str, option: Mapping[str, Any], names: _Names) -> Change:
    key, category = str(option["regimen"]), str(option.get("category", ""))
    return Change(
        "option", "removed",
        _("%(option)s: %(before)s → %(after)s in '%(setting)s' (no longer offered there).")
        % {"option": names(key), "before": category, "after": str(NOT_LISTED), "setting": where},
        before=category, after="", setting=setting, option=key,
    )  # fmt: skip


def _condition_words(rule) -> str:
    return rule.requires.describe() if rule.requires is not None else _("no further condition")


def _option_changes(
    setting, where, key, old, new, old_rule, new_rule, names: _Names, moved: bool
) -> list[Change]:
    name = names(key)
    out: list[Change] = []

    def change(kind: str, text: str, before: str = "", after: str = "") -> None:
        values = {"option": name, "setting": where, "before": before, "after": after}
        out.append(Change("option", kind, text % values, before, after, setting=setting, option=key))

    if old_rule.category != new_rule.category:
        change("category", _("%(option)s: %(before)s → %(after)s in '%(setting)s'."),
               old_rule.category, new_rule.category)  # fmt: skip
    if moved and old_rule.rank != new_rule.rank:
        change("order", _("%(option)s: moved from place %(before)s to place %(after)s in '%(setting)s'."),
               str(old_rule.rank), str(new_rule.rank))  # fmt: skip
    if (old.get("requires") or []) != (new.get("requires") or []):
        change("requires", _("%(option)s in '%(setting)s': offered when %(after)s (was: %(before)s)."),
               _condition_words(old_rule), _condition_words(new_rule))  # fmt: skip
    if old_rule.rationale != new_rule.rationale:
        change("rationale", _("%(option)s in '%(setting)s': the rationale changed."),
               old_rule.rationale, new_rule.rationale)  # fmt: skip
    for kind, text, before, after in (
        ("trials", _("%(option)s in '%(setting)s': evidence trials %(before)s → %(after)s."),
         old_rule.trials, new_rule.trials),
        ("cautions", _("%(option)s in '%(setting)s': cautions named %(before)s → %(after)s."),
         old_rule.cautions, new_rule.cautions),
        ("sources", _("%(option)s in '%(setting)s': placed by %(before)s → %(after)s."),
         old_rule.sources, new_rule.sources),
    ):  # fmt: skip
        if set(before) != set(after):
            change(kind, text, ", ".join(before) or "—", ", ".join(after) or "—")
    for kind, text in (
        ("status_note", _("%(option)s in '%(setting)s': the status note changed.")),
        ("evidence_gap", _("%(option)s in '%(setting)s': the evidence gap changed.")),
    ):
        if getattr(old_rule, kind, "") != getattr(new_rule, kind, ""):
            change(kind, text, getattr(old_rule, kind, ""), getattr(new_rule, kind, ""))
    return out


ACTION_WORDS = {
    "caution": gettext_lazy("adds a caution"),
    "demote": gettext_lazy("ranks lower"),
    "hide": gettext_lazy("hides"),
    "exclude": gettext_lazy("excludes"),
}


def _actions_words(modifier, names: _Names) -> str:
    parts = []
    for action in modifier.actions:
        words = str(ACTION_WORDS.get(action.action, action.action))
        if action.targets is not None:
            words += " " + _("(%(options)s)") % {"options": _target_words(action.targets, names)}
        if action.when is not None:
            words += " " + _("when %(when)s") % {"when": action.when.describe()}
        parts.append(words)
    return "; ".join(parts)


def _when(condition) -> str:
    words = condition.describe()
    return _("in every case") if words == "always" else _("when %(condition)s") % {"condition": words}


def _reach_words(modifier, names: _Names) -> str:
    if modifier.applies_to is None:
        return _("every option")
    return _target_words(modifier.applies_to, names)


def _target_words(target, names: _Names) -> str:
    """The options a rule reaches: by key, and options containing a drug or class (engine Target)."""
    parts = [names.many(sorted(target.keys))] if target.keys else []
    parts += [
        _("options with %(drug)s") % {"drug": drug.lower().replace("_", " ")} for drug in sorted(target.drugs)
    ]
    return ", ".join(parts)


def _modifiers(old_data, new_data, old_rules: Rules, new_rules: Rules, names: _Names) -> list[Change]:
    old_raw = _by_key(old_data.get("modifiers") or (), "key")
    new_raw = _by_key(new_data.get("modifiers") or (), "key")
    old_compiled = {m.key: m for m in old_rules.modifiers}
    new_compiled = {m.key: m for m in new_rules.modifiers}
    changes: list[Change] = []
    for key in [*old_raw, *(k for k in new_raw if k not in old_raw)]:
        old, new = old_compiled.get(key), new_compiled.get(key)
        if old is None and new is None:
            # A rule about an input (applies_to: input:...), not evaluated by the engine.
            if old_raw.get(key) != new_raw.get(key):
                changes.append(
                    Change(
                        "modifier",
                        "input_rule",
                        _("%(key)s (how a fact is entered) changed.") % {"key": key},
                        modifier=key,
                    )
                )
            continue  # fmt: skip
        if old is None:
            changes.append(
                Change("modifier", "added",
                       _("New modifier %(key)s for %(reach)s: %(actions)s %(trigger)s.")
                       % {"key": key, "reach": _reach_words(new, names), "actions": _actions_words(new, names),
                          "trigger": _when(new.trigger)},
                       after=new.message, modifier=key)
            )  # fmt: skip
            continue
        if new is None:
            changes.append(
                Change("modifier", "removed",
                       _("Modifier %(key)s removed (it %(actions)s for %(reach)s %(trigger)s).")
                       % {"key": key, "reach": _reach_words(old, names), "actions": _actions_words(old, names),
                          "trigger": _when(old.trigger)},
                       before=old.message, modifier=key)
            )  # fmt: skip
            continue
        for kind, text, before, after in (
            ("trigger", _("%(key)s: now applies when %(after)s (was: %(before)s)."),
             old.trigger.describe(), new.trigger.describe()),
            ("actions", _("%(key)s: %(before)s → %(after)s."),
             _actions_words(old, names), _actions_words(new, names)),
            ("reach", _("%(key)s: reaches %(after)s (was %(before)s)."),
             _reach_words(old, names), _reach_words(new, names)),
            ("effect", _("%(key)s: what the board reads changed."), old.message, new.message),
            ("sources", _("%(key)s: sources %(before)s → %(after)s."),
             ", ".join(old.sources) or "—", ", ".join(new.sources) or "—"),
        ):  # fmt: skip
            if before != after:
                changes.append(Change("modifier", kind, text % {"key": key, "before": before, "after": after},
                                      before, after, modifier=key))  # fmt: skip
    return changes


def _document(old_data: Mapping[str, Any], new_data: Mapping[str, Any]) -> list[Change]:
    """The rest of the file (inputs, trials, sources, open questions, meta except the version label)."""
    changes: list[Change] = []
    skip = {"settings", "modifiers"}
    old_meta = {k: v for k, v in (old_data.get("meta") or {}).items() if k != "version"}
    new_meta = {k: v for k, v in (new_data.get("meta") or {}).items() if k != "version"}
    for key in sorted(set(old_meta) | set(new_meta)):
        if old_meta.get(key) != new_meta.get(key):
            changes.append(Change("document", "meta", _("meta.%(key)s changed.") % {"key": key}))
    for key in sorted((set(old_data) | set(new_data)) - skip - {"meta"}):
        if old_data.get(key) != new_data.get(key):
            changes.append(Change("document", key, _("The file's %(key)s changed.") % {"key": key}))
    return changes


# -- versions in the database --------------------------------------------------------------------


def diff_versions(old, new) -> VersionDiff:
    """Two `AlgorithmVersion` rows (any status) -> their differences, with both change notes."""
    components = regimen_components()
    old_data, old_rules = compile_version(old, components)
    new_data, new_rules = compile_version(new, components)
    keys = _option_keys(old_data) | _option_keys(new_data)
    return VersionDiff(
        old=old.label,
        new=new.label,
        old_notes=old.change_notes,
        new_notes=new.change_notes,
        changes=diff_rules(old_data, new_data, old_rules, new_rules, option_labels(keys)),
    )


def _option_keys(data: Mapping[str, Any]) -> set[str]:
    keys = {str(o.get("regimen")) for s in data.get("settings") or () for o in s.get("options") or ()}
    keys |= {str(k) for s in data.get("settings") or () for n in s.get("not_recommended") or ()
             for k in n.get("regimens") or ()}  # fmt: skip
    for m in data.get("modifiers") or ():
        if isinstance(m.get("applies_to"), list):
            keys |= {str(k) for k in m["applies_to"]}
        for a in m.get("apply") or ():
            keys |= {str(k) for k in a.get("to") or ()} if isinstance(a, Mapping) else set()
    return keys
