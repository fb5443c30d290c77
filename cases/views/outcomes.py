"""Follow-up of decided treatments (case editors) and /outcomes/ (the board's own results).

/outcomes/ is computed once per (cases revision, knowledge-base revision),
filter query and day in each process and kept (regimens/fragments.py): a
request reads the two revision numbers in one query. Nothing kept shows the
user: the patient-level CSV link, the only thing that depends on the user's
permissions, is part of the key.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language, gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from algorithm.presenting import setting_label
from cases import charts, outcomes, survival
from cases.forms import FollowUpForm, ResponseFormSet
from cases.models import (
    CasesRevision,
    Concordance,
    Decision,
    DecisionStatus,
    DeviationReason,
    Outcome,
    ResponseAssessment,
)
from mmboard.http import HtmxHttpRequest, done, page_or_partial, vary_on_htmx, wants_partial
from regimens.fragments import KeptFragments
from regimens.models import Endpoint, Result


@require_http_methods(["GET", "POST"])
def follow_up(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record what followed a decision: start or why not, responses, progression, death or last contact."""
    if not (request.user.has_perm("cases.add_outcome") and request.user.has_perm("cases.change_outcome")):
        raise PermissionDenied
    decision = get_object_or_404(Decision.objects.select_related("case", "meeting"), pk=pk)
    outcome = Outcome.objects.filter(decision=decision).first()
    form = FollowUpForm(request.POST or None, decision=decision, outcome=outcome)
    responses = ResponseFormSet(
        request.POST or None, instance=outcome or Outcome(decision=decision), prefix="responses"
    )
    if request.method == "POST" and form.is_valid() and responses.is_valid():
        form.check_responses(
            [f.cleaned_data["when"] for f in responses.forms
             if f.has_changed() and f.cleaned_data and not f.cleaned_data.get("DELETE")]
        )  # fmt: skip
        if form.is_valid():
            with transaction.atomic():
                saved = form.save(request.user)
                responses.instance = saved
                responses.save()
            messages.success(
                request, _("Follow-up of the decision for %(code)s saved.") % {"code": decision.case.code}
            )
            return done(request, decision.case.get_absolute_url() + f"#decision-{decision.pk}")
    return render(
        request,
        page_or_partial(request, "cases/follow_up_form.html", "follow-up-form"),
        {"form": form, "responses": responses, "decision": decision, "case": decision.case},
    )


# --- /outcomes/ --------------------------------------------------------------------------------------

PERIODS = [
    ("", gettext_lazy("all time")),
    ("12m", gettext_lazy("last 12 months")),
    ("24m", gettext_lazy("last 24 months")),
]
FILTERS = ("period", "setting", "regimen", "version")
MAX_GROUPS = 8  # curves per chart; smaller groups beyond are listed in the table only


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    num: bool = False

    def __str__(self) -> str:
        return self.text


@dataclass
class Chart:
    """A figure with its data table and CSV (templates/components/chart.html, generic-table form)."""

    id: str
    title: str
    caption: str
    figure: dict
    columns: list[str]
    rows: list[list[Cell]]
    csv_url: str
    notes: list[str] = field(default_factory=list)

    @property
    def json_id(self) -> str:
        return f"{self.id}-figure"


@dataclass
class Base:
    """Everything /outcomes/ reads from the database, once per revision."""

    courses: list[outcomes.Course]
    references: dict[str, list[charts.TrialReference]]
    choices: dict[str, list[tuple[str, str]]]


def _course(row: dict, responses: dict[int, list], tz) -> outcomes.Course:
    """A decision row (DecisionQuerySet.for_outcomes) as the analysis's plain Course."""

    def at(name: str):
        return outcomes.point(row[f"outcome__{name}"], row[f"outcome__{name}_precision"])

    moment = row["meeting__date"] or row["recorded_at"]
    return outcomes.Course(
        decision_id=row["pk"],
        code=row["case__code"],
        decided=moment.astimezone(tz).date(),
        option_key=row["option_key"],
        option_label=row["option_label"],
        setting=row["setting"],
        setting_label=row["setting_label"],
        version=row["algorithm_version"],
        concordance=row["concordance"] or outcomes.NO_RECOMMENDATION,
        status=row["status"],
        deviation_reason=row["deviation_reason"],
        start=at("start"),
        progression=at("progression"),
        next_treatment=at("next_treatment"),
        death=at("death"),
        last_contact=at("last_contact"),
        responses=tuple(responses.get(row["pk"], ())),
    )


def _references(regimen_keys: set[str]) -> dict[str, list[charts.TrialReference]]:
    """Trial medians of PFS (ITT) of the decided regimens, with their sources: one query.

    One median per trial arm: its latest analysis (the rows' order), as the option cards show it.
    """
    rows = (
        Result.objects.filter(
            endpoint=Endpoint.PFS_MEDIAN, population="ITT", arm__regimen__key__in=regimen_keys
        )
        .select_related("trial", "arm__regimen", "source")
        .order_by("trial__name", "order", "pk")
    )
    latest = {(result.trial_id, result.arm_id): result for result in rows}  # later rows win
    out: dict[str, list[charts.TrialReference]] = {}
    for result in latest.values():
        out.setdefault(result.arm.regimen.key, []).append(
            charts.TrialReference(
                regimen_key=result.arm.regimen.key,
                trial_name=result.trial.name,
                arm_label=result.arm.short_label,
                value=None if result.not_reached else result.value,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                population=result.trial.population or _("trial population"),
                analysis=result.analysis,
                source_label=str(result.source.citation or result.source.key),
                source_url=result.source.link,
                trial_url=result.trial.get_absolute_url(),
            )
        )
    return out


def load_base() -> tuple[Base, int]:
    """Decisions with their follow-up, the response assessments (two queries) and the trial references (one)."""
    responses: dict[int, list] = {}
    for decision_id, day, precision, response in ResponseAssessment.objects.for_outcomes():
        responses.setdefault(decision_id, []).append((outcomes.point(day, precision), response))
    tz = timezone.get_current_timezone()
    # No ORDER BY: SQLite then reads the covering index, not the rows; the order is made here.
    rows = sorted(Decision.objects.for_outcomes(), key=lambda row: row["pk"])
    courses = [_course(row, responses, tz) for row in rows]
    references = _references({c.option_key for c in courses if c.started})
    return Base(courses, references, _choices(courses)), 600 * len(courses) + 4000


def _by_setting(course: outcomes.Course) -> tuple[str, str]:
    """The course's algorithm setting, its title in the active language where the catalogue has it."""
    if not course.setting:
        return "", gettext("no setting matched")
    return course.setting, setting_label(course.setting, course.setting_label)


def _choices(courses: list[outcomes.Course]) -> dict[str, list[tuple[str, str]]]:
    years = sorted({str(c.decided.year) for c in courses}, reverse=True)
    settings = sorted({_by_setting(c) for c in courses if c.setting}, key=lambda s: s[1])
    regimens = sorted({c.option_key: c.option_label for c in courses}.items(), key=lambda r: r[1].lower())
    versions = sorted({c.version for c in courses if c.version}, reverse=True)
    return {
        "period": [(k, str(v)) for k, v in PERIODS] + [(y, y) for y in years],
        "setting": [("", _("all settings")), *settings],
        "regimen": [("", _("all regimens")), *regimens],
        "version": [("", _("all versions")), *[(v, v) for v in versions]],
    }


def _filters(request: HtmxHttpRequest, choices) -> outcomes.Filters:
    """The filters asked for, each kept only when it is one of the choices (else ignored)."""
    values = {}
    for name in FILTERS:
        value = request.GET.get(name, "").strip()
        values[name] = value if value in {k for k, _label in choices[name]} else ""
    return outcomes.Filters(**values)


def _query(filters: outcomes.Filters, **extra: str) -> str:
    params = [(name, getattr(filters, name)) for name in FILTERS if getattr(filters, name)]
    params += sorted(extra.items())
    return "?" + urlencode(params) if params else "?"


def _median_text(group: outcomes.Group) -> str:
    return survival.median_label(group.estimate, months=_("months"), not_reached=_("not reached"))


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


KM_ENDPOINTS = {
    outcomes.PFS: (
        gettext_lazy("Real-world progression-free survival"),
        gettext_lazy("progression or death"),
    ),
    outcomes.TTNT: (gettext_lazy("Time to next treatment"), gettext_lazy("next treatment or death")),
}
GROUPINGS = {
    "regimen": (gettext_lazy("by regimen"), outcomes.by_regimen),
    "setting": (gettext_lazy("by algorithm setting"), _by_setting),
}


def km_chart(filters, endpoint: str, grouping: str, courses, references) -> Chart:
    title, event_words = KM_ENDPOINTS[endpoint]
    grouping_words, key = GROUPINGS[grouping]
    groups = outcomes.survival_groups(courses, endpoint, key)
    drawn = [g for g in groups if g.drawn][:MAX_GROUPS]
    drawn_keys = {g.key for g in drawn}
    refs = references if (endpoint == outcomes.PFS and grouping == "regimen") else {}
    chart_id = f"km-{endpoint}-{grouping}"
    medians = {g.key: _median_text(g) for g in groups if g.drawn}
    figure = charts.km_figure(
        drawn,
        {k: v for k, v in refs.items() if k in drawn_keys},
        legends={
            g.key: _("%(group)s: median %(median)s · n=%(n)s")
            % {"group": g.label[:40], "median": medians[g.key], "n": len(g.observations)}
            for g in drawn
        },
        x_title=_("months from the start of the decided treatment"),
        at_risk_title=_("Number at risk"),
        reference_note=_("trial population, not this unit's patients"),
        empty_message=_("No group has 10 or more patients in this selection: no curve is drawn."),
    )
    times = groups[0].risk_times if groups else []
    columns = [
        _("Group"),
        _("Patients"),
        _("Treatments"),
        _("Events"),
        _("Censored"),
        _("Median, months (95% CI)"),
    ]
    columns += [_("At risk at %(t)s mo") % {"t": f"{t:g}"} for t in times]
    rows = []
    for group in groups:
        if group.drawn and group.key in drawn_keys:
            median = Cell(medians[group.key])
        elif group.drawn:
            median = Cell(_("not drawn: only the %(n)s largest groups are") % {"n": MAX_GROUPS})
        else:
            median = Cell(_("no curve: fewer than %(n)s patients") % {"n": outcomes.MIN_PATIENTS})
        rows.append(
            [Cell(group.label), Cell(str(group.patients), num=True), Cell(str(len(group.observations)), num=True),
             Cell(str(group.events), num=True), Cell(str(group.censored), num=True), median,
             *[Cell(str(n), num=True) for n in group.at_risk]]
        )  # fmt: skip
    for group in groups:
        if group.key not in drawn_keys or not refs.get(group.key):
            continue
        for ref in refs[group.key]:
            rows.append(
                [Cell(_("Trial reference: %(trial)s, %(arm)s") % {"trial": ref.trial_name, "arm": ref.arm_label},
                      ref.trial_url),
                 Cell(_("a different population"), ref.source_url), Cell(""), Cell(""), Cell(""),
                 Cell(ref.value_label.replace(" months", "")),
                 *[Cell("") for _t in times]]
            )  # fmt: skip
    small = [g.label for g in groups if not g.drawn]
    notes = []
    if small:
        notes.append(
            _("No curve for %(groups)s: fewer than %(n)s patients, too few for a Kaplan-Meier curve to mean "
              "anything; their counts are in the table.") % {"groups": ", ".join(small), "n": outcomes.MIN_PATIENTS}
        )  # fmt: skip
    if drawn:
        sentences = [_("%(group)s: median %(median)s, %(events)s events in %(n)s treatments")
                     % {"group": g.label, "median": medians[g.key], "events": g.events, "n": len(g.observations)}
                     for g in drawn]  # fmt: skip
        caption = "; ".join(sentences) + "."
    else:
        caption = _("No group has %(n)s or more patients in this selection.") % {"n": outcomes.MIN_PATIENTS}
    return Chart(
        id=chart_id,
        title=f"{title} {grouping_words}",
        caption=_("Event: %(words)s. ") % {"words": event_words} + caption,
        figure=figure,
        columns=columns,
        rows=rows,
        csv_url=_query(filters, format="csv", chart=chart_id),
        notes=notes,
    )


def concordance_charts(filters, courses) -> list[Chart]:
    labels = {c.value: str(c.label) for c in Concordance}
    order = list(outcomes.CONCORDANCE_ORDER)
    quarters = sorted(outcomes.concordance_rows(courses, outcomes.by_quarter), key=lambda r: r.key)
    settings = sorted(outcomes.concordance_rows(courses, _by_setting), key=lambda r: (-r.total, r.label))
    present = [k for k in order if any(r.counts.get(k) for r in quarters)]
    columns = [_("Decisions"), *[labels[k] for k in present]]
    out = []
    for chart_id, title, rows, horizontal, head in (
        (
            "concordance-quarter",
            _("Concordance with the algorithm by quarter"),
            quarters,
            False,
            _("Quarter"),
        ),
        ("concordance-setting", _("Concordance with the algorithm by setting"), settings, True, _("Setting")),
    ):
        table = [
            [Cell(r.label), Cell(str(r.total), num=True),
             *[Cell(f"{r.counts.get(k, 0)} ({r.share(k):.0f}%)", num=True) for k in present]]
            for r in rows
        ]  # fmt: skip
        total = sum(r.total for r in rows)
        followed = sum(r.counts.get(outcomes.PREFERRED, 0) for r in rows)
        caption = (
            _("%(followed)s of %(total)s decisions (%(share)s%%) chose a preferred option of the recommendation "
              "the board saw.") % {"followed": followed, "total": total, "share": f"{100 * followed / total:.0f}"}
            if total else _("No decision in this selection.")
        )  # fmt: skip
        out.append(
            Chart(
                id=chart_id,
                title=title,
                caption=caption,
                figure=charts.share_figure(rows, labels, horizontal=horizontal, axis_title=_("share of decisions"),
                                           empty_message=_("No decision in this selection.")),
                columns=[head, *columns],
                rows=table,
                csv_url=_query(filters, format="csv", chart=chart_id),
                notes=[_("The category is the chosen option's in the recommendation frozen with the decision.")],
            )
        )  # fmt: skip
    reasons = outcomes.deviation_counts(courses)
    reason_labels = dict(DeviationReason.choices)
    counted = [(str(reason_labels.get(k, k)), n) for k, n in reasons.most_common()]
    not_started = sum(1 for c in courses if c.status == outcomes.NOT_STARTED)
    out.append(
        Chart(
            id="deviations",
            title=_("Why decided treatments were not started"),
            caption=_("%(n)s decisions not carried out; the reasons recorded with them.") % {"n": not_started},
            figure=charts.count_figure(counted, axis_title=_("decisions"),
                                       empty_message=_("No decision was recorded as not started.")),
            columns=[_("Reason"), _("Decisions")],
            rows=[[Cell(label), Cell(str(n), num=True)] for label, n in counted],
            csv_url=_query(filters, format="csv", chart="deviations"),
        )
    )  # fmt: skip
    return out


def delay_table(filters, courses) -> Chart:
    overall = outcomes.start_delays(courses, None)
    by_regimen = outcomes.start_delays(courses, outcomes.by_regimen)

    def row(delay: outcomes.Delay) -> list[Cell]:
        return [Cell(delay.label), Cell(str(delay.n), num=True), Cell(_days(delay.median), num=True),
                Cell(f"{_days(delay.q1)}–{_days(delay.q3)}", num=True)]  # fmt: skip

    first = overall[0] if overall else None
    caption = (
        _("Median %(median)s days (interquartile range %(q1)s–%(q3)s) from the board's decision to the start "
          "of %(n)s treatments.") % {"median": _days(first.median), "q1": _days(first.q1),
                                     "q3": _days(first.q3), "n": first.n}
        if first else _("No treatment start recorded in this selection.")
    )  # fmt: skip
    return Chart(
        id="time-to-start",
        title=_("Time from decision to treatment start"),
        caption=caption,
        figure={},
        columns=[_("Treatments"), _("Started"), _("Median, days"), _("Interquartile range, days")],
        rows=[row(d) for d in overall + by_regimen],
        csv_url=_query(filters, format="csv", chart="time-to-start"),
    )


@dataclass
class Analysis:
    filters: outcomes.Filters
    choices: dict
    charts: list[Chart]
    km: list[Chart]
    decisions: int
    started: int
    not_started: int
    planned: int
    references: bool
    courses: list[outcomes.Course]


def analyse(base: Base, filters: outcomes.Filters, choices, today: date) -> Analysis:
    courses = [c for c in base.courses if filters.keep(c, today)]
    km = [
        km_chart(filters, endpoint, grouping, courses, base.references)
        for endpoint in (outcomes.PFS, outcomes.TTNT)
        for grouping in ("regimen", "setting")
    ]
    drawn_refs = any(cell.url for chart in km[:1] for row in chart.rows for cell in row[:1])
    return Analysis(
        filters=filters,
        choices=choices,
        charts=concordance_charts(filters, courses),
        km=km,
        decisions=len(courses),
        started=sum(1 for c in courses if c.started),
        not_started=sum(1 for c in courses if c.status == outcomes.NOT_STARTED),
        planned=sum(1 for c in courses if c.status == DecisionStatus.PLANNED),
        references=drawn_refs,
        courses=courses,
    )


PATIENT_COLUMNS = (
    "case", "decision", "decided", "regimen", "setting", "algorithm_version", "concordance", "status",
    "not_started_reason", "start", "pfs_months", "pfs_event", "ttnt_months", "ttnt_event",
)  # fmt: skip


def _csv(columns, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def patient_csv(courses: list[outcomes.Course]) -> str:
    """One row per decision: pseudonymous codes, dates and outcomes; never a free-text note."""
    rows = []
    for c in courses:
        pfs, ttnt = c.observation(outcomes.PFS), c.observation(outcomes.TTNT)
        rows.append([
            c.code, c.decision_id, c.decided.isoformat(), c.option_key, c.setting, c.version, c.concordance,
            c.status, c.deviation_reason, c.start.isoformat() if c.start else "",
            f"{pfs.duration:.2f}" if pfs else "", int(pfs.event) if pfs else "",
            f"{ttnt.duration:.2f}" if ttnt else "", int(ttnt.event) if ttnt else "",
        ])  # fmt: skip
    return _csv(PATIENT_COLUMNS, rows)


kept_outcomes = KeptFragments(max_bytes=32 * 1024 * 1024)


def _analysis(request: HtmxHttpRequest) -> tuple[Analysis, tuple]:
    revision = CasesRevision.current_with_knowledge_base()
    today = timezone.localdate()
    base = kept_outcomes.get_or_make(revision, ("base",), load_base)
    choices = base.choices
    filters = _filters(request, choices)
    key = (filters, today, get_language())
    made = kept_outcomes.get_or_make(
        revision, ("analysis", *key), lambda: (analyse(base, filters, choices, today), 20_000)
    )
    return made, (revision, key)


@require_GET
@vary_on_htmx
@permission_required("cases.view_outcome", raise_exception=True)
def outcomes_page(request: HtmxHttpRequest) -> HttpResponse:
    analysis, (revision, key) = _analysis(request)
    can_list = request.user.has_perm("cases.view_case")
    if request.GET.get("format") == "csv":
        name = request.GET.get("chart", "")
        if name == "patients":
            if not can_list:
                raise PermissionDenied
            body = patient_csv(analysis.courses)
        else:
            chart = next((c for c in [*analysis.km, *analysis.charts] if c.id == name), None)
            if chart is None and name == "time-to-start":
                chart = delay_table(analysis.filters, analysis.courses)
            if chart is None:
                raise Http404("No such chart")
            body = _csv(chart.columns, [[cell.text for cell in row] for row in chart.rows])
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="mmboard-outcomes-{slugify(name)}.csv"'
        return response

    def render_part() -> tuple[SafeString, int]:
        context = {
            "analysis": analysis,
            "delay": delay_table(analysis.filters, analysis.courses),
            "can_list": can_list,
            "patients_csv": _query(analysis.filters, format="csv", chart="patients"),
            "min_patients": outcomes.MIN_PATIENTS,
        }
        html = render_to_string("cases/outcomes.html#outcomes", context)
        return mark_safe(html), len(html)  # rendered, and so escaped, by the template engine

    part = kept_outcomes.get_or_make(revision, ("html", *key, can_list), render_part)
    if wants_partial(request):
        return HttpResponse(part)
    return render(request, "cases/outcomes.html", {"outcomes_html": part})
