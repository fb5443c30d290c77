"""Algorithm versions: load from the algorithm file, validate, copy to a draft, publish.

A published version never changes (the models refuse); curators copy it to a
draft, edit the draft in the admin and publish it, which retires the old one.
"""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from algorithm.engine import Rules, RulesError, rules_from_dict
from regimens.evidence import EvidenceError
from regimens.models import (
    Action,
    AlgorithmModifier,
    AlgorithmOption,
    AlgorithmSetting,
    AlgorithmStatus,
    AlgorithmVersion,
    Regimen,
    RegimenComponent,
    Trial,
)

# Parts of the file that live on their own rows; the rest stays in `document`.
SETTING_FIELDS = {"key", "label", "when", "options"}
OPTION_FIELDS = {"regimen", "category", "rationale", "trials", "requires", "cautions", "placed_by"}
MODIFIER_FIELDS = {"key", "applies_to", "trigger", "effect", "apply", "evidence"}


def regimen_components() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Regimen key -> its drug keys and drug classes; and the action keys (as the engine reads them)."""
    components: dict[str, set[str]] = {}
    rows = RegimenComponent.objects.values_list("regimen__key", "drug__key", "drug__drug_class")
    for regimen_key, drug_key, drug_class in rows:
        components.setdefault(regimen_key, set()).update((drug_key, drug_class))
    actions = frozenset(Action.objects.values_list("key", flat=True))
    return {key: frozenset(value) for key, value in components.items()}, actions


def compile_version(version: AlgorithmVersion, components=None) -> tuple[dict, Rules]:
    """A version's rules as plain data (the algorithm file's structure) and compiled by the engine.

    `components`: what `regimen_components()` returned, when compiling several versions.
    """
    data = AlgorithmVersion.objects.with_rules().get(pk=version.pk).to_rules_dict()
    regimens, actions = components or regimen_components()
    return data, rules_from_dict(data, regimens, actions, version=version.label)


def option_labels(keys) -> dict[str, str]:
    """Regimen abbreviations and action labels by key (two queries); unknown keys stand for themselves."""
    keys = set(keys)
    labels = {key: key for key in keys}
    labels.update(dict(Regimen.objects.filter(key__in=keys).values_list("key", "abbreviation")))
    labels.update(dict(Action.objects.filter(key__in=keys).values_list("key", "label")))
    return labels


def problems_with(data: dict, label: str) -> list[str]:
    """What stops these rules from being used: unknown regimens, actions, inputs or trials."""
    components, actions = regimen_components()
    try:
        rules_from_dict(data, components, actions, version=label)
    except RulesError as error:
        return [str(error)]
    named = {t for s in data.get("settings", []) for o in s.get("options", []) for t in o.get("trials", [])}
    missing = sorted(named - set(Trial.objects.filter(key__in=named).values_list("key", flat=True)))
    return [f"unknown trial {key}" for key in missing]


def _write_rows(version: AlgorithmVersion, data: dict) -> None:
    version.document = {k: v for k, v in data.items() if k not in {"settings", "modifiers"}}
    version.save()
    for s_order, setting in enumerate(data.get("settings", [])):
        row = AlgorithmSetting.objects.create(
            version=version,
            key=setting["key"],
            label=setting.get("label", setting["key"]),
            order=s_order,
            when=setting.get("when", {"always": True}),
            details={k: v for k, v in setting.items() if k not in SETTING_FIELDS},
        )
        AlgorithmOption.objects.bulk_create(
            AlgorithmOption(
                setting=row,
                order=o_order,
                option_key=option["regimen"],
                category=option["category"],
                rationale=option.get("rationale", ""),
                trials=option.get("trials", []),
                requires=option.get("requires", []),
                cautions=option.get("cautions", []),
                placed_by=option.get("placed_by", []),
                details={k: v for k, v in option.items() if k not in OPTION_FIELDS},
            )
            for o_order, option in enumerate(setting.get("options", []))
        )
    AlgorithmModifier.objects.bulk_create(
        AlgorithmModifier(
            version=version,
            key=modifier["key"],
            order=order,
            applies_to=modifier.get("applies_to", []),
            trigger=modifier.get("trigger", {}),
            effect=modifier.get("effect", ""),
            apply=modifier.get("apply", []),
            evidence=modifier.get("evidence", []),
            details={k: v for k, v in modifier.items() if k not in MODIFIER_FIELDS},
        )
        for order, modifier in enumerate(data.get("modifiers", []))
    )


def _same_rules(version: AlgorithmVersion, data: dict) -> bool:
    # Compare through JSON-ready structures: YAML may give ints where JSON gives floats.
    import json

    def norm(value):
        return json.loads(json.dumps(value, sort_keys=True, default=str))

    return norm(version.to_rules_dict()) == norm(data)


def load_algorithm(path: Path, data: dict, report) -> None:
    """The evidence loader's hook for algorithm.yaml (see regimens/evidence/loader.py).

    A new `meta.version` becomes a draft (published at once when nothing is
    published yet); a draft of the same label is replaced; a published or
    retired version of the same label must match the file exactly.
    """
    label = str((data.get("meta") or {}).get("version") or "")
    if not label:
        raise EvidenceError(f"{path.name}: meta: the algorithm needs a version label (meta.version)")
    if problems := problems_with(data, label):
        raise EvidenceError(f"{path.name}: {problems[0]}")
    version = AlgorithmVersion.objects.filter(label=label).first()
    if version and version.status != AlgorithmStatus.DRAFT:
        if not _same_rules(version, data):
            raise EvidenceError(
                f"{path.name}: meta.version: version {label} is {version.status} and differs from the file; "
                "give the file a new meta.version to load it as a draft"
            )
        report.record("AlgorithmVersion", label, "unchanged")
        return
    if version:
        if _same_rules(version, data):
            report.record("AlgorithmVersion", label, "unchanged")
            return
        version.settings.all().delete()
        version.modifiers.all().delete()
        status = "updated"
    else:
        version = AlgorithmVersion(label=label, change_notes=f"Loaded from {path.name}.")
        status = "created"
    _write_rows(version, data)
    if not AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).exists():
        publish(version, user=None)
    report.record("AlgorithmVersion", label, status)


class DraftError(Exception):
    """The rules cannot become a draft; the message names the first problem."""


@transaction.atomic
def load_draft(data: dict, label: str, change_notes: str = "") -> AlgorithmVersion:
    """A new draft labelled `label` from rules in the algorithm file's structure: all or nothing."""
    label = label.strip()
    if not label:
        raise DraftError("label: give the draft a label, e.g. 2026.1")
    if len(label) > AlgorithmVersion._meta.get_field("label").max_length:
        raise DraftError(f"label: {label!r} is longer than 60 characters")
    if AlgorithmVersion.objects.filter(label=label).exists():
        raise DraftError(f"label: a version {label} exists already; choose another label")
    if not isinstance(data, dict) or not isinstance(data.get("settings"), list) or not data["settings"]:
        raise DraftError("settings: the file has no settings (is it an algorithm file?)")
    data = {**data, "meta": {**(data.get("meta") or {}), "version": label}}
    if problems := problems_with(data, label):
        raise DraftError(problems[0])
    draft = AlgorithmVersion(label=label, change_notes=change_notes)
    _write_rows(draft, data)
    return draft


@transaction.atomic
def copy_to_draft(version: AlgorithmVersion, label: str) -> AlgorithmVersion:
    """A new draft with the same rules, for curators to edit."""
    draft = AlgorithmVersion(label=label, copied_from=version, change_notes=f"Copied from {version.label}.")
    _write_rows(draft, version.to_rules_dict())
    return draft


class PublishError(Exception):
    """The draft cannot be published; the message lists why."""


@transaction.atomic
def publish(version: AlgorithmVersion, user) -> None:
    """Check the draft, retire the published version, publish the draft."""
    if version.status != AlgorithmStatus.DRAFT:
        raise PublishError(f"Only a draft can be published; {version.label} is {version.status}.")
    if problems := problems_with(version.to_rules_dict(), version.label):
        raise PublishError("; ".join(problems))
    AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).update(status=AlgorithmStatus.RETIRED)
    version.status = AlgorithmStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = user
    version.save()
