"""/compare/: median PFS, response and hazard ratios of chosen regimens, side by side.

One view serves the page, the HTMX partial (`compare/compare.html#charts`) and
the CSV behind each chart (`&format=csv&chart=pfs|response|hr`). The database
is read in four queries (regimens, trials, arms, charted results with sources);
results become plain `charts.ResultRow`s and `compare.charts` builds the
figures, which it memoises on those rows: a curated change is a new cache key,
never a stale figure. The rendered charts part is kept per knowledge-base
revision and query string (regimens/fragments.py): the same comparison asked again
costs one query for the revision.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET

from compare import charts
from mmboard.http import HtmxHttpRequest, vary_on_htmx, wants_partial
from regimens.fragments import kept
from regimens.models import KnowledgeBaseRevision, Regimen, Result, Trial, TrialArm

CHARTS = ("pfs", "response", "hr")
CHART_ENDPOINTS = {
    "pfs": (charts.PFS_MEDIAN,),
    "response": (charts.ORR, charts.VGPR, charts.CR),
    "hr": (charts.PFS_HR, charts.OS_HR),
}


@dataclass
class Fingerprint:
    """A trial's population, for judging whether two trials are comparable at all."""

    name: str
    url: str
    design: str
    prior_lines: str
    len_refractory: str
    anti_cd38_refractory: str
    triple_class_refractory: str
    follow_up: str = ""


@dataclass
class Chart:
    id: str
    title: str
    caption: str
    figure: dict
    table: list[charts.TableRow]
    csv_url: str
    notes: list[str] = field(default_factory=list)
    notes_curated: bool = False  # the notes are the knowledge base's (English) text, not the interface's

    @property
    def json_id(self) -> str:
        return f"{self.id}-figure"


@dataclass
class Comparison:
    regimen_keys: list[str]
    unknown_keys: list[str]
    trial_key: str
    trials: list[Trial]
    arms: list[charts.ArmRef]
    rows: list[charts.ResultRow]  # every charted endpoint, every population
    title: str = ""


def _percent(value: float | None) -> str:
    return gettext("not reported") if value is None else f"{charts.num(value)}%"


def _design_label(trial: Trial) -> str:
    design = trial.design.lower()
    kind = (
        pgettext("trial design", "randomised")
        if "randomi" in design
        else pgettext("trial design", "single-arm")
        if "single" in design
        else ""
    )
    return f"{kind} {trial.get_phase_display()}".strip()


def is_randomised(trial: Trial) -> bool:
    return "randomi" in trial.design.lower()


def parse_keys(request: HttpRequest) -> list[str]:
    """`?regimens=A,B` or `?regimens=A&regimens=B`, upper-cased, de-duplicated, in order."""
    keys = [k.strip().upper() for value in request.GET.getlist("regimens") for k in value.split(",")]
    return list(dict.fromkeys(k for k in keys if k))


def _row(result: Result, trial: Trial, arms: dict[int, TrialArm]) -> charts.ResultRow:
    # arms come from the trial's prefetched arms (with their regimens): no query per result
    arm, vs = arms[result.arm_id], arms.get(result.vs_id) if result.vs_id else None
    return charts.ResultRow(
        trial_key=trial.key,
        trial_name=trial.name,
        arm_key=arm.key,
        arm_label=arm.short_label,
        endpoint=result.endpoint,
        population=result.population,
        value=result.value,
        analysis=result.analysis,
        source_label=result.source.citation or result.source.key,
        source_url=result.source.link,
        not_reached=result.not_reached,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        ci_level=result.ci_level,
        unit=result.unit,
        vs_key=vs.key if vs else "",
        vs_label=vs.short_label if vs else "",
        p=result.p,
        note=trial.notes if result.endpoint in (charts.PFS_HR, charts.OS_HR) else "",
        quote=result.quote,
    )


def load_comparison(regimen_keys: list[str], trial_key: str) -> Comparison:
    """Trials holding the chosen regimens (or the one trial asked for), their arms and results."""
    regimens = {r.key: r for r in Regimen.objects.filter(key__in=regimen_keys).only("key", "abbreviation")}
    unknown = [k for k in regimen_keys if k not in regimens]
    trials_qs = Trial.objects.for_comparison(charts.CHARTED_ENDPOINTS)
    if regimen_keys:
        trials_qs = trials_qs.filter(arms__regimen__key__in=regimen_keys)
    if trial_key:
        trials_qs = trials_qs.filter(key=trial_key)
    elif not regimen_keys:
        trials_qs = trials_qs.none()
    trials = list(trials_qs.distinct().order_by("name"))

    def charted(arm) -> bool:
        return not regimen_keys or (arm.regimen is not None and arm.regimen.key in regimen_keys)

    # trials with a randomised pair of charted arms first, then by name
    trials.sort(key=lambda t: (-sum(1 for a in t.arms.all() if charted(a)), t.name))
    palette_keys = list(regimen_keys)
    arms, rows = [], []
    for trial in trials:
        design = _design_label(trial)
        charted_keys = set()
        trial_arms = {arm.pk: arm for arm in trial.arms.all()}
        for arm in trial_arms.values():
            if not charted(arm):
                continue
            identity = arm.regimen.key if arm.regimen else arm.label
            if identity not in palette_keys:
                palette_keys.append(identity)
            arms.append(
                charts.ArmRef(
                    trial_key=trial.key,
                    trial_name=trial.name,
                    arm_key=arm.key,
                    label=arm.short_label,
                    colour=palette_keys.index(identity),
                    trial_design=design,
                )
            )
            charted_keys.add(arm.pk)
        for result in trial.results.all():
            if result.endpoint in charts.CHARTED_ENDPOINTS and result.arm_id in charted_keys:
                rows.append(_row(result, trial, trial_arms))
    names = [regimens[k].abbreviation for k in regimen_keys if k in regimens]
    title = f" {gettext('vs')} ".join(names) if names else ", ".join(t.name for t in trials)
    if trial_key and trials and names:
        title = gettext("%(regimens)s in %(trial)s") % {"regimens": title, "trial": trials[0].name}
    return Comparison(regimen_keys, unknown, trial_key, trials, arms, rows, title)


def population_choices(rows: list[charts.ResultRow]) -> list[tuple[str, str]]:
    counts = Counter(r.population for r in rows)
    ordered = sorted(counts, key=lambda p: (p != "ITT", -counts[p], p))
    return [(p, charts.population_label(p)) for p in ordered]


def analysis_choices(rows: list[charts.ResultRow]) -> list[tuple[str, str]]:
    present = set().union(*(charts.analysis_stages(r.analysis) for r in rows)) if rows else set()
    if len(present) < 2:
        return []
    return [("", gettext("all analyses"))] + [
        (key, label) for key, (label, _words) in charts.ANALYSIS_STAGES.items() if key in present
    ]


def _query(request: HttpRequest, **changes: str) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True)


def _fingerprints(comparison: Comparison, rows: list[charts.ResultRow]) -> tuple[list[Fingerprint], bool]:
    prints = []
    for trial in comparison.trials:
        follow_ups = list(
            dict.fromkeys(charts.follow_up(r.analysis) for r in rows if r.trial_key == trial.key)
        )
        prints.append(
            Fingerprint(
                name=trial.name,
                url=trial.get_absolute_url(),
                design=_design_label(trial),
                prior_lines=trial.prior_lines_label,
                len_refractory=_percent(trial.len_refractory_pct),
                anti_cd38_refractory=_percent(trial.anti_cd38_refractory_pct),
                triple_class_refractory=_percent(trial.triple_class_refractory_pct),
                follow_up=" / ".join(f for f in follow_ups if f),
            )
        )
    return prints, any(p.follow_up for p in prints)


def build_charts(
    request: HttpRequest, comparison: Comparison, rows: list[charts.ResultRow], population: str, cross: bool
) -> dict[str, Chart]:
    arms = comparison.arms
    hr_rows = [r for r in rows if r.endpoint in (charts.PFS_HR, charts.OS_HR)]
    caveats = list(
        dict.fromkeys(f"{r.trial_name}: {r.note}" for r in hr_rows if r.note and r.endpoint == charts.OS_HR)
    )
    return {
        "pfs": Chart(
            id="chart-pfs",
            title=gettext("Median progression-free survival"),
            caption=charts.pfs_caption(arms, rows, population),
            figure=charts.pfs_figure(arms, rows, cross_trial=cross),
            table=charts.table_rows(arms, rows, CHART_ENDPOINTS["pfs"], population),
            csv_url=_query(request, format="csv", chart="pfs"),
        ),
        "response": Chart(
            id="chart-response",
            title=gettext("Response (ORR, by depth where reported)"),
            caption=charts.response_caption(arms, rows, population),
            figure=charts.response_figure(arms, rows, cross_trial=cross),
            table=charts.table_rows(arms, rows, CHART_ENDPOINTS["response"], population),
            csv_url=_query(request, format="csv", chart="response"),
            notes=[
                gettext(
                    "Depth is stacked only where ≥CR and/or ≥VGPR were reported for the same arm, "
                    "population and analysis as the ORR; the segments are derived by subtraction."
                )
            ],
        ),
        "hr": Chart(
            id="chart-hr",
            title=gettext("Hazard ratios (forest plot)"),
            caption=charts.hr_caption(hr_rows, population),
            figure=charts.hr_figure(hr_rows),
            table=charts.table_rows(arms, hr_rows, CHART_ENDPOINTS["hr"], population),
            csv_url=_query(request, format="csv", chart="hr"),
            notes=caveats,
            notes_curated=True,
        ),
    }


def _context(request: HttpRequest) -> tuple[dict, dict[str, Chart], str]:
    """The page's context, its charts by name and the population shown."""
    regimen_keys = parse_keys(request)
    trial_key = request.GET.get("trial", "").strip().upper()
    comparison = load_comparison(regimen_keys, trial_key)

    populations = population_choices(comparison.rows)
    population = request.GET.get("population", "ITT")
    if population not in dict(populations):
        population = populations[0][0] if populations else "ITT"
    in_population = charts.rows_for_population(comparison.rows, population)
    analyses = analysis_choices(in_population)
    analysis = request.GET.get("analysis", "")
    if analysis not in dict(analyses):
        analysis = ""
    rows = [r for r in in_population if charts.in_stage(r, analysis)]

    trial_count = len({a.trial_key for a in comparison.arms})
    cross = trial_count > 1
    chart_map = build_charts(request, comparison, rows, population, cross) if comparison.arms else {}
    fingerprints, show_follow_up = _fingerprints(comparison, rows) if cross else ([], False)
    single = comparison.trials[0] if trial_count == 1 else None
    context = {
        "comparison": comparison,
        "populations": populations,
        "population": population,
        "population_label": charts.population_label(population),
        "analyses": analyses,
        "analysis": analysis,
        "cross_trial": cross,
        "within_randomised": single is not None and len(comparison.arms) > 1 and is_randomised(single),
        "single_trial": single,
        "fingerprints": fingerprints,
        "show_follow_up": show_follow_up,
        "charts": [chart_map[key] for key in CHARTS if key in chart_map],
    }
    return context, chart_map, population


@require_GET
@vary_on_htmx
@permission_required("regimens.view_result", raise_exception=True)
def compare(request: HtmxHttpRequest) -> HttpResponse:
    if request.GET.get("format") == "csv":
        _, chart_map, population = _context(request)
        chart = chart_map.get(request.GET.get("chart", "pfs"))
        body = charts.to_csv(chart.table if chart else [])
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        name = f"mmboard-compare-{request.GET.get('chart', 'pfs')}-{population}.csv".replace(" ", "_")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def render_charts() -> tuple[dict, int]:
        context = _context(request)[0]
        html = render_to_string("compare/compare.html#charts", context)
        # Rendered, and so escaped, by the template engine.
        return {"comparison": context["comparison"], "charts_html": mark_safe(html)}, len(html)

    query = urlencode(sorted(request.GET.lists()), doseq=True)
    page = kept.get_or_make(KnowledgeBaseRevision.current(), ("compare", query), render_charts)
    if wants_partial(request):  # a history restore gets the whole page
        return HttpResponse(page["charts_html"])
    return render(request, "compare/compare.html", page)
