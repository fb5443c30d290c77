"""Algorithm versions: load from the algorithm file, validate, copy to a draft, publish.

A published version never changes (the models refuse); curators copy it to a
draft, edit the draft in the admin and publish it, which retires the old one.

Loading the shipped file (`load_evidence`, hence `make setup`):
- a `meta.version` not yet in the database is created; it is published at once when
  nothing is published, or when the published version was itself loaded from an
  older version of the file (never edited in the admin: not a copy, and its label is
  its file's meta.version) and the file's version is newer (labels compare as
  dotted numbers: 2025.1 < 2026.1). A version that curators published from a draft
  is never replaced by a file load: the file's version then stays a draft for them
  to review and publish;
- the same label as a draft replaces the draft; as a published or retired version it
  must match the file exactly.
So `make setup` ends with the file's version published on a fresh database and on
one that already has an older file version published; decisions recorded under the
older version keep their frozen snapshots (they never read the rules again).
"""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from algorithm.engine import (
    Rules,
    RulesError,
    TrialEvidence,
    TrialInfo,
    comparisons_from_rows,
    rules_from_dict,
)
from regimens.evidence import EvidenceError
from regimens.models import (
    Action,
    AlgorithmModifier,
    AlgorithmOption,
    AlgorithmSetting,
    AlgorithmStatus,
    AlgorithmVersion,
    Endpoint,
    Regimen,
    RegimenComponent,
    Result,
    Trial,
    TrialArm,
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


def trial_evidence() -> TrialEvidence:
    """What the engine needs from the trials (prior-lines ranges, randomised PFS comparisons), in five queries.

    The same structure as algorithm.engine.trial_evidence_from_documents builds from the YAML
    files; an investigator's-choice arm counts for each regimen it allowed.
    """
    infos = {
        key: TrialInfo(key, name, low, high)
        for key, name, low, high in Trial.objects.values_list(
            "key", "name", "prior_lines_min", "prior_lines_max"
        )
    }
    arms: dict[tuple[str, str], tuple[str, ...]] = {}
    for arm in TrialArm.objects.select_related("trial", "regimen").prefetch_related("allowed_regimens"):
        allowed = tuple(sorted(r.key for r in arm.allowed_regimens.all()))
        arms[(arm.trial.key, arm.key)] = allowed or ((arm.regimen.key,) if arm.regimen else ())
    rows = [
        {
            "trial": r["trial__key"],
            "endpoint": r["endpoint"],
            "population": r["population"],
            "arm": r["arm__key"],
            "vs": r["vs__key"],
            "value": r["value"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "ci_level": r["ci_level"],
            "analysis": r["analysis"],
            "source": r["source__key"],
            "order": r["order"],
        }
        for r in Result.objects.filter(endpoint=Endpoint.PFS_HR).values(
            "trial__key", "endpoint", "population", "arm__key", "vs__key", "value", "ci_low", "ci_high",
            "ci_level", "analysis", "source__key", "order",
        )
    ]  # fmt: skip
    names = dict(Regimen.objects.values_list("key", "abbreviation"))
    return TrialEvidence(trials=infos, comparisons=comparisons_from_rows(rows, arms), names=names)


def compile_rules(data: dict, label: str):
    """The engine's Rules for this algorithm structure, with the knowledge base's regimens and trials."""
    components, actions = regimen_components()
    return rules_from_dict(data, components, actions, version=label, evidence=trial_evidence())


def compile_version(version: AlgorithmVersion, components=None) -> tuple[dict, Rules]:
    """A version's rules as plain data (the algorithm file's structure) and compiled by the engine.

    `components`: what `regimen_components()` returned, when compiling several versions.
    """
    data = AlgorithmVersion.objects.with_rules().get(pk=version.pk).to_rules_dict()
    regimens, actions = components or regimen_components()
    return data, rules_from_dict(data, regimens, actions, version=version.label, evidence=trial_evidence())


def option_labels(keys) -> dict[str, str]:
    """Regimen abbreviations and action labels by key (two queries); unknown keys stand for themselves."""
    keys = set(keys)
    labels = {key: key for key in keys}
    labels.update(dict(Regimen.objects.filter(key__in=keys).values_list("key", "abbreviation")))
    labels.update(dict(Action.objects.filter(key__in=keys).values_list("key", "label")))
    return labels


def problems_with(data: dict, label: str) -> list[str]:
    """What stops these rules from being used: unknown regimens, actions, inputs or trials."""
    try:
        compile_rules(data, label)
    except RulesError as error:
        return [str(error)]
    named = {t for s in data.get("settings", []) for o in s.get("options", []) for t in o.get("trials", [])}
    named |= set((data.get("trial_eligibility") or {}).get("trials") or {})
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

    A new `meta.version` becomes a draft, published at once when nothing is
    published or when the published version came from an older version of the file
    (see the module docstring); a draft of the same label is replaced; a published
    or retired version of the same label must match the file exactly.
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
    notes = _change_notes(path, data)
    if version:
        if _same_rules(version, data):
            report.record("AlgorithmVersion", label, "unchanged")
            return
        version.settings.all().delete()
        version.modifiers.all().delete()
        version.change_notes = notes
        status = "updated"
    else:
        version = AlgorithmVersion(label=label, change_notes=notes)
        status = "created"
    _write_rows(version, data)
    published = AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).first()
    if published is None or (_loaded_from_file(published) and _newer(label, published.label)):
        publish(version, user=None)
    report.record("AlgorithmVersion", label, status)


def _change_notes(path: Path, data: dict) -> str:
    """The file's meta.change_notes (a list of findings and what changed), after where it came from."""
    items = (data.get("meta") or {}).get("change_notes") or []
    lines = [f"Loaded from {path.name}."]
    lines += [f"- {item}" for item in items] if isinstance(items, list) else [str(items)]
    return "\n".join(lines)


def _loaded_from_file(version: AlgorithmVersion) -> bool:
    """Was this version loaded from the shipped file as it stands (not a curator's copy)?"""
    meta = (version.document or {}).get("meta") or {}
    return version.copied_from_id is None and str(meta.get("version") or "") == version.label


def _version_key(label: str) -> tuple[int, ...] | None:
    parts = label.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _newer(label: str, than: str) -> bool:
    """Dotted-number labels compare as numbers (2026.1 > 2025.1); other labels never count as newer."""
    mine, theirs = _version_key(label), _version_key(than)
    return mine is not None and theirs is not None and mine > theirs


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
