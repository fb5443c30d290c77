"""Plotly figure builders: evidence rows in, figure dicts out.

Pure functions over plain, frozen dataclasses (no Django, no queryset), so the
numbers on a chart can be tested against the rows they were drawn from. The
view (`compare/views.py`) turns `Result` rows into `ResultRow`s; the
templates embed the returned dicts with `json_script`, and `static/js/charts.js`
draws them.

Honesty rules the figures follow:

- a median that was not reached is drawn as an open arrow from its lower bound
  and labelled "not reached", never as a number;
- response depth is stacked only when ORR, ≥VGPR and/or ≥CR were reported for
  the same arm, population and analysis (the segments are derived by
  subtraction from the cumulative figures); otherwise ORR stands alone;
- an arm without a figure for the population says "not reported", and only
  when no source reported it: asked for ITT, a trial that reports no ITT figure
  (a single-arm trial reports its treated population) shows its own whole
  population instead, named in the caption and the table;
- arms from different trials are drawn in separate panels with hollow markers,
  dotted CIs and lighter bars, so a cross-trial juxtaposition never looks like a
  randomised comparison.

Built figures are memoised on their (hashable) inputs and the active language:
the cache key *is* the evidence, so a curated change can never serve a stale
figure. Titles, labels and numbers follow the active language (Italian writes
13,8 mesi; the figure's `layout.separators` tells plotly.js the same).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import plotly.graph_objects as go
from django.utils import formats
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

# Okabe & Ito (2008), a palette distinguishable with the common colour-vision
# deficiencies; every arm also gets its own marker shape.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "pentagon", "hexagon", "star")
MUTED = "#5a6470"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif"

PFS_MEDIAN, PFS_HR, OS_HR = "pfs_median", "pfs_hr", "os_hr"
ORR, CR, VGPR = "orr", "cr_or_better", "vgpr_or_better"
CHARTED_ENDPOINTS = frozenset({PFS_MEDIAN, PFS_HR, OS_HR, ORR, CR, VGPR})

POPULATION_LABELS = {
    "ITT": "ITT",
    "len_refractory": _("lenalidomide-refractory"),
    "len_exposed": _("lenalidomide-exposed"),
    "anti_cd38_refractory": _("anti-CD38-refractory"),
    "one_prior_line": _("one prior line"),
    "two_or_more_prior_lines": _("two or more prior lines"),
    "high_risk_cytogenetics": _("high-risk cytogenetics"),
    "penta_refractory": _("penta-refractory"),
    "early_relapse": _("early relapse"),
    "late_relapse": _("late relapse"),
}

# Subgroups that trials report beside their whole population: never shown in its place.
SUBGROUPS = (frozenset(POPULATION_LABELS) - {"ITT"}) | {"responders"}

# Analysis stages offered by the analysis selector. The analysis of a result is
# free text ("interim (primary) analysis, median follow-up 18.6 months"); a
# result belongs to every stage whose words it contains.
ANALYSIS_STAGES = {
    "interim": (_("interim analyses"), ("interim",)),
    "primary": (_("primary analyses"), ("primary",)),
    "final": (_("final analyses"), ("final",)),
    "updated": (_("updated / long-term analyses"), ("update", "long-term", "long term")),
}

FOLLOW_UP = re.compile(r"median follow-up (?:of )?(~?\s?[\d.]+\s*months?)", re.IGNORECASE)


@dataclass(frozen=True)
class ArmRef:
    """One charted arm of one trial."""

    trial_key: str
    trial_name: str
    arm_key: str
    label: str  # short label: the regimen abbreviation, else the arm's label
    colour: int = 0  # index into the palette, the same for a regimen across trials
    trial_design: str = ""  # e.g. "randomised phase 3", shown in the panel title


@dataclass(frozen=True)
class ResultRow:
    """One reported figure, as plain data."""

    trial_key: str
    trial_name: str
    arm_key: str
    arm_label: str
    endpoint: str
    population: str
    value: float | None
    analysis: str
    source_label: str
    source_url: str = ""
    not_reached: bool = False
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95
    unit: str = ""
    vs_key: str = ""
    vs_label: str = ""
    p: str = ""
    note: str = ""  # caveats (e.g. the trial's note on crossover), shown with HRs
    quote: str = ""  # the verbatim phrase of the source, for a figure added or corrected after curation

    @property
    def value_label(self) -> str:
        """As `Result.value_label`: '13.3 months', '71%', 'not reached'."""
        if self.not_reached:
            return gettext("not reached")
        if self.value is None:
            return gettext("not reported")
        number = num(self.value)
        if self.unit == "percent":
            return f"{number}%"
        if self.unit == "months":
            return gettext("%(number)s months") % {"number": number}
        return number

    @property
    def ci_label(self) -> str:
        """As `Result.ci_label`: '95% CI 11.8–16.1'; '' when no CI was reported."""
        if self.ci_low is None and self.ci_high is None:
            return ""
        low = "NE" if self.ci_low is None else num(self.ci_low)
        high = "NE" if self.ci_high is None else num(self.ci_high)
        return gettext("%(level)s%% CI %(low)s–%(high)s") % {
            "level": num(round(self.ci_level * 100, 1)),
            "low": low,
            "high": high,
        }

    @property
    def arm_ref(self) -> tuple[str, str]:
        return (self.trial_key, self.arm_key)


@dataclass(frozen=True)
class TableRow:
    """One line of the data table beside a chart (and of its CSV)."""

    trial: str
    arm: str
    measure: str
    value: str
    ci: str
    population: str
    analysis: str
    source: str
    source_url: str
    note: str = ""
    quote: str = ""


# --- small helpers -----------------------------------------------------------------------------


def num(value: float) -> str:
    """A number as `:g` writes it, with the active language's decimal separator (13.8 -> 13,8)."""
    return f"{value:g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def separators() -> str:
    """plotly.js's `layout.separators`: the decimal, then the thousands separator of the language."""
    return formats.get_format("DECIMAL_SEPARATOR") + formats.get_format("THOUSAND_SEPARATOR")


def population_label(population: str) -> str:
    return str(POPULATION_LABELS.get(population, population.replace("_", " ")))


def rows_for_population(rows: Iterable[ResultRow], population: str) -> list[ResultRow]:
    """The rows of `population`, except that a trial reporting no ITT figure shows its own.

    A single-arm trial has no intention-to-treat analysis: it reports its treated (or
    enrolled) population. Asked for ITT, such a trial shows the whole-trial population it
    reports most figures for (never a subgroup), and the captions name it; "not reported"
    then means that no source reported the figure.
    """
    rows = list(rows)
    shown: dict[str, str] = {}
    if population == "ITT":
        counts: dict[str, Counter[str]] = {}
        for r in rows:
            counts.setdefault(r.trial_key, Counter())[r.population] += 1
        for trial_key, per_population in counts.items():
            whole = [p for p in per_population if p not in SUBGROUPS]  # in the order reported
            if "ITT" not in per_population and whole:
                shown[trial_key] = max(whole, key=per_population.__getitem__)  # a tie: the first
    return [r for r in rows if r.population == shown.get(r.trial_key, population)]


def shown_population_label(shown: str, chosen: str) -> str:
    """The chosen population's label, or the trial's own population named as standing in for it."""
    if shown == chosen:
        return population_label(chosen)
    return (
        f"{population_label(shown)}, the trial's analysis population "
        f"(it reports no {population_label(chosen)} figures)"
    )


def _trial_population(trial_key: str, rows: Iterable[ResultRow], population: str) -> str:
    """The population a trial's rows are of (one per trial, see rows_for_population), labelled."""
    shown = next((r.population for r in rows if r.trial_key == trial_key), population)
    return shown_population_label(shown, population)


def analysis_stages(analysis: str) -> set[str]:
    text = analysis.lower()
    return {key for key, (_label, words) in ANALYSIS_STAGES.items() if any(w in text for w in words)}


def in_stage(row: ResultRow, stage: str) -> bool:
    return not stage or stage in analysis_stages(row.analysis)


def analysis_short(analysis: str) -> str:
    """The first clause of an analysis text: 'final PFS analysis'."""
    short = re.split(r"[,;]", analysis, maxsplit=1)[0].strip()
    return short if len(short) <= 40 else short[:39].rstrip() + "…"


def follow_up(analysis: str) -> str:
    """The median follow-up an analysis text states ("~17 months"), in the active language."""
    match = FOLLOW_UP.search(analysis)
    if not match:
        return ""
    stated = match.group(1)
    number = re.search(r"\d+(?:\.\d+)?", stated)
    if number is None:
        return stated
    approx = "~" if "~" in stated else ""
    return approx + gettext("%(number)s months") % {"number": num(float(number.group()))}


def colour(arm: ArmRef) -> str:
    return OKABE_ITO[arm.colour % len(OKABE_ITO)]


def symbol(arm: ArmRef, *, hollow: bool) -> str:
    name = SYMBOLS[arm.colour % len(SYMBOLS)]
    return f"{name}-open" if hollow else name


def _wrap(text: str, width: int = 70) -> str:
    """Break a long hover line at spaces (plotly hover labels do not wrap)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "<br>".join(lines)


def _esc(text: str) -> str:
    """Plotly renders a subset of HTML in labels: escape what came from the data.

    Never use <b>, <i> or <span style>: plotly draws them with style attributes, which
    the CSP (style-src 'self') blocks; <br> is safe.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hover_text(row: ResultRow, measure: str) -> str:
    ci = row.ci_label or gettext("CI not reported")
    if row.not_reached and row.ci_low is not None:
        ci = gettext("%(ci)s (median not reached)") % {"ci": ci}
    lines = [
        f"{_esc(row.trial_name)} · {_esc(row.arm_label)}",
        f"{measure}: {_esc(row.value_label)}" + (f", p {_esc(row.p)}" if row.p else ""),
        _esc(ci),
        _wrap(_esc(f"{population_label(row.population)} · {row.analysis}")),
        _wrap(_esc(gettext("Source: %(source)s") % {"source": row.source_label})),
    ]
    return "<br>".join(lines)


def _group_by_trial(arms: Sequence[ArmRef]) -> list[tuple[ArmRef, list[ArmRef]]]:
    """Arms grouped by trial, in first-seen order: [(first arm, arms of its trial)]."""
    groups: dict[str, list[ArmRef]] = {}
    for arm in arms:
        groups.setdefault(arm.trial_key, []).append(arm)
    return [(members[0], members) for members in groups.values()]


def _rows_for(rows: Iterable[ResultRow], arm: ArmRef, endpoint: str) -> list[ResultRow]:
    return [r for r in rows if r.endpoint == endpoint and r.arm_ref == (arm.trial_key, arm.arm_key)]


def _category(arm: ArmRef, row: ResultRow | None, several: bool) -> str:
    if row is None or not several:
        return arm.label
    return f"{arm.label} · {analysis_short(row.analysis)}"


def _categories(arm: ArmRef, rows: Sequence[ResultRow]) -> list[str]:
    """One y-axis label per row of an arm, unique even when two analyses read alike."""
    several = len(rows) > 1
    labels: list[str] = []
    for row in rows:
        label = base = _category(arm, row, several)
        count = 1
        while label in labels:
            count += 1
            label = f"{base} ({count})"
        labels.append(label)
    return labels


def _panel_layout(
    panels: list[tuple[ArmRef, list[str]]], *, cross_trial: bool
) -> tuple[dict, dict[str, str], int]:
    """One y axis per trial, stacked, sharing the x axis; heights follow the row counts.

    Returns (layout entries, trial key -> y axis id, figure height).
    """
    row_px, gap_px, title_px = 34, 26, 24
    total_rows = sum(max(len(cats), 1) for _arm, cats in panels)
    plot_px = total_rows * row_px + len(panels) * (gap_px + title_px)
    layout: dict = {}
    axis_ids: dict[str, str] = {}
    annotations = []
    top = 1.0
    for index, (first, categories) in enumerate(panels):
        axis_id = "y" if index == 0 else f"y{index + 1}"
        axis_ids[first.trial_key] = axis_id
        height = (max(len(categories), 1) * row_px) / plot_px
        top_of_rows = top - title_px / plot_px
        bottom = max(top_of_rows - height, 0.0)
        layout["yaxis" if index == 0 else f"yaxis{index + 1}"] = {
            "domain": [round(bottom, 4), round(top_of_rows, 4)],
            "type": "category",
            "categoryorder": "array",
            "categoryarray": categories,
            "autorange": "reversed",
            "anchor": "x",
            "automargin": True,
            "showgrid": False,
            "zeroline": False,
            "ticks": "",
            "fixedrange": True,
        }
        title = _esc(first.trial_name)
        if first.trial_design:
            title += f" · {_esc(first.trial_design)}"
        if cross_trial:
            title += " · " + gettext("separate trial")
        annotations.append(
            {
                "text": title,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": top,
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": 13, "weight": 600},
            }
        )
        top = bottom - gap_px / plot_px
    layout["annotations"] = annotations
    return layout, axis_ids, plot_px + 90


def _base_layout(height: int) -> dict:
    return {
        "template": "none",
        "height": height,
        "margin": {"l": 10, "r": 30, "t": 10, "b": 60},
        "font": {"family": FONT, "size": 13, "color": "#1b1f24"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": False,
        "hovermode": "closest",
        "hoverlabel": {"align": "left", "bgcolor": "#ffffff", "font": {"size": 12}},
        "dragmode": False,
        "separators": separators(),
    }


def to_dict(fig: go.Figure) -> dict:
    return fig.to_plotly_json()


# --- median PFS ----------------------------------------------------------------------------------


def _pfs_figure(arms: tuple[ArmRef, ...], rows: tuple[ResultRow, ...], cross_trial: bool) -> dict:
    pfs = [r for r in rows if r.endpoint == PFS_MEDIAN]
    numbers = [n for r in pfs for n in (r.value, r.ci_low, r.ci_high) if n is not None]
    x_max = max([*numbers, 1.0]) * 1.18
    panels, per_arm = [], {}
    for first, members in _group_by_trial(arms):
        categories = []
        for arm in members:
            arm_rows = _rows_for(pfs, arm, PFS_MEDIAN)
            labelled = list(zip(arm_rows, _categories(arm, arm_rows), strict=True))
            per_arm[(arm.trial_key, arm.arm_key)] = labelled
            categories += [c for _r, c in labelled] or [arm.label]
        panels.append((first, categories))
    layout_extra, axis_ids, height = _panel_layout(panels, cross_trial=cross_trial)
    traces = []
    for arm in arms:
        axis = axis_ids[arm.trial_key]
        labelled = per_arm[(arm.trial_key, arm.arm_key)]
        if not labelled:
            traces.append(_not_reported_trace(arm, axis))
            continue
        reached = [(r, c) for r, c in labelled if not r.not_reached]
        unreached = [(r, c) for r, c in labelled if r.not_reached]
        if reached:
            ci_x, ci_y = [], []
            for r, c in reached:
                if r.ci_low is not None or r.ci_high is not None:
                    low = r.ci_low if r.ci_low is not None else r.value
                    ci_x += [low, r.ci_high if r.ci_high is not None else x_max, None]
                    ci_y += [c, c, None]
            if ci_x:
                traces.append(_ci_trace(arm, axis, ci_x, ci_y, cross_trial))
            traces.append(
                go.Scatter(
                    name=arm.label,
                    x=[r.value for r, _c in reached],
                    y=[c for _r, c in reached],
                    yaxis=axis,
                    mode="markers+text",
                    text=[num(r.value) for r, _c in reached],
                    textposition="top center",
                    cliponaxis=False,  # the top row's label must not be cut by the plot edge
                    textfont={"size": 11, "color": MUTED},
                    marker={
                        "color": colour(arm),
                        "symbol": symbol(arm, hollow=cross_trial),
                        "size": 12,
                        "line": {"width": 2, "color": colour(arm)},
                    },
                    hovertext=[hover_text(r, gettext("median PFS")) for r, _c in reached],
                    hoverinfo="text",
                    meta={"kind": "median", "arm": arm.arm_key, "trial": arm.trial_key},
                )
            )
        for r, category in unreached:
            # never a number: an open arrow from the lower bound (if one was reported), labelled
            if r.ci_low is not None:
                xs, symbols, texts, position = (
                    [r.ci_low, x_max],
                    ["line-ns-open", "triangle-right-open"],
                    [gettext("not reached"), ""],
                    "top right",
                )
            else:
                xs, symbols, texts, position = (
                    [0.0],
                    ["triangle-right-open"],
                    [gettext("not reached (no lower bound reported)")],
                    "middle right",
                )
            traces.append(
                go.Scatter(
                    name=gettext("%(arm)s (not reached)") % {"arm": arm.label},
                    x=xs,
                    y=[category] * len(xs),
                    yaxis=axis,
                    mode="lines+markers+text",
                    line={"color": colour(arm), "width": 2, "dash": "dot" if cross_trial else "solid"},
                    marker={"symbol": symbols, "size": 13, "color": colour(arm), "line": {"width": 2}},
                    text=texts,
                    textposition=position,
                    textfont={"size": 11, "color": MUTED},
                    hovertext=[hover_text(r, gettext("median PFS"))] * len(xs),
                    hoverinfo="text",
                    meta={"kind": "not_reached", "arm": arm.arm_key, "trial": arm.trial_key},
                )
            )
    layout = _base_layout(height)
    layout.update(layout_extra)
    layout["xaxis"] = {
        "title": {"text": gettext("median PFS, months (with 95% CI where reported)")},
        "range": [0, x_max],
        "anchor": "free",
        "position": 0,
        "zeroline": True,
        "gridcolor": "#e3e7eb",
        "fixedrange": True,
    }
    return to_dict(go.Figure(data=traces, layout=layout))


def _ci_trace(arm: ArmRef, axis: str, xs: list, ys: list, cross_trial: bool) -> go.Scatter:
    return go.Scatter(
        name=gettext("%(name)s 95%% CI") % {"name": arm.label},
        x=xs,
        y=ys,
        yaxis=axis,
        mode="lines",
        line={
            "color": colour(arm),
            "width": 2.5 if not cross_trial else 2,
            "dash": "dot" if cross_trial else "solid",
        },
        hoverinfo="skip",
        meta={"kind": "ci", "arm": arm.arm_key, "trial": arm.trial_key},
    )


def _not_reported_trace(arm: ArmRef, axis: str) -> go.Scatter:
    return go.Scatter(
        name=gettext("%(arm)s (not reported)") % {"arm": arm.label},
        x=[0],
        y=[arm.label],
        yaxis=axis,
        mode="text",
        text=[gettext("not reported")],
        textposition="middle right",
        textfont={"color": MUTED, "size": 12},
        hovertext=[
            f"{_esc(arm.trial_name)} · {_esc(arm.label)}<br>" + gettext("not reported for this population")
        ],
        hoverinfo="text",
        meta={"kind": "not_reported", "arm": arm.arm_key, "trial": arm.trial_key},
    )


@lru_cache(maxsize=256)
def _pfs_cached(
    arms: tuple[ArmRef, ...], rows: tuple[ResultRow, ...], cross_trial: bool, language: str | None
) -> dict:
    return _pfs_figure(arms, rows, cross_trial)


def pfs_figure(arms: Sequence[ArmRef], rows: Sequence[ResultRow], *, cross_trial: bool) -> dict:
    """Median PFS per arm with its CI: dots and horizontal bars, one panel per trial.

    The returned dict is shared by the cache: read it, do not change it.
    """
    pfs = tuple(r for r in rows if r.endpoint == PFS_MEDIAN)
    return _pfs_cached(tuple(arms), pfs, cross_trial, get_language())


# --- response ------------------------------------------------------------------------------------

SEGMENT_STYLE = {
    # name: (colour, pattern shape)
    "≥CR": ("#0072B2", ""),
    "VGPR": ("#56B4E9", "/"),
    "PR": ("#E69F00", "."),
    "≥VGPR": ("#0072B2", ""),
    "VGPR or PR": ("#56B4E9", "/"),
    "ORR (depth not reported)": ("#999999", "x"),
}
# The segments' names as the legend shows them (IMWG codes stay as they are).
SEGMENT_NAMES = {"VGPR or PR": _("VGPR or PR"), "ORR (depth not reported)": _("ORR (depth not reported)")}


def segment_name(name: str) -> str:
    return str(SEGMENT_NAMES.get(name, name))


def response_segments(orr: ResultRow, depth_rows: Iterable[ResultRow]) -> list[tuple[str, float]]:
    """Split an ORR bar by depth, arithmetically, from cumulative ≥CR / ≥VGPR figures.

    Only figures of the same trial, arm, population and analysis text are used,
    and only when they are consistent (≥CR ≤ ≥VGPR ≤ ORR). Otherwise the
    answer is the ORR alone.
    """
    if orr.value is None:
        return []
    same = [
        r
        for r in depth_rows
        if r.arm_ref == orr.arm_ref
        and r.population == orr.population
        and r.analysis == orr.analysis
        and r.value is not None
    ]
    cr = next((r.value for r in same if r.endpoint == CR), None)
    vgpr = next((r.value for r in same if r.endpoint == VGPR), None)
    total = orr.value
    alone = [("ORR (depth not reported)", total)]
    if cr is not None and vgpr is not None:
        if not cr <= vgpr <= total:
            return alone
        return [("≥CR", cr), ("VGPR", round(vgpr - cr, 6)), ("PR", round(total - vgpr, 6))]
    if cr is not None:
        return [("≥CR", cr), ("VGPR or PR", round(total - cr, 6))] if cr <= total else alone
    if vgpr is not None:
        return [("≥VGPR", vgpr), ("PR", round(total - vgpr, 6))] if vgpr <= total else alone
    return alone


def _response_figure(arms: tuple[ArmRef, ...], rows: tuple[ResultRow, ...], cross_trial: bool) -> dict:
    orr_rows = [r for r in rows if r.endpoint == ORR]
    depth_rows = [r for r in rows if r.endpoint in (CR, VGPR)]
    panels, bars = [], []  # bars: (arm, category, orr row, segments)
    per_arm: dict = {}
    for first, members in _group_by_trial(arms):
        categories = []
        for arm in members:
            arm_rows = _rows_for(orr_rows, arm, ORR)
            per_arm[(arm.trial_key, arm.arm_key)] = arm_rows
            for r, category in zip(arm_rows, _categories(arm, arm_rows), strict=True):
                categories.append(category)
                bars.append((arm, category, r, response_segments(r, depth_rows)))
            if not arm_rows:
                categories.append(arm.label)
        panels.append((first, categories))
    layout_extra, axis_ids, height = _panel_layout(panels, cross_trial=cross_trial)
    traces = []
    shown_in_legend: set[str] = set()
    for trial_key, axis in axis_ids.items():
        trial_bars = [b for b in bars if b[0].trial_key == trial_key]
        for name, (fill, pattern) in SEGMENT_STYLE.items():
            points = [(b, value) for b in trial_bars for seg, value in b[3] if seg == name]
            if not points:
                continue
            traces.append(
                go.Bar(
                    name=segment_name(name),
                    orientation="h",
                    x=[value for _b, value in points],
                    y=[b[1] for b, _v in points],
                    yaxis=axis,
                    legendgroup=name,
                    showlegend=name not in shown_in_legend,
                    marker={
                        "color": fill,
                        "opacity": 0.55 if cross_trial else 1,
                        "line": {"color": "#1b1f24" if not cross_trial else fill, "width": 1},
                        "pattern": {"shape": pattern, "fgcolor": "#1b1f24", "size": 7, "solidity": 0.25},
                    },
                    hovertext=[
                        hover_text(b[2], "ORR") + f"<br>{_esc(segment_name(name))}: {num(value)}%"
                        for b, value in points
                    ],
                    hoverinfo="text",
                    meta={"kind": "segment", "segment": name},
                )
            )
            shown_in_legend.add(name)
        # the ORR written at the end of each bar
        if trial_bars:
            traces.append(
                go.Scatter(
                    name="ORR",
                    x=[b[2].value for b in trial_bars],
                    y=[b[1] for b in trial_bars],
                    yaxis=axis,
                    mode="text",
                    text=[f"  ORR {b[2].value_label}" for b in trial_bars],
                    textposition="middle right",
                    textfont={"size": 12},
                    hovertext=[hover_text(b[2], "ORR") for b in trial_bars],
                    hoverinfo="text",
                    showlegend=False,
                    meta={"kind": "orr_label"},
                )
            )
    for arm in arms:
        if not per_arm[(arm.trial_key, arm.arm_key)]:
            traces.append(_not_reported_trace(arm, axis_ids[arm.trial_key]))
    layout = _base_layout(height + 30)
    layout.update(layout_extra)
    layout["barmode"] = "stack"
    layout["bargap"] = 0.35
    layout["showlegend"] = bool(shown_in_legend)
    layout["legend"] = {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "traceorder": "normal"}
    layout["margin"] = {"l": 10, "r": 30, "t": 10, "b": 90}
    layout["xaxis"] = {
        "title": {"text": gettext("patients responding, % (partial response or better)")},
        "range": [0, 118],
        "tickvals": [0, 20, 40, 60, 80, 100],
        "anchor": "free",
        "position": 0,
        "gridcolor": "#e3e7eb",
        "fixedrange": True,
    }
    return to_dict(go.Figure(data=traces, layout=layout))


@lru_cache(maxsize=256)
def _response_cached(
    arms: tuple[ArmRef, ...], rows: tuple[ResultRow, ...], cross_trial: bool, language: str | None
) -> dict:
    return _response_figure(arms, rows, cross_trial)


def response_figure(arms: Sequence[ArmRef], rows: Sequence[ResultRow], *, cross_trial: bool) -> dict:
    """ORR per arm as a horizontal bar, stacked by depth where the depth can be derived."""
    wanted = tuple(r for r in rows if r.endpoint in (ORR, CR, VGPR))
    return _response_cached(tuple(arms), wanted, cross_trial, get_language())


# --- hazard ratios -------------------------------------------------------------------------------


def hr_category(row: ResultRow, several: bool) -> str:
    measure = "PFS" if row.endpoint == PFS_HR else "OS"
    vs = row.vs_label or gettext("comparator")
    label = f"{row.trial_name} · {row.arm_label} {gettext('vs')} {vs} · {measure} HR"
    return f"{label} · {analysis_short(row.analysis)}" if several else label


def _hr_figure(rows: tuple[ResultRow, ...]) -> dict:
    hrs = [r for r in rows if r.endpoint in (PFS_HR, OS_HR) and r.value is not None]
    counts: dict = {}
    for r in hrs:
        key = (r.trial_key, r.arm_key, r.vs_key, r.endpoint)
        counts[key] = counts.get(key, 0) + 1
    # PFS first, then OS; by trial in first-seen order
    trial_order = {key: i for i, key in enumerate(dict.fromkeys(r.trial_key for r in hrs))}
    hrs.sort(key=lambda r: (trial_order[r.trial_key], r.endpoint != PFS_HR))
    categories = [hr_category(r, counts[(r.trial_key, r.arm_key, r.vs_key, r.endpoint)] > 1) for r in hrs]
    numbers = [n for r in hrs for n in (r.value, r.ci_low, r.ci_high) if n]
    low = min([*numbers, 1.0]) / 1.4
    high = max([*numbers, 1.0]) * 1.4
    log_range = [math.log10(low), math.log10(high)]
    traces = []
    for endpoint, name, hue, shape in (
        (PFS_HR, "PFS HR", "#0072B2", "circle"),
        (OS_HR, "OS HR", "#D55E00", "diamond"),
    ):
        chosen = [(r, c) for r, c in zip(hrs, categories, strict=True) if r.endpoint == endpoint]
        if not chosen:
            continue
        ci_x, ci_y = [], []
        for r, c in chosen:
            if r.ci_low is not None or r.ci_high is not None:
                ci_x += [
                    r.ci_low if r.ci_low is not None else low,
                    r.ci_high if r.ci_high is not None else high,
                    None,
                ]
                ci_y += [c, c, None]
        if ci_x:
            traces.append(
                go.Scatter(
                    name=gettext("%(name)s 95%% CI") % {"name": name},
                    x=ci_x,
                    y=ci_y,
                    mode="lines",
                    line={"color": hue, "width": 2.5},
                    hoverinfo="skip",
                    meta={"kind": "ci", "endpoint": endpoint},
                )
            )
        traces.append(
            go.Scatter(
                name=name,
                x=[r.value for r, _c in chosen],
                y=[c for _r, c in chosen],
                mode="markers+text",
                text=[num(r.value) for r, _c in chosen],
                textposition="top center",
                cliponaxis=False,
                textfont={"size": 11, "color": MUTED},
                marker={"color": hue, "symbol": shape, "size": 12, "line": {"width": 1, "color": "#1b1f24"}},
                hovertext=[
                    hover_text(r, name)
                    + (f"<br>{gettext('Caveat')}: {_wrap(_esc(r.note))}" if r.note else "")
                    for r, _c in chosen
                ],
                hoverinfo="text",
                meta={"kind": "hr", "endpoint": endpoint},
            )
        )
    height = max(len(categories), 1) * 40 + 130
    layout = _base_layout(height)
    one = (0 - log_range[0]) / (log_range[1] - log_range[0])  # where HR = 1 falls, in paper units
    pairs = {(r.arm_label, r.vs_label) for r in hrs}
    arm, vs = (
        next(iter(pairs)) if len(pairs) == 1 else (gettext("the first-named arm"), gettext("the comparator"))
    )
    layout["margin"] = {"l": 10, "r": 30, "t": 40, "b": 60}
    layout["yaxis"] = {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": categories,
        "autorange": "reversed",
        "automargin": True,
        "showgrid": False,
        "fixedrange": True,
    }
    layout["xaxis"] = {
        "type": "log",
        "range": log_range,
        "title": {"text": gettext("hazard ratio (log scale, 95% CI)")},
        "gridcolor": "#e3e7eb",
        "fixedrange": True,
    }
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "paper",
            "yref": "paper",
            "x0": one,
            "x1": one,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#1b1f24", "width": 1.5, "dash": "dash"},
        }
    ]
    layout["annotations"] = [
        {
            "text": "◀ " + gettext("favours %(arm)s") % {"arm": _esc(arm)},
            "xref": "paper",
            "yref": "paper",
            "x": one,
            "xanchor": "right",
            "y": 1,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 12, "color": MUTED},
        },
        {
            "text": gettext("favours %(arm)s") % {"arm": _esc(vs)} + " ▶",
            "xref": "paper",
            "yref": "paper",
            "x": one,
            "xanchor": "left",
            "y": 1,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 12, "color": MUTED},
        },
    ]
    if not hrs:
        layout["annotations"] = [
            {
                "text": gettext("no hazard ratio reported"),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
            }
        ]
        layout["shapes"] = []
    return to_dict(go.Figure(data=traces, layout=layout))


@lru_cache(maxsize=256)
def _hr_cached(rows: tuple[ResultRow, ...], language: str | None) -> dict:
    return _hr_figure(rows)


def hr_figure(rows: Sequence[ResultRow]) -> dict:
    """Forest plot of PFS (and OS) hazard ratios: log x, CI, a dashed line at 1, 'favours' labels."""
    return _hr_cached(tuple(r for r in rows if r.endpoint in (PFS_HR, OS_HR)), get_language())


# --- captions: the finding in words --------------------------------------------------------------


def _stage_groups(rows: Sequence[ResultRow]) -> list[tuple[str, list[ResultRow]]]:
    """Rows of one trial grouped by short analysis label, in first-seen order."""
    groups: dict[str, list[ResultRow]] = {}
    for r in rows:
        groups.setdefault(analysis_short(r.analysis), []).append(r)
    return list(groups.items())


def _by_trial(arms: Sequence[ArmRef], rows: Sequence[ResultRow], endpoint: str):
    for first, members in _group_by_trial(arms):
        keys = {(a.trial_key, a.arm_key) for a in members}
        yield first, members, [r for r in rows if r.endpoint == endpoint and r.arm_ref in keys]


def _missing(members: Sequence[ArmRef], rows: Sequence[ResultRow], what: str) -> str:
    have = {r.arm_ref for r in rows}
    missing = [a.label for a in members if (a.trial_key, a.arm_key) not in have]
    if not missing:
        return ""
    return " " + gettext("%(what)s not reported for %(arms)s.") % {"what": what, "arms": ", ".join(missing)}


def _versus(rows: Sequence[ResultRow]) -> str:
    """'13.3 months with DPd vs 6.9 months with Pd'."""
    said = (gettext("%(value)s with %(arm)s") % {"value": r.value_label, "arm": r.arm_label} for r in rows)
    return f" {gettext('vs')} ".join(dict.fromkeys(said))


def pfs_caption(arms: Sequence[ArmRef], rows: Sequence[ResultRow], population: str) -> str:
    sentences = []
    for first, members, trial_rows in _by_trial(arms, rows, PFS_MEDIAN):
        parts = []
        for stage, stage_rows in _stage_groups(trial_rows):
            values = _versus(stage_rows)
            parts.append(gettext("%(stage)s: median PFS %(values)s") % {"stage": stage, "values": values})
        text = f"{first.trial_name}, {_trial_population(first.trial_key, rows, population)}"
        text += (" — " + "; ".join(parts) + ".") if parts else ": " + gettext("median PFS not reported.")
        if parts:
            text += _missing(members, trial_rows, gettext("Median PFS"))
        sentences.append(text)
    return " ".join(sentences)


def response_caption(arms: Sequence[ArmRef], rows: Sequence[ResultRow], population: str) -> str:
    sentences = []
    for first, members, trial_rows in _by_trial(arms, rows, ORR):
        parts = []
        for stage, stage_rows in _stage_groups(trial_rows):
            values = _versus(stage_rows)
            parts.append(gettext("%(stage)s: ORR %(values)s") % {"stage": stage, "values": values})
        text = f"{first.trial_name}, {_trial_population(first.trial_key, rows, population)}"
        text += (" — " + "; ".join(parts) + ".") if parts else ": " + gettext("ORR not reported.")
        if parts:
            text += _missing(members, trial_rows, "ORR")
        sentences.append(text)
    return " ".join(sentences)


def hr_caption(rows: Sequence[ResultRow], population: str) -> str:
    sentences = []
    for r in rows:
        if r.endpoint not in (PFS_HR, OS_HR) or r.value is None:
            continue
        measure = "PFS" if r.endpoint == PFS_HR else "OS"
        vs = r.vs_label or gettext("the comparator")
        if r.ci_high is not None and r.ci_high < 1:
            verdict = gettext("favouring %(arm)s") % {"arm": r.arm_label}
        elif r.ci_low is not None and r.ci_low > 1:
            verdict = gettext("favouring %(arm)s") % {"arm": vs}
        elif r.ci_low is not None and r.ci_high is not None:
            verdict = gettext("the CI includes 1")
        else:
            verdict = gettext("CI not reported")
        ci = f" ({r.ci_label})" if r.ci_label else ""
        sentences.append(
            f"{r.trial_name}, {shown_population_label(r.population, population)}, {analysis_short(r.analysis)}: "
            + gettext("%(measure)s hazard ratio %(value)s%(ci)s for %(arm)s vs %(vs)s, %(verdict)s.")
            % {
                "measure": measure,
                "value": num(r.value),
                "ci": ci,
                "arm": r.arm_label,
                "vs": vs,
                "verdict": verdict,
            }
        )
    return " ".join(sentences) or gettext("No hazard ratio reported for this population.")


# --- tables and CSV ------------------------------------------------------------------------------

MEASURES = {
    PFS_MEDIAN: _("median PFS"),
    ORR: "ORR",
    CR: "≥CR",
    VGPR: "≥VGPR",
    PFS_HR: _("PFS hazard ratio"),
    OS_HR: _("OS hazard ratio"),
}


def table_rows(
    arms: Sequence[ArmRef], rows: Sequence[ResultRow], endpoints: Sequence[str], population: str
) -> list[TableRow]:
    """The data behind a chart, arm by arm; an arm without any of the endpoints says so."""
    out = []
    for arm in arms:
        mine = [r for r in rows if r.endpoint in endpoints and r.arm_ref == (arm.trial_key, arm.arm_key)]
        mine.sort(key=lambda r: endpoints.index(r.endpoint))
        for r in mine:
            arm_label = f"{r.arm_label} {gettext('vs')} {r.vs_label}" if r.vs_label else r.arm_label
            out.append(
                TableRow(
                    trial=r.trial_name,
                    arm=arm_label,
                    measure=str(MEASURES.get(r.endpoint, r.endpoint)),
                    value=r.value_label + (f" (p {r.p})" if r.p else ""),
                    ci=r.ci_label or gettext("not reported"),
                    population=population_label(r.population),
                    analysis=r.analysis,
                    source=r.source_label,
                    source_url=r.source_url,
                    note=r.note if r.endpoint in (PFS_HR, OS_HR) else "",
                    quote=r.quote,
                )
            )
        if not mine and PFS_HR not in endpoints:
            out.append(
                TableRow(
                    trial=arm.trial_name,
                    arm=arm.label,
                    measure=" / ".join(str(MEASURES.get(e, e)) for e in endpoints[:1]),
                    value=gettext("not reported"),
                    ci="",
                    population=population_label(population),
                    analysis="",
                    source="",
                    source_url="",
                )
            )
    return out


CSV_HEADER = (
    "trial",
    "arm",
    "measure",
    "value",
    "ci",
    "population",
    "analysis",
    "source",
    "source_url",
    "note",
    "quote",
)


# The header row as the reader sees it, in the active language.
CSV_TITLES = {
    "trial": pgettext_lazy("csv", "trial"),
    "arm": pgettext_lazy("csv", "arm"),
    "measure": pgettext_lazy("csv", "measure"),
    "value": pgettext_lazy("csv", "value"),
    "ci": pgettext_lazy("csv", "ci"),
    "population": pgettext_lazy("csv", "population"),
    "analysis": pgettext_lazy("csv", "analysis"),
    "source": pgettext_lazy("csv", "source"),
    "source_url": pgettext_lazy("csv", "source_url"),
    "quote": pgettext_lazy("csv", "quote"),
    "note": pgettext_lazy("csv", "note"),
}


def to_csv(rows: Sequence[TableRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(CSV_TITLES[field]) for field in CSV_HEADER])
    for row in rows:
        writer.writerow([getattr(row, field) for field in CSV_HEADER])
    return buffer.getvalue()
