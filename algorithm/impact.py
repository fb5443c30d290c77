"""The impact of an algorithm draft on the patients in care: which cases' options change, and how.

Every case in care runs through both versions with the pure engine:

- cases in care: on the agenda of an upcoming meeting, or with a decision in
  force (the case's latest) that is planned or started, or that was recorded
  within `settings.IMPACT_RECENT_DECISION_DAYS`;
- each version's rules compile once; the drug catalogue is read once; cases
  stream in chunks with their lines, regimens and overrides prefetched; each
  case's facts are derived once (cases.services.case_data + cases.derivation)
  and cases with the same facts share one evaluation per version (the
  evaluation and the comparison, algorithm/comparison.py, are pure);
- a case has changed when an option it is offered appears, goes, changes
  category or gains a caution, or when the option of its decision in force is
  no longer offered. Each change has one kind (KINDS), most serious first.

`execute` stores the result in an `ImpactRun` (regimens/models.py) with the
draft; `current_inputs` names what the result depends on, so a page can tell
whether it is still valid. The background task (algorithm/tasks.py) and the
`algorithm_impact` command call `execute`; publishing with `publish_reviewed`
raises a review flag (cases.models.ReviewFlag) on every changed case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history

from algorithm.comparison import (
    CATEGORY,
    CHOSEN_WITHDRAWN,
    NEW_CAUTION,
    NEW_PREFERRED,
    NOT_RECOMMENDED,
    Item,
    compare,
    evaluate_batch,
)
from algorithm.engine import Rules
from algorithm.versions import PublishError, compile_version, option_labels, publish, regimen_components
from cases import derivation, services
from cases.models import (
    AgendaItem,
    Case,
    Decision,
    DecisionStatus,
    FactOverride,
    Meeting,
    ReviewFlag,
    TherapyLine,
)
from regimens.models import AlgorithmVersion, ImpactRun, ImpactStatus, KnowledgeBaseRevision

# Kinds of change, most serious first; a change has one kind, a case those of its changes.
KINDS = {
    CHOSEN_WITHDRAWN: _("The option chosen is no longer offered, or is now not recommended"),
    NEW_PREFERRED: _("A new preferred option"),
    CATEGORY: _("Options that change category, appear or go"),
    NEW_CAUTION: _("New cautions"),
}
__all__ = ["KINDS", "analyse", "compare", "describe_change", "execute", "publish_reviewed"]

CHUNK = 500  # cases read per round of queries
BATCH = 50  # cases evaluated between progress reports

Progress = Callable[[int, int], None]  # (cases done, cases in all)


STANDING_WORDS = {None: _("not listed"), NOT_RECOMMENDED: _("not recommended")}


def describe_change(change: Mapping[str, Any]) -> str:
    """One change in words: "IsaKd: preferred → alternative", "DPd: new caution (MOD-CFZ-CV)"."""
    label = change.get("label") or change["option"]
    before = STANDING_WORDS.get(change["before"], change["before"])
    after = STANDING_WORDS.get(change["after"], change["after"])
    cautions = ", ".join(change.get("cautions_added") or ())
    if change["before"] == change["after"]:
        return str(_("%(option)s: %(category)s, new caution (%(cautions)s)")) % {
            "option": label, "category": after, "cautions": cautions}  # fmt: skip
    text = f"{label}: {before} → {after}"
    if cautions:
        text += " " + str(_("(new caution: %(cautions)s)")) % {"cautions": cautions}
    return text


# -- the cases in care -----------------------------------------------------------------------------


def decisions_in_force() -> dict[int, dict[str, Any]]:
    """Each decided case's latest decision (the one in force), without its snapshot; one query."""
    rows = Decision.objects.order_by("case_id", "-recorded_at", "-pk").values(
        "case_id", "option_key", "option_label", "category", "status", "recorded_at"
    )
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        latest.setdefault(row["case_id"], row)
    return latest


def cases_in_care(now=None) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """Ids of the cases in care, and the decisions in force by case id (two queries)."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.IMPACT_RECENT_DECISION_DAYS)
    decisions = decisions_in_force()
    ongoing = {DecisionStatus.PLANNED, DecisionStatus.STARTED}
    ids = {case_id for case_id, d in decisions.items() if d["status"] in ongoing or d["recorded_at"] >= since}
    ids |= set(AgendaItem.objects.filter(meeting__date__gte=now).values_list("case_id", flat=True))
    return sorted(ids), decisions


def cases_stamp() -> str:
    """The latest change to any case, line, override, meeting, agenda or decision (history row ids)."""
    models = (Case, TherapyLine, FactOverride, Meeting, AgendaItem, Decision)
    latest = [m.history.model.objects.order_by("-history_id").values_list("history_id", flat=True).first()
              for m in models]  # fmt: skip
    return ".".join(str(n or 0) for n in latest)


def current_inputs(draft: AlgorithmVersion, against: AlgorithmVersion) -> str:
    """What a run's result depends on: both versions and the knowledge base (its revision goes up on
    every change to a version's rules or to a regimen), the cases, meetings and decisions, the day and
    the period that counts a decision as recent."""
    return (
        f"v{draft.pk}-{against.pk} kb{KnowledgeBaseRevision.current()} cases{cases_stamp()} "
        f"{timezone.localdate().isoformat()} {settings.IMPACT_RECENT_DECISION_DAYS}d"
    )


# -- running the cases through both versions --------------------------------------------------------


@dataclass
class Impact:
    total: int = 0
    cases: list[dict[str, Any]] = field(default_factory=list)  # the changed cases
    errors: list[dict[str, str]] = field(default_factory=list)  # cases the engine could not use
    evaluations: int = 0  # distinct fact sets run through both versions

    def counts(self) -> dict[str, Any]:
        by_kind = {kind: sum(1 for c in self.cases if kind in c["kinds"]) for kind in KINDS}
        return {
            "in_care": self.total,
            "changed": len(self.cases),
            "kinds": by_kind,
            "errors": len(self.errors),
            "evaluations": self.evaluations,
        }


def _key(facts: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in facts.items()))


def _cases(ids: list[int]) -> Iterable[Case]:
    """The cases with what their facts need, CHUNK at a time (four queries per chunk)."""
    lines = TherapyLine.objects.for_facts().order_by("number")
    overrides = FactOverride.objects.select_related("created_by")
    for start in range(0, len(ids), CHUNK):
        chunk = Case.objects.filter(pk__in=ids[start : start + CHUNK]).order_by("pk")
        yield from chunk.prefetch_related(
            Prefetch("lines", queryset=lines), Prefetch("overrides", queryset=overrides)
        )


def _decision_json(decision: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "option": decision["option_key"],
        "label": decision["option_label"],
        "category": decision["category"],
        "status": decision["status"],
        "recorded_at": decision["recorded_at"].isoformat(),
    }


def analyse(
    draft: Rules,
    against: Rules,
    case_ids: list[int],
    decisions: Mapping[int, Mapping[str, Any]],
    labels: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    share: bool = True,
) -> Impact:
    """Run each case through `against` (before) and `draft` (after); keep the cases that change.

    `share`: cases with the same facts and decision share one evaluation (the result is the same;
    the benchmark turns it off to time the worst case, every case different).
    """
    labels = labels or {}
    versions = (against, draft)
    catalogue = services.drug_catalogue()
    impact = Impact(total=len(case_ids))
    cases: list[tuple[str, int, Any, Mapping[str, Any] | None]] = []  # code, id, evaluation key, decision
    outcomes: dict[Any, tuple[list[dict[str, Any]] | None, str | None]] = {}
    batch: list[Item] = []
    queued: set = set()  # evaluation keys (each evaluated once)
    reported = 0

    def evaluate_pending() -> None:
        nonlocal reported
        for key, changes, error in evaluate_batch(batch, versions):
            outcomes[key] = (changes, error)
        batch.clear()
        done = reported
        while done < len(cases) and cases[done][2] in outcomes:
            done += 1
        if progress and done > reported:
            progress(done, impact.total)
        reported = done

    for index, case in enumerate(_cases(case_ids)):
        facts = derivation.engine_facts(derivation.derive(services.case_data(case, catalogue=catalogue)))
        decision = decisions.get(case.pk)
        chosen = decision["option_key"] if decision else None
        key = (_key(facts), chosen) if share else index
        if key not in queued:
            queued.add(key)
            batch.append((key, facts, chosen))
        cases.append((case.code, case.pk, key, decision))
        if len(batch) >= BATCH or (index + 1) % CHUNK == 0:
            evaluate_pending()
    evaluate_pending()

    impact.evaluations = len(queued)
    for code, case_id, key, decision in cases:
        changes, error = outcomes[key]
        if error:
            impact.errors.append({"code": code, "error": error})
        elif changes:
            changes = [
                {**change, "label": labels.get(change["option"], change["option"])} for change in changes
            ]
            impact.cases.append(
                {
                    "code": code,
                    "case_id": case_id,
                    "changes": changes,
                    "kinds": [k for k in KINDS if any(c["kind"] == k for c in changes)],
                    "decision": _decision_json(decision),
                }
            )
    impact.cases.sort(key=lambda c: c["code"])
    return impact


def labels_for(*rules: Rules) -> dict[str, str]:
    keys = {o.key for r in rules for s in r.settings for o in s.options}
    return option_labels(keys | {"OTHER"})


def create_run(draft: AlgorithmVersion, against: AlgorithmVersion, user=None) -> ImpactRun:
    return ImpactRun.objects.create(
        draft=draft, against=against, inputs=current_inputs(draft, against), requested_by=user
    )


def execute(run: ImpactRun, report: Progress | None = None) -> ImpactRun:
    """Run the impact of `run.draft` against `run.against` over the cases in care; store it in `run`."""
    runs = ImpactRun.objects.filter(pk=run.pk)
    runs.update(status=ImpactStatus.RUNNING, started_at=timezone.now(), done=0)
    try:
        components = regimen_components()
        _, draft_rules = compile_version(run.draft, components)
        _, against_rules = compile_version(run.against, components)
        ids, decisions = cases_in_care()
        runs.update(total=len(ids))

        def progress(done: int, total: int) -> None:
            runs.update(done=done)
            if report:
                report(done, total)

        impact = analyse(draft_rules, against_rules, ids, decisions, labels_for(draft_rules, against_rules),
                         progress)  # fmt: skip
    except Exception as error:
        runs.update(
            status=ImpactStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        run.refresh_from_db()
        raise
    run.status, run.total, run.done = ImpactStatus.DONE, impact.total, impact.total
    run.counts, run.results = impact.counts(), impact.cases
    run.error = "; ".join(f"{e['code']}: {e['error']}" for e in impact.errors)
    run.finished_at = timezone.now()
    run.save()
    return run


def fresh_run(draft: AlgorithmVersion, against: AlgorithmVersion) -> tuple[ImpactRun | None, bool]:
    """The newest run of `draft` against `against`, and whether its inputs are still the current ones."""
    run = ImpactRun.objects.latest_for(draft, against)
    if run is None:
        return None, False
    return run, run.inputs == current_inputs(draft, against)


# -- publishing ---------------------------------------------------------------------------------------


def raise_review_flags(run: ImpactRun, user=None) -> int:
    """A review flag on every case the run found changed (one per case and version); how many."""
    flagged = set(ReviewFlag.objects.filter(algorithm_version=run.draft).values_list("case_id", flat=True))
    existing = set(
        Case.objects.filter(pk__in=[c["case_id"] for c in run.results]).values_list("pk", flat=True)
    )
    flags = [
        ReviewFlag(case_id=c["case_id"], algorithm_version=run.draft, changes=c["changes"], raised_by=user)
        for c in run.results
        if c["case_id"] in existing and c["case_id"] not in flagged
    ]
    bulk_create_with_history(flags, ReviewFlag, batch_size=CHUNK, default_user=user)
    return len(flags)


@transaction.atomic
def publish_reviewed(run: ImpactRun, user=None) -> int:
    """Publish the run's draft after its impact was seen, and flag the changed cases for review.

    Refuses (PublishError) when the run is not finished, is not against the published version, or is
    out of date (the draft, the knowledge base or a case changed since).
    """
    published = AlgorithmVersion.objects.published_id()
    if run.against_id != published:
        raise PublishError("The impact was computed against a version that is no longer published.")
    if run.status != ImpactStatus.DONE:
        raise PublishError("The impact on the cases in care has not been computed yet.")
    if run.inputs != current_inputs(run.draft, run.against):
        raise PublishError("The draft or the cases changed since the impact was computed: run it again.")
    publish(run.draft, user)
    return raise_review_flags(run, user)
