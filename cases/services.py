"""The Django side of cases: models -> facts, the recommendation, decision snapshots.

`cases.derivation` is pure; this module builds its dataclasses from the models,
asks the algorithm through `recommend()` here (so a missing or failing algorithm
never breaks a case page) and presents the answer with the one presenter
(`algorithm.presenting`), as the wizard does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, gettext

from algorithm import services as algorithm_services
from algorithm.presenting import labels, option_choices, present, without_future
from algorithm.services import published_document
from cases import derivation
from cases.models import Case, FishResult, TherapyLine
from regimens.models import Drug

logger = logging.getLogger(__name__)


def drug_catalogue(keys: Iterable[str] | None = None) -> dict[str, derivation.Drug]:
    """Knowledge-base drugs by key (one query); every drug when `keys` is None."""
    if keys is None:
        return {d.key: derivation.Drug(d.key, d.name, d.drug_class) for d in Drug.objects.all()}
    keys = set(keys)
    if not keys:
        return {}
    return {d.key: derivation.Drug(d.key, d.name, d.drug_class) for d in Drug.objects.filter(key__in=keys)}


def _line_keys(line: TherapyLine) -> set[str]:
    return set(line.drug_keys or []) | set(line.maintenance_drug_keys or [])


def line_data(line: TherapyLine, catalogue: dict[str, derivation.Drug]) -> derivation.Line:
    if line.regimen_id:
        drugs = [
            derivation.Drug(c.drug.key, c.drug.name, c.drug.drug_class) for c in line.regimen.components.all()
        ]
    else:
        drugs = []
    known = {d.key for d in drugs}
    drugs += [catalogue[k] for k in line.drug_keys or [] if k in catalogue and k not in known]
    maintenance = tuple(catalogue[k] for k in line.maintenance_drug_keys or [] if k in catalogue)
    return derivation.Line(
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
    catalogue: dict[str, derivation.Drug] | None = None,
) -> derivation.CaseData:
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
    return derivation.CaseData(
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
            o.fact: derivation.Override(
                o.value, o.reason, o.created_by.get_username() if o.created_by_id else ""
            )
            for o in overrides
        },
    )


def case_facts(case: Case) -> dict[str, derivation.Fact]:
    return derivation.derive(case_data(case))


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
        return unavailable(gettext("No algorithm version is published yet (%(error)s).") % {"error": exc})
    except (ValueError, TypeError, LookupError) as exc:
        logger.warning("recommend() rejected the facts of a case: %s", exc)
        return unavailable(gettext("The algorithm could not use these facts: %(error)s") % {"error": exc})


@dataclass(frozen=True)
class CaseOptions:
    """A case's facts, the algorithm's answer and what the pages show of it (the one presenter's rows)."""

    facts: dict[str, derivation.Fact]
    engine_facts: dict[str, Any]
    recommendation: dict[str, Any]
    presented: dict[str, Any]  # as the wizard shows it by default: "future" options left out
    hidden_future: int = 0

    @property
    def choices(self) -> list[tuple[str, str]]:
        return option_choices(self.presented)

    def label(self, key: str) -> str:
        return labels(self.presented).get(key, key)

    def first_listed(self) -> dict[str, Any] | None:
        """The first regimen shown (else the first option): what synthetic demo and benchmark decisions
        choose, so that each has a treatment whose follow-up the outcomes page can show."""
        shown = [o for g in self.presented.get("groups", []) for o in g["options"]]
        return next((o for o in shown if o["is_regimen"]), shown[0] if shown else None)


def options_for(case: Case) -> CaseOptions:
    """The options for a case, as the wizard shows them for the same facts (uses prefetched lines)."""
    facts = derivation.derive(case_data(case))
    engine = derivation.engine_facts(facts)
    recommendation = recommend(engine)
    found = published_document()
    presented, hidden_future = without_future(present(recommendation, found[1] if found else {}))
    return CaseOptions(facts, engine, recommendation, presented, hidden_future)


def snapshot(case: Case, options: CaseOptions) -> dict[str, Any]:
    """Everything the board saw, as JSON: later knowledge-base changes cannot alter it.

    `presented` holds exactly the rows the walk-through showed (options, figures,
    cautions, sources); the minutes render them again from there.
    """
    return {
        "taken_at": timezone.now().isoformat(),
        # The words are frozen in the language of the page the board saw; pages mark them with it.
        "language": get_language() or settings.LANGUAGE_CODE,
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
            for key, fact in options.facts.items()
        },
        "engine_facts": options.engine_facts,
        "algorithm_version": options.recommendation.get("algorithm_version", ""),
        "recommendation": options.recommendation,
        "presented": options.presented,
    }
