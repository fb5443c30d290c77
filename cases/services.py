"""The Django side of cases: models -> facts, the recommendation, decision snapshots.

`cases.derivation` is pure; this module builds its dataclasses from the models and
talks to the algorithm (`algorithm.services.recommend`) through `recommend()`
here, so a missing or failing algorithm never breaks a case page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from algorithm import services as algorithm_services
from cases import derivation as F
from cases.models import Case, FishResult, TherapyLine
from regimens.models import Action, Drug, Endpoint, Regimen, Result

logger = logging.getLogger(__name__)

# Evidence figures shown next to an option and frozen in a decision.
EVIDENCE_ENDPOINTS = (Endpoint.PFS_MEDIAN, Endpoint.PFS_HR, Endpoint.ORR)


def drug_catalogue(keys: Iterable[str] | None = None) -> dict[str, F.Drug]:
    """Knowledge-base drugs by key (one query); every drug when `keys` is None."""
    if keys is None:
        return {d.key: F.Drug(d.key, d.name, d.drug_class) for d in Drug.objects.all()}
    keys = set(keys)
    if not keys:
        return {}
    return {d.key: F.Drug(d.key, d.name, d.drug_class) for d in Drug.objects.filter(key__in=keys)}


def _line_keys(line: TherapyLine) -> set[str]:
    return set(line.drug_keys or []) | set(line.maintenance_drug_keys or [])


def line_data(line: TherapyLine, catalogue: dict[str, F.Drug]) -> F.Line:
    if line.regimen_id:
        drugs = [F.Drug(c.drug.key, c.drug.name, c.drug.drug_class) for c in line.regimen.components.all()]
    else:
        drugs = []
    known = {d.key for d in drugs}
    drugs += [catalogue[k] for k in line.drug_keys or [] if k in catalogue and k not in known]
    maintenance = tuple(catalogue[k] for k in line.maintenance_drug_keys or [] if k in catalogue)
    return F.Line(
        number=line.number,
        label=line.regimen_label,
        drugs=tuple(drugs),
        start=line.start,
        outcome=line.outcome,
        end=line.end,
        progression=line.progression,
        best_response=line.best_response,
        asct=line.asct,
        asct_date=line.asct_date,
        maintenance=maintenance,
        maintenance_start=line.maintenance_start,
        len_dose_at_progression_mg=(
            float(line.len_dose_at_progression_mg) if line.len_dose_at_progression_mg is not None else None
        ),
        other_classes=tuple(line.other_drug_classes or []),
    )


def case_data(
    case: Case,
    lines: list[TherapyLine] | None = None,
    overrides=None,
    catalogue: dict[str, F.Drug] | None = None,
) -> F.CaseData:
    """The pure facts input of a case. Uses prefetched lines and overrides when present, and the drug
    catalogue when given (every drug, for many cases: algorithm/impact.py), else reads its lines' drugs."""
    lines = list(case.lines.all()) if lines is None else lines
    overrides = list(case.overrides.all()) if overrides is None else overrides
    if catalogue is None:
        catalogue = drug_catalogue(k for line in lines for k in _line_keys(line))
    fish = {
        "del(17p)": case.del_17p,
        "t(4;14)": case.t_4_14,
        "t(14;16)": case.t_14_16,
        "gain/amp 1q": case.gain_1q,
    }
    as_of = case.current_relapse or timezone.localdate().replace(day=1)
    return F.CaseData(
        lines=tuple(line_data(line, catalogue) for line in lines),
        as_of=as_of,
        t_11_14=case.t_11_14 or FishResult.UNKNOWN,
        fish_high_risk=fish,
        frailty=case.frailty,
        ecog=case.ecog,
        cardiovascular_risk=case.cardiovascular_risk,
        peripheral_neuropathy_grade=case.peripheral_neuropathy_grade,
        crcl_ml_min=case.crcl_ml_min,
        car_t_eligible=case.car_t_eligible,
        ocular_surface_disease=case.ocular_surface_disease,
        prefers_fewer_hospital_visits=case.prefers_fewer_hospital_visits,
        overrides={
            o.fact: F.Override(o.value, o.reason, o.created_by.get_username() if o.created_by_id else "")
            for o in overrides
        },
    )


def case_facts(case: Case) -> dict[str, F.Fact]:
    return F.derive(case_data(case))


# --- The algorithm -----------------------------------------------------------------------------------


def unavailable(message: str) -> dict[str, Any]:
    return {
        "algorithm_version": "",
        "settings": [],
        "options": [],
        "not_recommended": [],
        "error": message,
    }


def recommend(facts: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's recommendation for a case's facts; an `error` key instead of an exception,
    so a case page or a meeting never breaks on an algorithm that is missing or refuses the facts."""
    try:
        return algorithm_services.recommend(facts)
    except algorithm_services.NoPublishedAlgorithm as exc:
        return unavailable(f"No algorithm version is published yet ({exc}).")
    except (ValueError, TypeError, LookupError) as exc:
        logger.warning("recommend() rejected the facts of a case: %s", exc)
        return unavailable(f"The algorithm could not use these facts: {exc}")


def option_keys(recommendation: dict[str, Any]) -> list[str]:
    return [str(o.get("key")) for o in recommendation.get("options", []) if o.get("key")]


def evidence_for(recommendation: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Headline ITT figures of each option's trials, for the arms of that option's regimen.

    Plain JSON rows (result id, trial, arm, measure, value, CI, analysis, source), so a
    decision can freeze exactly what was shown. One query.
    """
    wanted: dict[str, set[str]] = {}
    for option in recommendation.get("options", []):
        for trial in option.get("trials") or []:
            wanted.setdefault(str(trial), set()).add(str(option.get("key")))
    if not wanted:
        return {}
    rows = (
        Result.objects.with_context()
        .filter(trial__key__in=wanted, endpoint__in=EVIDENCE_ENDPOINTS, population="ITT")
        .filter(arm__regimen__key__in={k for keys in wanted.values() for k in keys})
        .order_by("trial__key", "order")
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for result in rows:
        regimen_key = result.arm.regimen.key if result.arm.regimen_id else None
        for option_key in wanted[result.trial.key]:
            if regimen_key != option_key:
                continue
            versus = f" vs {result.vs.short_label}" if result.vs_id else ""
            out.setdefault(option_key, []).append(
                {
                    "result_id": result.pk,
                    "trial": result.trial.name,
                    "trial_key": result.trial.key,
                    "arm": result.arm.short_label + versus,
                    "measure": result.get_endpoint_display(),
                    "value": result.value_label,
                    "ci": result.ci_label,
                    "p": result.p,
                    "analysis": result.analysis,
                    "source": str(result.source),
                    "source_url": result.source.link,
                }
            )
    return out


def snapshot(
    case: Case, facts: dict[str, F.Fact], recommendation: dict[str, Any], evidence
) -> dict[str, Any]:
    """Everything the board saw, as JSON: later knowledge-base changes cannot alter it."""
    return {
        "taken_at": timezone.now().isoformat(),
        "case": case.code,
        "case_version": case.version,
        "facts": {
            key: {
                "label": fact.label,
                "value": fact.value
                if not isinstance(fact.value, set | frozenset | tuple)
                else list(fact.value),
                "value_label": fact.value_label,
                "reason": fact.reason,
                "overridden": fact.override is not None,
            }
            for key, fact in facts.items()
        },
        "engine_facts": F.engine_facts(facts),
        "algorithm_version": recommendation.get("algorithm_version", ""),
        "recommendation": recommendation,
        "evidence": evidence,
    }


def option_labels(recommendation: dict[str, Any]) -> dict[str, str]:
    """Display names of the options and exclusions (regimen abbreviation or action label); two queries."""
    keys = {
        str(o.get("key")) for part in ("options", "not_recommended") for o in recommendation.get(part, [])
    }
    labels = {key: key for key in keys}
    labels.update(dict(Regimen.objects.filter(key__in=keys).values_list("key", "abbreviation")))
    labels.update(dict(Action.objects.filter(key__in=keys).values_list("key", "label")))
    return labels


def find_option(recommendation: dict[str, Any], key: str) -> dict[str, Any] | None:
    for option in recommendation.get("options", []):
        if option.get("key") == key:
            return option
    return None
