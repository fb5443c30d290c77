"""What the engine needs from the knowledge base's trials, as plain data.

Two things: each trial's range of prior lines (to say whether a case is inside the
population a trial enrolled), and every randomised PFS comparison that a trial
showed (hazard ratio with its 95% CI wholly below 1): "A was better than B".
An investigator's-choice arm counts for every regimen it allowed
(`allowed_regimens`), so CARTITUDE-4 gives cilta-cel > PVd and cilta-cel > DPd.

The database layer (algorithm/versions.py) builds the same structures from its
rows; `trial_evidence_from_documents` builds them from trials_*.yaml, for tests
and tools that run without a database. Both go through `comparisons_from_rows`,
so the rule that turns result rows into comparisons is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HAZARD_RATIO_ENDPOINT = "pfs_hr"
WHOLE_POPULATION = "ITT"


@dataclass(frozen=True)
class TrialInfo:
    """A trial as the engine sees it: its name and the prior lines it enrolled."""

    key: str
    name: str
    prior_lines_min: int | None = None
    prior_lines_max: int | None = None

    def lines_words(self) -> str:
        low, high = self.prior_lines_min, self.prior_lines_max
        if low is None and high is None:
            return ""
        if high is None:
            return f"{low} or more prior lines"
        if low is None or low == high:
            return f"{high} prior line{'s' if high != 1 else ''}"
        return f"{low}-{high} prior lines"

    def lines_hold(self, prior_lines: int | None) -> bool | None:
        """Is this number of prior lines inside the trial's range? None when either is not known."""
        if prior_lines is None or (self.prior_lines_min is None and self.prior_lines_max is None):
            return None
        if self.prior_lines_min is not None and prior_lines < self.prior_lines_min:
            return False
        return not (self.prior_lines_max is not None and prior_lines > self.prior_lines_max)


@dataclass(frozen=True)
class PfsComparison:
    """A randomised trial showed `better` ahead of `worse` on PFS (HR upper 95% bound below 1)."""

    trial: str
    better: str
    worse: str
    hr: float
    ci_low: float | None
    ci_high: float
    analysis: str
    source: str

    def words(self) -> str:
        low = "NE" if self.ci_low is None else f"{self.ci_low:g}"
        return f"PFS HR {self.hr:g}, 95% CI {low}-{self.ci_high:g}; {self.analysis}"


@dataclass(frozen=True)
class TrialEvidence:
    trials: Mapping[str, TrialInfo] = field(default_factory=dict)
    comparisons: tuple[PfsComparison, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # regimen key -> abbreviation (PVd)

    def name(self, regimen: str) -> str:
        return self.names.get(regimen, regimen)

    def trial_name(self, trial: str) -> str:
        info = self.trials.get(trial)
        return info.name if info else trial


def comparisons_from_rows(
    rows: Iterable[Mapping[str, Any]], arms: Mapping[tuple[str, str], tuple[str, ...]]
) -> tuple[PfsComparison, ...]:
    """PFS comparisons from result rows.

    `rows`: {trial, endpoint, population, arm, vs, value, ci_low, ci_high, ci_level, analysis,
    source, order}; `arms`: (trial, arm key) -> the regimens the arm gave (its regimen, or each
    regimen an investigator's-choice arm allowed).

    Per trial and pair of arms, the latest whole-population PFS hazard ratio that carries a 95%
    CI decides (rows of the same trial in file order); it counts when the CI's upper bound is
    below 1. An arm compared with itself (two schedules of one regimen) gives nothing.
    """
    latest: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for row in rows:
        if row["endpoint"] != HAZARD_RATIO_ENDPOINT or row["population"] != WHOLE_POPULATION:
            continue
        if row.get("vs") is None or row.get("ci_high") is None or row.get("value") is None:
            continue
        if abs(float(row.get("ci_level") or 0.95) - 0.95) > 1e-9:
            continue
        key = (row["trial"], row["arm"], row["vs"])
        if key not in latest or row.get("order", 0) >= latest[key].get("order", 0):
            latest[key] = row
    out: list[PfsComparison] = []
    for (trial, arm, vs), row in sorted(latest.items()):
        if float(row["ci_high"]) >= 1:
            continue
        for better in arms.get((trial, arm), ()):
            for worse in arms.get((trial, vs), ()):
                if better != worse:
                    out.append(
                        PfsComparison(
                            trial=trial,
                            better=better,
                            worse=worse,
                            hr=float(row["value"]),
                            ci_low=None if row.get("ci_low") is None else float(row["ci_low"]),
                            ci_high=float(row["ci_high"]),
                            analysis=str(row.get("analysis") or ""),
                            source=str(row.get("source") or ""),
                        )
                    )
    return tuple(sorted(out, key=lambda c: (c.trial, c.better, c.worse)))


def arm_regimens(arm: Mapping[str, Any]) -> tuple[str, ...]:
    """The regimens an arm of trials_*.yaml gave: its `allowed_regimens`, else its `regimen`."""
    allowed = tuple(arm.get("allowed_regimens") or ())
    if allowed:
        return allowed
    return (arm["regimen"],) if arm.get("regimen") else ()


def trial_evidence_from_documents(
    documents: Iterable[Mapping[str, Any]], regimen_documents: Iterable[Mapping[str, Any]] = ()
) -> TrialEvidence:
    """TrialEvidence from parsed trials_*.yaml documents (trials and their `additions`).

    `regimen_documents` (regimens_*.yaml) give the regimens' abbreviations for the words.
    """
    documents = list(documents)
    names = {
        r["key"]: str(r.get("abbreviation") or r["key"])
        for doc in regimen_documents
        for r in doc.get("regimens") or ()
    }
    infos: dict[str, TrialInfo] = {}
    arms: dict[tuple[str, str], tuple[str, ...]] = {}
    results: dict[str, list[Mapping[str, Any]]] = {}
    for doc in documents:
        for trial in doc.get("trials") or ():
            lines = trial.get("prior_lines") or {}
            infos[trial["key"]] = TrialInfo(
                key=trial["key"],
                name=str(trial.get("name") or trial["key"]),
                prior_lines_min=lines.get("min"),
                prior_lines_max=lines.get("max"),
            )
            for arm in trial.get("arms") or ():
                arms[(trial["key"], arm["key"])] = arm_regimens(arm)
            results.setdefault(trial["key"], []).extend(trial.get("results") or ())
    for doc in documents:
        for addition in doc.get("additions") or ():
            results.setdefault(addition["trial"], []).extend(addition.get("results") or ())
    rows = []
    for trial, items in results.items():
        for order, r in enumerate(items):
            ci = r.get("ci95") or [None, None]
            rows.append(
                {
                    "trial": trial,
                    "endpoint": r.get("endpoint"),
                    "population": r.get("population", WHOLE_POPULATION),
                    "arm": r.get("arm"),
                    "vs": r.get("vs"),
                    "value": r.get("value"),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "ci_level": 0.95,
                    "analysis": r.get("analysis") or "",
                    "source": r.get("source") or "",
                    "order": order,
                }
            )
    return TrialEvidence(trials=infos, comparisons=comparisons_from_rows(rows, arms), names=names)
