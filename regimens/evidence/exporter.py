"""Write the knowledge base back out in the format of the evidence files (README.md here).

One document with `drugs`, `regimens`, `actions` and `trials`, ordered by the
`order` fields and then by keys, so that two exports of the same data are
identical and a diff shows only what a curator changed. Results of a trial
all sit under it (no `additions`); a trial lists its own sources plus every
source its results cite. A source that is only a URL (key `url-...`, no
citation, DOI or PMID) is written as that URL, wherever it appears.
"""

import json
from typing import Any

import yaml
from django.db.models import Prefetch

from regimens.evidence.loader import CI95_LEVEL, url_source_key
from regimens.models import (
    Action,
    ApprovalStatus,
    Caution,
    Drug,
    Regimen,
    RegimenComponent,
    RegulatoryEvent,
    Result,
    Source,
    Trial,
)

FORMATS = ("yaml", "json")


def export_evidence() -> dict[str, list[dict[str, Any]]]:
    """The whole knowledge base as plain data (lists, dicts, str, int, float, None)."""
    return {
        "drugs": [_drug(drug) for drug in _drugs()],
        "regimens": [_regimen(regimen) for regimen in _regimens()],
        "actions": [_action(action) for action in _actions()],
        "trials": [_trial(trial) for trial in _trials()],
    }


def dump(document: dict, format: str = "yaml") -> str:
    if format == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line text as literal blocks, so notes stay readable in a diff."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


FLOW_WIDTH = 80  # short lists and pairs on one line, as the files write `ci95: [11.8, 16.1]`


def _fits_on_a_line(value: list | dict) -> bool:
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict) and len(value) > 2:
        return False
    flat = all(
        not isinstance(item, dict | list) or (isinstance(item, list) and _fits_on_a_line(item))
        for item in items
    )
    return flat and len(json.dumps(value, ensure_ascii=False)) <= FLOW_WIDTH


def _represent_list(dumper: yaml.SafeDumper, items: list) -> yaml.SequenceNode:
    return dumper.represent_sequence(
        "tag:yaml.org,2002:seq", items, flow_style=_fits_on_a_line(items) or None
    )


def _represent_dict(dumper: yaml.SafeDumper, mapping: dict) -> yaml.MappingNode:
    flow = bool(mapping) and _fits_on_a_line(mapping)
    return dumper.represent_mapping("tag:yaml.org,2002:map", mapping, flow_style=flow or None)


_Dumper.add_representer(str, _represent_text)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


# --------------------------------------------------------------------------- queries


def _drugs():
    return Drug.objects.prefetch_related(
        Prefetch("cautions", queryset=Caution.objects.select_related("source").order_by("order", "key")),
        Prefetch(
            "regulatory_events",
            queryset=RegulatoryEvent.objects.select_related("source").order_by(
                "order", "year", "agency", "event"
            ),
        ),
        "sources",
    ).order_by("key")


def _regimens():
    return (
        Regimen.objects.select_related("schedule_source")
        .prefetch_related(
            Prefetch(
                "components",
                queryset=RegimenComponent.objects.select_related("drug").order_by("order", "drug__key"),
            ),
            "approvals__source",
            "key_trials",
        )
        .order_by("key")
    )


def _actions():
    return Action.objects.select_related("source").prefetch_related("other_sources").order_by("key")


def _trials():
    return Trial.objects.prefetch_related(
        "arms__regimen",
        "arms__allowed_regimens",
        Prefetch("results", queryset=Result.objects.select_related("arm", "vs", "source")),
        "sources",
    ).order_by("key")


# --------------------------------------------------------------------------- records


def _text(value: str) -> str | None:
    """Empty text is written as null, as the files do."""
    return value or None


def _is_url_only(source: Source) -> bool:
    return (
        bool(source.url)
        and not (source.citation or source.doi or source.pmid)
        and (source.key == url_source_key(source.url))
    )


def _url(source: Source | None) -> str | None:
    """A source in a place where the format takes a URL."""
    return (source.url or source.link) if source else None


def _source_entry(source: Source) -> str | dict[str, Any]:
    if _is_url_only(source):
        return source.url
    return {
        "key": source.key,
        "citation": _text(source.citation),
        "doi": _text(source.doi),
        "pmid": _text(source.pmid),
        "url": _text(source.url),
    }


def _drug(drug: Drug) -> dict[str, Any]:
    record: dict[str, Any] = {
        "key": drug.key,
        "name": drug.name,
        "drug_class": drug.drug_class,
        "route": _text(drug.route),
        "cautions": [_caution(caution) for caution in drug.cautions.all()],
    }
    urls = sorted({_url(source) for source in drug.sources.all()})
    if urls:
        record["sources"] = urls
    events = [
        {"agency": e.agency, "year": e.year, "event": e.event, "source": _url(e.source)}
        for e in drug.regulatory_events.all()
    ]
    if events:
        record["regulatory_history"] = events
    if drug.notes:
        record["notes"] = drug.notes
    return record


def _caution(caution: Caution) -> str | dict[str, Any]:
    if not (caution.description or caution.source or caution.quote):
        return caution.key
    record: dict[str, Any] = {"key": caution.key}
    if caution.description:
        record["description"] = caution.description
    if caution.source:
        record["source"] = _url(caution.source)
    if caution.quote:
        record["quote"] = caution.quote
    return record


def _regimen(regimen: Regimen) -> dict[str, Any]:
    record: dict[str, Any] = {
        "key": regimen.key,
        "abbreviation": regimen.abbreviation,
        "aliases": list(regimen.aliases),
        "name": regimen.name,
        "drugs": [component.drug.key for component in regimen.components.all()],
        "schedule": _text(regimen.schedule),
    }
    if regimen.schedule_source:
        record["schedule_source"] = _url(regimen.schedule_source)
    record["key_trials"] = sorted(trial.key for trial in regimen.key_trials.all())
    approvals = sorted(
        regimen.approvals.all(), key=lambda a: (a.year or 0, a.agency, str(a.date or ""), a.indication)
    )
    record["approvals"] = [_approval(approval) for approval in approvals]
    if regimen.notes:
        record["notes"] = regimen.notes
    return record


def _approval(approval) -> dict[str, Any]:
    record: dict[str, Any] = {"agency": approval.agency, "year": approval.year}
    if approval.date:
        record["date"] = approval.date.isoformat()
    record["indication"] = approval.indication
    if approval.status != ApprovalStatus.APPROVED:
        record["status"] = approval.status
    record["source"] = _url(approval.source)
    if approval.quote:
        record["quote"] = approval.quote
    return record


def _action(action: Action) -> dict[str, Any]:
    return {
        "key": action.key,
        "label": action.label,
        "description": _text(action.description),
        "source": _url(action.source),
        "other_sources": sorted({_url(source) for source in action.other_sources.all()}),
        "notes": _text(action.notes),
    }


def _trial(trial: Trial) -> dict[str, Any]:
    low, high = trial.prior_lines_min, trial.prior_lines_max
    arms = sorted(trial.arms.all(), key=lambda arm: (arm.order, arm.key))
    results = sorted(trial.results.all(), key=_result_sort_key)
    sources = {source.key: source for source in trial.sources.all()}
    sources.update((result.source.key, result.source) for result in results)
    return {
        "key": trial.key,
        "name": trial.name,
        "nct": _text(trial.nct),
        "phase": trial.phase,
        "design": _text(trial.design),
        "population": _text(trial.population),
        "prior_lines": None if low is None and high is None else {"min": low, "max": high},
        "len_refractory_pct": trial.len_refractory_pct,
        "anti_cd38_refractory_pct": trial.anti_cd38_refractory_pct,
        "triple_class_refractory_pct": trial.triple_class_refractory_pct,
        "arms": [
            {
                "key": arm.key,
                "regimen": arm.regimen.key if arm.regimen else None,
                "label": arm.label,
                "n": arm.n,
                **_allowed_regimens(arm),
            }
            for arm in arms
        ],
        "results": [_result(result) for result in results],
        "sources": [_source_entry(sources[key]) for key in sorted(sources)],
        "notes": _text(trial.notes),
    }


def _allowed_regimens(arm) -> dict[str, list[str]]:
    """An investigator's-choice arm's regimens, in key order; nothing for an arm of one regimen."""
    keys = sorted(regimen.key for regimen in arm.allowed_regimens.all())
    return {"allowed_regimens": keys} if keys else {}


def _result_sort_key(result: Result) -> tuple:
    return (
        result.order,
        result.endpoint,
        result.population,
        result.arm.key,
        result.vs.key if result.vs else "",
        result.analysis,
    )


def _result(result: Result) -> dict[str, Any]:
    record: dict[str, Any] = {
        "endpoint": result.endpoint,
        "population": result.population,
        "arm": result.arm.key,
    }
    if result.vs:
        record["vs"] = result.vs.key
    record["value"] = result.value
    if result.not_reached:
        record["not_reached"] = True
    bounds = None if result.ci_low is None and result.ci_high is None else [result.ci_low, result.ci_high]
    if result.ci_level == CI95_LEVEL or bounds is None:
        record["ci95"] = bounds
    else:
        record["ci95"] = None
        record["ci_other"] = {"level": result.ci_level, "bounds": bounds}
    if result.unit:
        record["unit"] = result.unit
    if result.p:
        record["p"] = result.p
    record["analysis"] = _text(result.analysis)
    record["source"] = result.source.key
    if result.quote:
        record["quote"] = result.quote
    return record
