"""The board's own outcomes, as plain data: decided treatments in, survival groups and concordance out.

Pure: no Django (the view turns decisions and their follow-up into `Course`s;
`cases.charts` draws what this module returns). Kaplan-Meier estimates come
from `cases.survival` (lifelines).

Definitions, stated on the page too:

- real-world PFS: start of the decided treatment -> progression or death,
  whichever first; censored at the last date the patient was known alive and
  progression-free (last contact, a response assessment or the start of a next
  treatment without progression);
- time to next treatment (TTNT): start of the decided treatment -> start of the
  next treatment or death; censored at the last date the patient was known alive;
- a date known only to the month counts from the middle of that month;
- a group of fewer than MIN_PATIENTS patients gets no curve, only its counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from cases.survival import (
    Estimate,
    Observation,
    at_risk,
    kaplan_meier,
    median_label,
    months_between,
    quartiles,
    risk_times,
)

MIN_PATIENTS = 10
MONTH = "month"

# Where the chosen option stood in the recommendation the board saw (the decision's snapshot).
PREFERRED, ALTERNATIVE, CONSIDER, FUTURE = "preferred", "alternative", "consider", "future"
NOT_AMONG_OPTIONS, NOT_RECOMMENDED, NO_RECOMMENDATION = (
    "not_among_options",
    "not_recommended",
    "no_recommendation",
)
CONCORDANCE_ORDER = (
    PREFERRED, ALTERNATIVE, CONSIDER, FUTURE, NOT_AMONG_OPTIONS, NOT_RECOMMENDED, NO_RECOMMENDATION,
)  # fmt: skip
OPTION_CATEGORIES = {PREFERRED, ALTERNATIVE, CONSIDER, FUTURE}

PFS, TTNT = "pfs", "ttnt"
STARTED, NOT_STARTED = "started", "not_started"


def concordance_of(option_key: str, recommendation: dict) -> str:
    """The chosen option's place in the recommendation: its category, not among the options, or excluded."""
    if (
        not recommendation
        or recommendation.get("error")
        or (not recommendation.get("options") and not recommendation.get("not_recommended"))
    ):
        return NO_RECOMMENDATION
    for option in recommendation.get("options") or []:
        if option.get("key") == option_key:
            category = str(option.get("category") or "")
            return category if category in OPTION_CATEGORIES else CONSIDER
    if any(item.get("key") == option_key for item in recommendation.get("not_recommended") or []):
        return NOT_RECOMMENDED
    return NOT_AMONG_OPTIONS


def decision_setting(option_key: str, recommendation: dict) -> tuple[str, str]:
    """(key, label) of the algorithm setting the decision fell in: the chosen option's, else the first."""
    settings = [s for s in recommendation.get("settings") or [] if s.get("key")] if recommendation else []
    if not settings:
        return "", ""
    labels = {str(s["key"]): str(s.get("label") or s["key"]) for s in settings}
    for option in recommendation.get("options") or []:
        if option.get("key") == option_key:
            for placed in option.get("settings") or []:
                key = placed.get("setting") if isinstance(placed, dict) else placed
                if key in labels:
                    return key, labels[key]
    first = str(settings[0]["key"])
    return first, labels[first]


def point(day: date | None, precision: str) -> date | None:
    """The day a date stands for in the analysis: a month counts from its middle (the 15th)."""
    if day is None:
        return None
    return day.replace(day=15) if precision == MONTH else day


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Course:
    """One board decision and what followed it (dates already placed by `point`)."""

    decision_id: int
    code: str  # the case's pseudonymous code
    decided: date
    option_key: str
    option_label: str
    setting: str
    setting_label: str
    version: str
    concordance: str
    status: str
    deviation_reason: str = ""
    start: date | None = None
    progression: date | None = None
    next_treatment: date | None = None
    death: date | None = None
    last_contact: date | None = None
    responses: tuple[tuple[date, str], ...] = ()  # (date, IMWG response), in date order

    @property
    def started(self) -> bool:
        return self.status == STARTED and self.start is not None

    def _known_alive(self, *extra: date | None) -> date | None:
        days = [d for d in (self.last_contact, *(d for d, _ in self.responses), *extra) if d is not None]
        if self.death is not None:
            days.append(self.death)
        return max(days) if days else None

    def observation(self, endpoint: str) -> Observation | None:
        """The course's time (months) and event for PFS or TTNT; None when the treatment did not start."""
        return self._pfs if endpoint == PFS else self._ttnt

    @cached_property
    def _pfs(self) -> Observation | None:
        return self._observe(PFS)

    @cached_property
    def _ttnt(self) -> Observation | None:
        return self._observe(TTNT)

    def _observe(self, endpoint: str) -> Observation | None:
        if not self.started:
            return None
        assert self.start is not None
        if endpoint == PFS:
            events = [d for d in (self.progression, self.death) if d is not None]
            censor = self._known_alive(self.next_treatment)
        else:
            events = [d for d in (self.next_treatment, self.death) if d is not None]
            censor = self._known_alive(self.progression)
        if events:
            return Observation(max(months_between(self.start, min(events)), 0.0), True)
        return Observation(max(months_between(self.start, censor or self.start), 0.0), False)


@dataclass(frozen=True)
class Filters:
    period: str = ""  # "", "12m", "24m" or a year "2025"
    setting: str = ""
    regimen: str = ""
    version: str = ""

    def since_until(self, today: date) -> tuple[date | None, date | None]:
        if self.period in ("12m", "24m"):
            return today - timedelta(days=365 if self.period == "12m" else 730), None
        if self.period.isdigit() and len(self.period) == 4:
            year = int(self.period)
            return date(year, 1, 1), date(year, 12, 31)
        return None, None

    def keep(self, course: Course, today: date) -> bool:
        since, until = self.since_until(today)
        return (
            (since is None or course.decided >= since)
            and (until is None or course.decided <= until)
            and (not self.setting or course.setting == self.setting)
            and (not self.regimen or course.option_key == self.regimen)
            and (not self.version or course.version == self.version)
        )


@dataclass
class Group:
    """One curve: the courses of one regimen or one setting, for one endpoint."""

    key: str
    label: str
    endpoint: str
    observations: list[Observation]
    patients: int  # distinct cases
    estimate: Estimate | None  # None: fewer than MIN_PATIENTS patients
    risk_times: list[float] = field(default_factory=list)
    at_risk: list[int] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(1 for o in self.observations if o.event)

    @property
    def censored(self) -> int:
        return sum(1 for o in self.observations if not o.event)

    @property
    def drawn(self) -> bool:
        return self.estimate is not None

    @property
    def median_text(self) -> str:
        return median_label(self.estimate) if self.estimate else ""


def survival_groups(
    courses: Iterable[Course], endpoint: str, key: Callable[[Course], tuple[str, str]]
) -> list[Group]:
    """Started courses grouped by `key` -> (key, label); a Kaplan-Meier estimate for groups of 10 or more.

    Largest group first. All groups share one grid of times for the numbers at risk.
    """
    members: dict[str, list[Course]] = {}
    labels: dict[str, str] = {}
    for course in courses:
        if not course.started:
            continue
        group_key, label = key(course)
        members.setdefault(group_key, []).append(course)
        labels[group_key] = label
    groups = []
    for group_key, group_courses in members.items():
        observations = [o for c in group_courses if (o := c.observation(endpoint)) is not None]
        patients = len({c.code for c in group_courses})
        estimate = kaplan_meier(observations) if patients >= MIN_PATIENTS else None
        groups.append(Group(group_key, labels[group_key], endpoint, observations, patients, estimate))
    groups.sort(key=lambda g: (-g.patients, g.label))
    longest = max((o.duration for g in groups for o in g.observations), default=0.0)
    times = risk_times(longest)
    for group in groups:
        group.risk_times = times
        group.at_risk = at_risk(group.observations, times)
    return groups


def by_regimen(course: Course) -> tuple[str, str]:
    return course.option_key, course.option_label


def by_setting(course: Course) -> tuple[str, str]:
    return (course.setting, course.setting_label) if course.setting else ("", "no setting matched")


@dataclass
class ShareRow:
    """Decisions of one quarter or setting, counted by concordance."""

    key: str
    label: str
    counts: Counter

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, concordance: str) -> float:
        return 100.0 * self.counts.get(concordance, 0) / self.total if self.total else 0.0


def concordance_rows(courses: Iterable[Course], key: Callable[[Course], tuple[str, str]]) -> list[ShareRow]:
    rows: dict[str, ShareRow] = {}
    for course in courses:
        row_key, label = key(course)
        rows.setdefault(row_key, ShareRow(row_key, label, Counter())).counts[course.concordance] += 1
    return list(rows.values())


def by_quarter(course: Course) -> tuple[str, str]:
    quarter = quarter_of(course.decided)
    return quarter, quarter


def deviation_counts(courses: Iterable[Course]) -> Counter:
    """Reasons recorded for decisions not carried out."""
    return Counter(c.deviation_reason for c in courses if c.status == NOT_STARTED and c.deviation_reason)


@dataclass(frozen=True)
class Delay:
    """Days from the board's decision to the start of treatment."""

    label: str
    n: int
    median: float | None
    q1: float | None
    q3: float | None


def start_delays(courses: Sequence[Course], key: Callable[[Course], tuple[str, str]] | None) -> list[Delay]:
    """Median and IQR of days from decision to start, overall (key None) or by group."""
    groups: dict[str, tuple[str, list[float]]] = {}
    for course in courses:
        if not course.started:
            continue
        assert course.start is not None
        group_key, label = key(course) if key else ("", "all started treatments")
        groups.setdefault(group_key, (label, []))[1].append(float((course.start - course.decided).days))
    out = []
    for label, days in groups.values():
        q = quartiles(days)
        out.append(Delay(label, len(days), *(q[1], q[0], q[2]) if q else (None, None, None)))
    out.sort(key=lambda d: (-d.n, d.label))
    return out
