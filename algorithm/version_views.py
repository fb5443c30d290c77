"""Pages about algorithm versions: what changed between two (the diff) and what a draft changes for the
cases in care (the impact, computed by the task worker with a progress bar).

Everyone who may read the algorithm sees the diff and the impact's counts; the
cases themselves (codes, decisions, links) only those who may view cases
(curators own the algorithm, not the patients). Curators start an impact run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from algorithm import impact
from algorithm.diff import diff_versions
from algorithm.tasks import start_impact
from mmboard.http import HtmxHttpRequest, done, page_or_partial, vary_on_htmx
from regimens.models import AlgorithmStatus, AlgorithmVersion, ImpactRun, ImpactStatus

GROUP_PREVIEW = 25  # cases shown per kind of change before "all N"
CASES_PER_PAGE = 100  # one kind of change, paginated
WORKER_HINT_SECONDS = 10  # a run still queued after this long: say how to start the worker


def get_version(label: str) -> AlgorithmVersion:
    return get_object_or_404(AlgorithmVersion, label=label)


def published_version() -> AlgorithmVersion:
    version = AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).first()
    if version is None:
        raise Http404("No algorithm version is published.")
    return version


def diff_url(old: AlgorithmVersion | str, new: AlgorithmVersion | str) -> str:
    """The diff page of two versions (or of two labels)."""
    return reverse("algorithm_version_diff", args=[getattr(old, "label", old), getattr(new, "label", new)])


def impact_url(draft: AlgorithmVersion, against: AlgorithmVersion | None = None, **query: str) -> str:
    url = reverse("algorithm_version_impact", args=[draft.label])
    params = {"against": against.label} if against and against.status != AlgorithmStatus.PUBLISHED else {}
    params.update(query)
    return f"{url}?{urlencode(params)}" if params else url


@require_GET
@permission_required("regimens.view_algorithmversion", raise_exception=True)
def version_diff(request: HtmxHttpRequest, a: str, b: str) -> HttpResponse:
    old, new = get_version(a), get_version(b)
    diff = diff_versions(old, new)
    context: dict[str, Any] = {"old": old, "new": new, "diff": diff, "areas": diff.by_area()}
    if new.status == AlgorithmStatus.DRAFT and old.status == AlgorithmStatus.PUBLISHED:
        run, fresh = impact.fresh_run(new, old)
        context.update(run=run, fresh=fresh, impact_url=impact_url(new, old))
    return render(request, "algorithm/version_diff.html", context)


def _case_row(case: dict[str, Any], can_see_cases: bool) -> dict[str, Any]:
    return {
        "code": case["code"],
        "url": reverse("cases:case_detail", args=[case["code"]]) if can_see_cases else "",
        "decision": case["decision"],
        "recorded": datetime.fromisoformat(case["decision"]["recorded_at"]) if case["decision"] else None,
        "changes": [impact.describe_change(c) for c in case["changes"]],
    }


def impact_context(
    request: HtmxHttpRequest, draft: AlgorithmVersion, against: AlgorithmVersion
) -> dict[str, Any]:
    """What the impact part shows, on its page and in the admin's publish confirmation."""
    run, fresh = impact.fresh_run(draft, against)
    user = request.user
    can_see_cases = user.has_perm("cases.view_case")
    context: dict[str, Any] = {
        "draft": draft,
        "against": against,
        "run": run,
        "fresh": fresh,
        "kinds": impact.KINDS,
        "can_run": user.has_perm("regimens.change_algorithmversion"),
        "can_see_cases": can_see_cases,
        "page_url": impact_url(draft, against),
        "poll_url": impact_url(draft, against, poll="1"),
        "diff_url": diff_url(against, draft),
        "waiting_long": bool(
            run
            and run.status == ImpactStatus.QUEUED
            and (timezone.now() - run.created_at).total_seconds() > WORKER_HINT_SECONDS
        ),
    }
    if run is None or run.status != ImpactStatus.DONE:
        return context
    counts = run.counts or {}
    kind = request.GET.get("kind")
    groups = []
    for key, title in impact.KINDS.items():
        if kind and kind != key:
            continue
        cases = [c for c in run.results if key in c["kinds"]]
        group: dict[str, Any] = {"key": key, "title": title, "count": len(cases)}
        if can_see_cases:
            if kind:
                page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
                group.update(page=page, rows=[_case_row(c, True) for c in page.object_list])
            else:
                group["rows"] = [_case_row(c, True) for c in cases[:GROUP_PREVIEW]]
                group["more_url"] = impact_url(draft, against, kind=key) if len(cases) > GROUP_PREVIEW else ""
        groups.append(group)
    context.update(counts=counts, groups=groups, kind=kind if kind in impact.KINDS else None)
    return context


@require_http_methods(["GET", "POST"])
@vary_on_htmx
@permission_required("regimens.view_algorithmversion", raise_exception=True)
def version_impact(request: HtmxHttpRequest, label: str) -> HttpResponse:
    """The impact of a draft on the cases in care: counts first, then the cases by kind of change.

    GET shows the stored result (instant), or the progress of a run (the part polls itself while the
    task worker runs the cases); POST (curators) starts a run for the current inputs.
    """
    draft = get_version(label)
    against = get_version(request.GET["against"]) if request.GET.get("against") else published_version()
    if request.method == "POST":
        if not request.user.has_perm("regimens.change_algorithmversion"):
            raise PermissionDenied
        start_impact(draft, against, request.user)
        return done(request, impact_url(draft, against))
    context = impact_context(request, draft, against)
    run: ImpactRun | None = context["run"]
    if request.GET.get("poll") and request.htmx and (run is None or run.is_finished):
        # The run finished while the page polled: reload the whole page (it shows more than this part,
        # e.g. the admin's publish button).
        return HttpResponse(headers={"HX-Refresh": "true"})
    return render(request, page_or_partial(request, "algorithm/impact.html", "impact"), context)
