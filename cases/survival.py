"""Kaplan-Meier estimates for the board's own patients: observations in, estimates out.

Pure: no Django, no database (a unit test fails if this module imports django).
The estimator is lifelines' `KaplanMeierFitter`, never a hand-written one: the
survival function, its 95% confidence interval (lifelines' default, the
exponential Greenwood or "log-log" interval, as R's `survfit(conf.type =
"log-log")`) and the median with its confidence interval all come from it.
What this module adds is plain data for the charts and tables: the step
points, the censoring marks, the numbers at risk at chosen times and the
median as "not reached" rather than infinity.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

DAYS_PER_MONTH = 365.25 / 12
ALPHA = 0.05  # 95% confidence intervals


@dataclass(frozen=True)
class Observation:
    """One patient's time on study: months from the start, and whether the event was seen (else censored)."""

    duration: float
    event: bool


@dataclass(frozen=True)
class Estimate:
    """A Kaplan-Meier curve as plain data (months on the time axis)."""

    n: int
    events: int
    censored: int
    times: tuple[float, ...]  # the estimate's time points, 0 first
    survival: tuple[float, ...]
    lower: tuple[float | None, ...]  # 95% CI, None where lifelines gives none
    upper: tuple[float | None, ...]
    censor_times: tuple[float, ...]  # one per censored patient (ties repeated)
    censor_survival: tuple[float, ...]  # the curve's height at each censoring
    median: float | None  # None: not reached
    median_low: float | None  # None: not estimable
    median_high: float | None  # None: not reached (upper bound open)

    def _index_at(self, t: float) -> int:
        """The last time point at or before `t` (the step function is right-continuous)."""
        return max(bisect_right(self.times, t) - 1, 0)

    def survival_at(self, t: float) -> float:
        return 1.0 if t < self.times[0] else self.survival[self._index_at(t)]

    def interval_at(self, t: float) -> tuple[float | None, float | None]:
        """The 95% confidence interval of the survival at `t`."""
        index = self._index_at(t)
        return self.lower[index], self.upper[index]


def months_between(start: date, end: date) -> float:
    """Months from `start` to `end` (days / 30.4375)."""
    return (end - start).days / DAYS_PER_MONTH


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def kaplan_meier(observations: Sequence[Observation]) -> Estimate | None:
    """The Kaplan-Meier estimate of `observations` (lifelines); None when there is none."""
    if not observations:
        return None
    durations = [max(o.duration, 0.0) for o in observations]
    events = [bool(o.event) for o in observations]
    fitter = KaplanMeierFitter(alpha=ALPHA).fit(durations, event_observed=events)
    curve = fitter.survival_function_.iloc[:, 0]
    interval = fitter.confidence_interval_
    times = tuple(float(t) for t in curve.index)
    survival = tuple(float(s) for s in curve.values)
    lower = tuple(_finite(v) for v in interval.iloc[:, 0].values)
    upper = tuple(_finite(v) for v in interval.iloc[:, 1].values)
    median = _finite(fitter.median_survival_time_)
    bounds = median_survival_times(fitter.confidence_interval_)
    median_low = _finite(bounds.iloc[0, 0])
    median_high = _finite(bounds.iloc[0, 1])
    estimate = Estimate(
        n=len(observations),
        events=sum(events),
        censored=len(events) - sum(events),
        times=times,
        survival=survival,
        lower=lower,
        upper=upper,
        censor_times=(),
        censor_survival=(),
        median=median,
        median_low=median_low,
        median_high=median_high,
    )
    censored = sorted(d for d, e in zip(durations, events, strict=True) if not e)
    return replace(
        estimate,
        censor_times=tuple(censored),
        censor_survival=tuple(estimate.survival_at(t) for t in censored),
    )


def at_risk(observations: Sequence[Observation], times: Sequence[float]) -> list[int]:
    """Numbers at risk at each of `times`: patients still followed (no event, not censored) before t."""
    durations = [max(o.duration, 0.0) for o in observations]
    return [sum(1 for d in durations if d >= t) for t in times]


def risk_times(longest: float) -> list[float]:
    """Times for a numbers-at-risk table: every 3, 6 or 12 months up to the longest follow-up."""
    step = 3 if longest <= 24 else 6 if longest <= 60 else 12
    return [float(t) for t in range(0, int(longest) + 1, step)] or [0.0]


def median_label(estimate: Estimate, months: str = "months", not_reached: str = "not reached") -> str:
    """'14.2 months (95% CI 10.1–NR)', 'not reached (95% CI 12.0–NR)' (words given by the caller)."""
    value = not_reached if estimate.median is None else f"{estimate.median:.1f} {months}"
    low = "NE" if estimate.median_low is None else f"{estimate.median_low:.1f}"
    high = "NR" if estimate.median_high is None else f"{estimate.median_high:.1f}"
    return f"{value} (95% CI {low}–{high})"


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(first quartile, median, third quartile), interpolated as numpy's default; None if empty."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3
