"""cases/survival.py: Kaplan-Meier estimates against published values and against lifelines itself.

Published values: the g3 data set shipped with lifelines (`lifelines.datasets.load_g3`, 17 patients
with grade-3 glioma, radioimmunotherapy "RIT" or control), whose survival and log-log 95% confidence
limits from R's `survfit` are documented in lifelines' own test suite
(lifelines/tests/test_estimation.py, `test_kmf_survival_curve_output_against_R` and
`test_kmf_confidence_intervals_output_against_R`, commit ad023a013edaff89926ec118b16d4a0d644db9b5).
They are compared at the same tolerance lifelines uses (rtol 1e-2 for the curve, 1e-3 for the CI).

The Freireich 6-MP remission data (Freireich et al., Blood 1963;21:699-716, the classic textbook
example, e.g. Kleinbaum & Klein, Survival Analysis: A Self-Learning Text, chapter 2) ship with
lifelines as `load_leukemia` (Kleinbaum's anderson.dat); they are used here against lifelines'
own fit, not against numbers typed from a book.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_g3, load_leukemia
from lifelines.utils import median_survival_times

from cases.survival import Observation, at_risk, kaplan_meier, median_label, quartiles, risk_times

ROOT = Path(__file__).resolve().parents[2]


def _observations(durations, events) -> list[Observation]:
    return [Observation(float(d), bool(e)) for d, e in zip(durations, events, strict=True)]


def _g3(group_is_rit: bool) -> list[Observation]:
    df = load_g3()
    rows = df[(df["group"] == "RIT") == group_is_rit]
    return _observations(rows["time"], rows["event"])


def test_kaplan_meier_matches_r_on_the_g3_radioimmunotherapy_group():
    estimate = kaplan_meier(_g3(group_is_rit=True))

    assert [estimate.survival_at(t) for t in (25, 53)] == pytest.approx([0.909, 0.779], rel=1e-2)


def test_kaplan_meier_matches_r_on_the_g3_control_group_with_its_confidence_interval():
    estimate = kaplan_meier(_g3(group_is_rit=False))
    times = (9, 19, 32, 34)

    survival = [estimate.survival_at(t) for t in times]
    lower = [estimate.interval_at(t)[0] for t in times]
    upper = [estimate.interval_at(t)[1] for t in times]

    assert survival == pytest.approx([0.833, 0.667, 0.5, 0.333], rel=1e-2)
    assert lower == pytest.approx([0.2731, 0.1946, 0.1109, 0.0461], rel=1e-3)
    assert upper == pytest.approx([0.975, 0.904, 0.804, 0.676], rel=1e-3)


def _lifelines(observations):
    fitter = KaplanMeierFitter().fit([o.duration for o in observations], [o.event for o in observations])
    return fitter, median_survival_times(fitter.confidence_interval_)


def _same_as_lifelines(observations) -> None:
    estimate = kaplan_meier(observations)
    fitter, bounds = _lifelines(observations)

    assert list(estimate.times) == list(fitter.survival_function_.index)
    assert list(estimate.survival) == pytest.approx(list(fitter.survival_function_.iloc[:, 0]))
    for mine, theirs in zip(estimate.lower, fitter.confidence_interval_.iloc[:, 0], strict=True):
        assert (mine is None and math.isnan(theirs)) or mine == pytest.approx(theirs)
    median = fitter.median_survival_time_
    assert estimate.median == (None if math.isinf(median) else pytest.approx(median))
    high = bounds.iloc[0, 1]
    assert estimate.median_high == (None if math.isinf(high) else pytest.approx(high))


def test_freireich_6mp_group_is_lifelines_own_estimate():
    df = load_leukemia()
    six_mp = df[df["Rx"] == 0]  # Rx 0: 6-MP, 1: placebo (anderson.dat); 21 patients, 9 relapses

    observations = _observations(six_mp["t"], six_mp["status"])
    estimate = kaplan_meier(observations)

    assert (estimate.n, estimate.events, estimate.censored) == (21, 9, 12)
    _same_as_lifelines(observations)


def test_tied_events_and_censorings_at_one_time_follow_lifelines():
    observations = _observations([2, 2, 2, 3, 3, 5, 8, 8], [1, 1, 0, 1, 0, 1, 0, 1])

    _same_as_lifelines(observations)
    estimate = kaplan_meier(observations)
    assert estimate.censor_times == (2.0, 3.0, 8.0)


def test_all_censored_curve_stays_at_one_and_the_median_is_not_reached():
    observations = _observations([1, 4, 6], [0, 0, 0])

    estimate = kaplan_meier(observations)

    _same_as_lifelines(observations)
    assert set(estimate.survival) == {1.0}
    assert estimate.median is None
    assert median_label(estimate).startswith("not reached")


def test_one_patient_with_an_event_and_one_censored():
    with_event = _observations([5], [1])
    censored = _observations([5], [0])

    _same_as_lifelines(with_event)
    _same_as_lifelines(censored)
    assert kaplan_meier(with_event).median == 5.0
    assert kaplan_meier(censored).median is None


def test_no_patient_no_estimate():
    assert kaplan_meier([]) is None


def test_numbers_at_risk_count_patients_still_followed():
    observations = _observations([0.5, 3, 3, 7, 12], [1, 0, 1, 1, 0])

    assert at_risk(observations, [0, 3, 6, 12]) == [5, 4, 2, 1]
    assert risk_times(12.5) == [0, 3, 6, 9, 12]
    assert risk_times(40) == [0, 6, 12, 18, 24, 30, 36]


def test_median_label_shows_the_interval_and_open_bounds():
    estimate = kaplan_meier(_observations([1, 2, 3, 4, 5, 6], [1, 1, 0, 0, 0, 0]))

    assert median_label(estimate) == f"not reached (95% CI {estimate.median_low:.1f}–NR)"


def test_quartiles_interpolate_like_numpy():
    assert quartiles([1, 2, 3, 4]) == pytest.approx((1.75, 2.5, 3.25))
    assert quartiles([7]) == (7, 7, 7)
    assert quartiles([]) is None


def test_survival_module_imports_without_django():
    code = "import sys, cases.survival\nprint(any(m == 'django' or m.startswith('django.') for m in sys.modules))"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
