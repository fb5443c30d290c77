"""Synthetic data at scale: trials, cases with about four therapy lines, meetings with decisions.

One way to build synthetic data, shared by the benchmark (`bench/run.py`, at
100 and 10,000 cases) and the query-count tests
(`tests/integration/test_query_counts.py`, at a few and a few dozen). Run it
on a database that already holds the shipped knowledge base
(`manage.py load_evidence`): synthetic trials compare synthetic regimens of
real drugs with real comparators, and cases are treated with real regimens.

Nothing here is clinical data: codes read MM-SYN-00042, trial keys SYN-T-007,
figures are made up. Rows go in with `bulk_create` (cases and therapy lines
with their history rows, as the case page reads history), so 10,000 cases
build in seconds. A decision's snapshot is the real one (facts, the
published algorithm's recommendation, the evidence shown), computed once per
kind of case and reused: cases of one kind have the same facts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from algorithm.versions import load_draft
from cases import services
from cases.management.commands.load_demo import ATTENDEES  # the demo's board, at scale
from cases.models import (
    AgendaItem,
    Attendee,
    Case,
    CasesRevision,
    Decision,
    Meeting,
    Outcome,
    ResponseAssessment,
    TherapyLine,
)
from regimens.models import (
    Agency,
    AlgorithmStatus,
    AlgorithmVersion,
    Approval,
    ApprovalStatus,
    Drug,
    Endpoint,
    KnowledgeBaseRevision,
    Phase,
    Regimen,
    RegimenComponent,
    Result,
    Source,
    Trial,
    TrialArm,
    Unit,
)
from regimens.roles import BOARD_MEMBER

BATCH = 2000
SECRETARY = "bench-board-secretary"

# --- Knowledge base: synthetic trials -------------------------------------------------------------------

# Real comparators a synthetic trial may use as its control arm (one trial in four does).
REAL_COMPARATORS = ("KD", "PD", "VD", "DPD", "PVD", "DKD", "STANDARD-REGIMENS")
# Real drugs a synthetic regimen is made of (a new agent is "synthetic"; the partners are real).
PARTNER_DRUGS = ("DEXAMETHASONE", "POMALIDOMIDE", "CARFILZOMIB", "BORTEZOMIB", "DARATUMUMAB", "SELINEXOR")
POPULATIONS = ("ITT", "len_refractory")


def _figures(arm: TrialArm, control: TrialArm, i: int) -> list[tuple]:
    """(arm, comparator, endpoint, unit, value, ci_low, ci_high, p): six figures per population."""
    pfs, pfs_control = 10.0 + i % 17, 5.0 + i % 7
    return [
        (arm, None, Endpoint.PFS_MEDIAN, Unit.MONTHS, pfs, pfs - 2.5, pfs + 3.1, ""),
        (
            control,
            None,
            Endpoint.PFS_MEDIAN,
            Unit.MONTHS,
            pfs_control,
            pfs_control - 1.2,
            pfs_control + 2,
            "",
        ),
        (arm, control, Endpoint.PFS_HR, Unit.RATIO, 0.45 + (i % 5) / 20, 0.35, 0.8, "<0.001"),
        (arm, None, Endpoint.ORR, Unit.PERCENT, 60 + i % 30, None, None, ""),
        (control, None, Endpoint.ORR, Unit.PERCENT, 40 + i % 20, None, None, ""),
        (arm, None, Endpoint.VGPR_OR_BETTER, Unit.PERCENT, 35 + i % 20, None, None, ""),
    ]


@transaction.atomic
def build_trials(count: int, regimens: int | None = None) -> list[Trial]:
    """`count` randomised trials: a synthetic regimen (of real drugs) against a comparator.

    One trial in four compares with a real regimen of the knowledge base (so real
    regimen pages and comparisons grow with it); the others with another synthetic
    regimen. Each trial: two arms, two sources, twelve results (two populations).
    """
    regimens = regimens or max(2, count // 5)
    partners = list(Drug.objects.filter(key__in=PARTNER_DRUGS))
    comparators = list(Regimen.objects.filter(key__in=REAL_COMPARATORS).order_by("key"))
    # Numbered on from what earlier calls made, so the builders can grow a database.
    start = Trial.objects.filter(key__startswith="SYN-T-").count()
    first_regimen = Regimen.objects.filter(key__startswith="SYN-R-").count()
    synthetic = Regimen.objects.bulk_create(
        Regimen(
            key=f"SYN-R-{n:03d}",
            abbreviation=f"Syn{n:03d}-d",
            name=f"synthetic agent {n:03d} with dexamethasone",
            aliases=[f"SYN{n:03d}"],
            schedule="28-day cycles (synthetic)",
        )
        for n in range(first_regimen, first_regimen + regimens)
    )
    RegimenComponent.objects.bulk_create(
        RegimenComponent(regimen=regimen, drug=drug, order=order)
        for n, regimen in enumerate(synthetic)
        for order, drug in enumerate([partners[n % len(partners)], partners[(n + 1) % len(partners)]])
    )
    sources = Source.objects.bulk_create(
        Source(
            key=f"syn-source-{n:04d}",
            citation=f"Synthetic A, et al. Journal of Benchmark Data. 2025;{n}:1-12",
            doi=f"10.5555/bench.{n:04d}",
            url=f"https://example.org/bench/{n:04d}",
        )
        for n in range(2 * start, 2 * (start + count))
    )
    Approval.objects.bulk_create(
        Approval(
            regimen=regimen,
            agency=agency,
            year=2020 + n % 6,
            indication="adults with relapsed myeloma after at least one prior line (synthetic)",
            status=status,
            source=sources[n % len(sources)],
        )
        for n, regimen in enumerate(synthetic)
        for agency, status in (
            (Agency.EMA, ApprovalStatus.APPROVED),
            (Agency.FDA, ApprovalStatus.CONDITIONAL),
        )
    )
    trials = Trial.objects.bulk_create(
        Trial(
            key=f"SYN-T-{start + i:03d}",
            name=f"Synthetic-{start + i:03d}",
            nct=f"NCT9{start + i:07d}",
            phase=Phase.P3 if i % 3 else Phase.P2,
            design="randomised 1:1, open-label (synthetic)",
            population="relapsed myeloma after 1-3 prior lines (synthetic)",
            prior_lines_min=1,
            prior_lines_max=3,
            len_refractory_pct=20.0 + i % 60,
            anti_cd38_refractory_pct=float(i % 40),
            notes="Synthetic caveat: crossover allowed on progression [syn-source-0000].",
        )
        for i in range(count)
    )
    Trial.sources.through.objects.bulk_create(
        Trial.sources.through(trial=trial, source=source)
        for i, trial in enumerate(trials)
        for source in sources[2 * i : 2 * i + 2]
    )
    arms = []
    for i, trial in enumerate(trials):
        experimental = synthetic[i % len(synthetic)]
        if i % 4 == 0 and comparators:
            control = comparators[(i // 4) % len(comparators)]
        else:
            control = synthetic[(i + 1) % len(synthetic)]
        arms.append(TrialArm(trial=trial, key="exp", regimen=experimental, label=experimental.name, n=200))
        arms.append(TrialArm(trial=trial, key="ctl", regimen=control, label=control.name, n=199, order=1))
    TrialArm.objects.bulk_create(arms)
    Regimen.key_trials.through.objects.bulk_create(
        Regimen.key_trials.through(regimen=arms[2 * i].regimen, trial=trial) for i, trial in enumerate(trials)
    )
    results = []
    for i, trial in enumerate(trials):
        arm, control = arms[2 * i], arms[2 * i + 1]
        for offset, population in enumerate(POPULATIONS):
            for order, (this, vs, endpoint, unit, value, low, high, p) in enumerate(
                _figures(arm, control, i)
            ):
                results.append(
                    Result(
                        trial=trial, arm=this, vs=vs, endpoint=endpoint, population=population, unit=unit,
                        value=value, ci_low=low, ci_high=high, p=p, source=sources[2 * i + order % 2],
                        analysis="primary analysis, median follow-up 18.2 months (synthetic)",
                        order=offset * 10 + order,
                    )
                )  # fmt: skip
    Result.objects.bulk_create(results, batch_size=BATCH)
    KnowledgeBaseRevision.bump()  # the many-to-many tables above were written past their signals
    return trials


# --- Cases ----------------------------------------------------------------------------------------------

VRD = {"regimen_text": "VRd", "drug_keys": ["BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"]}
DVRD = {
    "regimen_text": "Dara-VRd",
    "drug_keys": ["DARATUMUMAB", "BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"],
}
ASCT_R = {"asct": True, "other_drug_classes": ["alkylator"], "maintenance_drug_keys": ["LENALIDOMIDE"]}

# Kinds of treatment history: (line, months on it); every line ends in progression on therapy.
HISTORIES: list[list[tuple[dict[str, Any], int]]] = [
    [({**VRD, **ASCT_R}, 30), ({"regimen": "DPD"}, 20), ({"regimen": "KD"}, 12), ({"regimen": "TECLISTAMAB"}, 14)],
    [({**DVRD, **ASCT_R}, 40), ({"regimen": "KD"}, 14), ({"regimen": "PVD"}, 10), ({"regimen": "CILTA-CEL"}, 18)],
    [({"regimen": "DRD"}, 36), ({"regimen": "KD"}, 12), ({"regimen": "PVD"}, 9)],
    [({**VRD, **ASCT_R}, 26), ({"regimen": "DKD"}, 16), ({"regimen": "PD"}, 7), ({"regimen": "IDE-CEL"}, 13),
     ({"regimen": "TALQUETAMAB"}, 9)],
    [({**VRD, **ASCT_R}, 22), ({"regimen": "DPD"}, 18), ({"regimen": "KD"}, 10)],
    [({"regimen": "DRD"}, 30), ({"regimen": "PVD"}, 11), ({"regimen": "KD"}, 9), ({"regimen": "ELRANATAMAB"}, 12),
     ({"regimen": "TALQUETAMAB"}, 8)],
]  # fmt: skip
RESPONSES = ("VGPR", "CR", "PR", "VGPR", "SD")

# Kinds of patient: the fields the algorithm reads besides the lines.
PROFILES: list[dict[str, Any]] = [
    {"frailty": "fit", "ecog": 0, "cardiovascular_risk": "none", "peripheral_neuropathy_grade": 1,
     "crcl_ml_min": 88, "car_t_eligible": "yes", "ocular_surface_disease": "no", "del_17p": "absent",
     "t_4_14": "absent", "t_11_14": "absent", "gain_1q": "absent", "iss": "I", "r_iss": "I"},
    {"frailty": "intermediate", "ecog": 1, "cardiovascular_risk": "controlled_hypertension",
     "peripheral_neuropathy_grade": 2, "crcl_ml_min": 52, "car_t_eligible": "no", "ocular_surface_disease": "no",
     "del_17p": "present", "t_4_14": "absent", "t_11_14": "absent", "gain_1q": "present", "iss": "II", "r_iss": "II"},
    {"frailty": "fit", "ecog": 1, "cardiovascular_risk": "heart_failure_or_reduced_lvef",
     "peripheral_neuropathy_grade": 0, "crcl_ml_min": 71, "car_t_eligible": "unknown",
     "ocular_surface_disease": "no", "del_17p": "absent", "t_4_14": "present", "t_11_14": "present",
     "gain_1q": "absent", "iss": "II", "r_iss": "II", "prefers_fewer_hospital_visits": "yes"},
    {"frailty": "frail", "ecog": 2, "cardiovascular_risk": "ischaemic_heart_disease",
     "peripheral_neuropathy_grade": 2, "crcl_ml_min": 38, "car_t_eligible": "no", "ocular_surface_disease": "yes",
     "del_17p": "absent", "t_4_14": "absent", "t_11_14": "unknown", "gain_1q": "present", "iss": "III",
     "r_iss": "III"},
]  # fmt: skip


def kind_of(index: int) -> tuple[int, int]:
    """(history, profile) of the case with this index: every combination comes round."""
    return index % len(HISTORIES), (index // len(HISTORIES)) % len(PROFILES)


def _months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _case_and_lines(index: int, regimens: dict[str, Regimen]) -> tuple[Case, list[TherapyLine]]:
    history, profile = kind_of(index)
    diagnosis = _months(date(2012, 1, 1), index % 96)
    case = Case(
        code=f"MM-SYN-{index:05d}",
        age_at_diagnosis=45 + index % 35,
        sex="FM"[index % 2],
        diagnosis=diagnosis,
        notes=f"Synthetic benchmark case, history {history}, profile {profile}.",
        **PROFILES[profile],
    )
    lines, start = [], _months(diagnosis, 1)
    for number, (spec, months) in enumerate(HISTORIES[history], start=1):
        end = _months(start, months)
        line = TherapyLine(
            case=case,
            number=number,
            regimen=regimens.get(spec.get("regimen", "")),
            regimen_text=spec.get("regimen_text", ""),
            drug_keys=spec.get("drug_keys", []),
            other_drug_classes=spec.get("other_drug_classes", []),
            start=start,
            end=end,
            progression=end,
            outcome="progression_on_therapy",
            best_response=RESPONSES[(number + history) % len(RESPONSES)],
        )
        if spec.get("asct"):
            line.asct, line.asct_date = True, _months(start, 5)
            line.maintenance_drug_keys = spec["maintenance_drug_keys"]
            line.maintenance_start = _months(start, 8)
            line.len_dose_at_progression_mg = 10
        lines.append(line)
        start = _months(end, 1)
    case.current_relapse = lines[-1].progression
    return case, lines


@transaction.atomic
def build_cases(count: int, start: int = 0) -> list[Case]:
    """`count` synthetic cases MM-SYN-nnnnn with three to five therapy lines (four on average)."""
    keys = {spec["regimen"] for history in HISTORIES for spec, _ in history if "regimen" in spec}
    regimens = {r.key: r for r in Regimen.objects.filter(key__in=keys)}
    missing = keys - regimens.keys()
    if missing:
        raise LookupError(f"The knowledge base lacks {', '.join(sorted(missing))}: run load_evidence first.")
    built = [_case_and_lines(index, regimens) for index in range(start, start + count)]
    cases = bulk_create_with_history([case for case, _ in built], Case, batch_size=BATCH)
    by_code = {case.code: case for case in cases}
    lines = []
    for case, case_lines in built:
        for line in case_lines:
            line.case = by_code[case.code]  # the saved row, with its primary key
            lines.append(line)
    bulk_create_with_history(lines, TherapyLine, batch_size=BATCH)
    return list(Case.objects.filter(code__in=by_code).order_by("code"))


# --- Meetings and decisions -----------------------------------------------------------------------------

ITEMS_PER_MEETING = 8
DISCUSSED_POOL = 2000  # meetings discuss the first cases again and again, as a board does at each relapse


@dataclass
class Snapshot:
    """What a decision freezes, for one kind of case."""

    option_key: str
    option_label: str
    category: str
    algorithm_version: str
    snapshot: dict[str, Any]


def _snapshot(case: Case) -> Snapshot:
    """The real recommendation and evidence for this case, as load_demo records a decision."""
    options = services.options_for(case)
    chosen = options.first_listed()
    return Snapshot(
        option_key=chosen["key"] if chosen else "CLINICAL-TRIAL",
        option_label=chosen["label"] if chosen else "CLINICAL-TRIAL",
        category=(chosen or {}).get("category", ""),
        algorithm_version=str(options.recommendation.get("algorithm_version", ""))[:80],
        snapshot=services.snapshot(case, options),
    )


def bench_user(username: str = SECRETARY):
    """A board member (the role that records decisions); created once."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=BOARD_MEMBER))
    return user


@transaction.atomic
def build_meetings(count: int, cases: list[Case]) -> list[Meeting]:
    """`count` weekly meetings, one in fifty of them ahead (at least one); each past one with decisions.

    Every meeting has seven attendees and up to eight cases on its agenda; past
    meetings have a decision for each case (recorded at the meeting's date).
    """
    upcoming = max(1, count // 50)
    user = bench_user()
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    next_thursday = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    first = next_thursday - timedelta(weeks=count - upcoming)
    meetings = Meeting.objects.bulk_create(
        Meeting(
            date=datetime.combine(first + timedelta(weeks=n), time(14), tzinfo=tz),
            title="Myeloma tumour board (synthetic)",
            location="Room 3 and video link",
        )
        for n in range(count)
    )
    Attendee.objects.bulk_create(
        Attendee(meeting=meeting, name=name, specialty=specialty)
        for meeting in meetings
        for name, specialty in ATTENDEES
    )
    pool = cases[:DISCUSSED_POOL]
    per_meeting = min(ITEMS_PER_MEETING, len(pool))
    agenda = [
        AgendaItem(
            meeting=meeting,
            case=pool[(n * per_meeting + k) % len(pool)],
            position=k + 1,
            question="Next line of therapy?",
        )
        for n, meeting in enumerate(meetings)
        for k in range(per_meeting)
    ]
    AgendaItem.objects.bulk_create(agenda, batch_size=BATCH)

    snapshots: dict[tuple[int, int], Snapshot] = {}
    decisions = []
    for item in agenda:
        if item.meeting.date.date() >= today:
            continue
        index = int(item.case.code.rsplit("-", 1)[1])
        kind = kind_of(index)
        if kind not in snapshots:
            snapshots[kind] = _snapshot(item.case)
        made = snapshots[kind]
        decisions.append(
            Decision(
                case=item.case,
                meeting=item.meeting,
                option_key=made.option_key,
                option_label=made.option_label,
                category=made.category,
                rationale="Synthetic decision: the board followed the first preferred option.",
                patient_preference="Prefers an outpatient regimen.",
                follow_up=item.meeting.date.date() + timedelta(weeks=4),
                status="started",
                algorithm_version=made.algorithm_version,
                snapshot={**made.snapshot, "case": item.case.code},
                recorded_by=user,
            )
        )
    for decision in decisions:  # bulk_create skips save(), which reads these from the snapshot
        decision.derive_from_snapshot()
    decisions = Decision.objects.bulk_create(decisions, batch_size=BATCH)
    # auto_now_add stamped them now; a decision is recorded at its meeting.
    Decision.objects.filter(meeting__in=meetings).update(
        recorded_at=Subquery(Meeting.objects.filter(pk=OuterRef("meeting_id")).values("date")[:1])
    )
    build_follow_up(decisions, today)
    CasesRevision.bump()  # bulk_create sends no signals; /outcomes/ must see the new rows
    return meetings


def build_follow_up(decisions: list[Decision], today: date) -> None:
    """Follow-up of every decision: a start, one response, and a progression, death or last contact."""
    outcomes, responses = [], []
    for n, decision in enumerate(decisions):
        decided = decision.meeting.date.date()
        start = decided + timedelta(days=7 + n % 21)
        progression = start + timedelta(days=60 + (n * 37) % 700)
        seen = today - timedelta(days=n % 40)
        outcome = Outcome(decision=decision, start=min(start, today))
        if progression <= seen:
            outcome.progression, outcome.progression_basis = progression, "laboratory"
            if n % 2:
                outcome.next_treatment = min(progression + timedelta(days=30), seen)
            if n % 7 == 0:
                outcome.death = min(progression + timedelta(days=90), seen)
        if outcome.death is None:
            outcome.last_contact = max(seen, outcome.start)
        outcomes.append(outcome)
    outcomes = Outcome.objects.bulk_create(outcomes, batch_size=BATCH)
    for n, outcome in enumerate(outcomes):
        assessed = outcome.start + timedelta(days=60)
        if assessed <= (outcome.progression or outcome.last_contact or outcome.death):
            responses.append(ResponseAssessment(outcome=outcome, date=assessed, response=RESPONSES[n % 4]))
    ResponseAssessment.objects.bulk_create(responses, batch_size=BATCH)


# --- An algorithm draft ----------------------------------------------------------------------------------


def build_draft(label: str = "bench-impact-draft"):
    """(published, draft): a draft copied from the published rules with one option removed (SVd from the
    double-refractory setting) and one category changed (teclistamab preferred after 3+ lines), as
    issue 12's test builds one; for timing the impact on the cases in care."""
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    settings = {s["key"]: s for s in data["settings"]}
    double = settings["len_and_cd38_refractory"]
    double["options"] = [o for o in double["options"] if o["regimen"] != "SVD"]
    for option in settings["triple_class_exposed_3plus_prior_lines"]["options"]:
        if option["regimen"] == "TECLISTAMAB":
            option["category"] = "preferred"
    return published, load_draft(data, label, "benchmark draft")


def build(cases: int, meetings: int = 500, trials: int = 200) -> dict[str, int]:
    """Everything at one scale; returns row counts. Needs the shipped knowledge base."""
    build_trials(trials)
    built = build_cases(cases)
    build_meetings(meetings, built)
    return {
        "cases": Case.objects.count(),
        "lines": TherapyLine.objects.count(),
        "meetings": Meeting.objects.count(),
        "decisions": Decision.objects.count(),
        "follow_ups": Outcome.objects.count(),
        "trials": Trial.objects.count(),
        "results": Result.objects.count(),
    }
