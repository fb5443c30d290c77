"""The therapy timeline of a case as a Plotly figure dict (drawn by static/js/charts.js).

One horizontal bar per line (a thick line segment from start to last dose),
coloured by best response; markers for ASCT and progression. Plain dicts, so
the figure goes into the page with `json_script` and never runs as script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import get_language, gettext

from cases.derivation import Line
from compare.charts import num

# Colour-blind-safe ramp from deep response to none.
RESPONSE_COLOURS = {
    "sCR": "#08306b",
    "CR": "#2171b5",
    "VGPR": "#4292c6",
    "PR": "#6baed6",
    "MR": "#c6a15b",
    "SD": "#e08214",
    "PD": "#b2182b",
    "": "#8c8c8c",
}
RESPONSE_ORDER = list(RESPONSE_COLOURS)


def _iso(value: date) -> str:
    return value.isoformat()


def timeline_figure(lines: list[Line], as_of: date) -> dict[str, Any]:
    lines = sorted(lines, key=lambda x: x.number)
    labels = {
        line.number: gettext("Line %(number)s: %(label)s") % {"number": line.number, "label": line.label}
        for line in lines
    }
    traces: list[dict[str, Any]] = []
    for response in RESPONSE_ORDER:
        x: list[str | None] = []
        y: list[str | None] = []
        text: list[str | None] = []
        for line in lines:
            if line.best_response != response:
                continue
            end = line.end or as_of
            x += [_iso(line.start), _iso(end), None]
            y += [labels[line.number]] * 2 + [None]
            said = response or gettext("not recorded")
            hover = f"{labels[line.number]}<br>" + gettext("best response %(response)s") % {"response": said}
            text += [hover, hover, None]
        if x:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": response or gettext("response not recorded"),
                    "x": x,
                    "y": y,
                    "text": text,
                    "hoverinfo": "text",
                    "line": {"width": 18, "color": RESPONSE_COLOURS[response]},
                }
            )
    asct = [line for line in lines if line.asct and line.asct_date]
    if asct:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "ASCT",
                "x": [_iso(line.asct_date) for line in asct if line.asct_date],
                "y": [labels[line.number] for line in asct],
                "marker": {
                    "symbol": "star",
                    "size": 14,
                    "color": "#ffd92f",
                    "line": {"width": 1, "color": "#333"},
                },
                "hoverinfo": "name+x",
            }
        )
    progressions = [line for line in lines if line.progression_month]
    if progressions:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": gettext("progression"),
                "x": [_iso(line.progression_month) for line in progressions if line.progression_month],
                "y": [labels[line.number] for line in progressions],
                "marker": {
                    "symbol": "x",
                    "size": 12,
                    "color": "#b2182b",
                    "line": {"width": 1, "color": "#fff"},
                },
                "hoverinfo": "name+x",
            }
        )
    xaxis: dict[str, Any] = {"type": "date", "title": {"text": gettext("month")}}
    if not (get_language() or "en").startswith("en"):
        # plotly.js writes month names in English only: other languages get numeric months.
        xaxis.update({"tickformat": "%m/%Y", "hoverformat": "%m/%Y"})
    return {
        "data": traces,
        "layout": {
            "height": 110 + 46 * max(len(lines), 1),
            "margin": {"l": 170, "r": 20, "t": 10, "b": 40},
            "xaxis": xaxis,
            "yaxis": {
                "type": "category",
                "autorange": "reversed",
                "categoryorder": "array",
                "categoryarray": [labels[line.number] for line in lines],
            },
            "legend": {"orientation": "h", "y": -0.25},
            "showlegend": True,
            "hovermode": "closest",
            "separators": formats.get_format("DECIMAL_SEPARATOR") + formats.get_format("THOUSAND_SEPARATOR"),
        },
    }


# --- /outcomes/: Kaplan-Meier curves and concordance ------------------------------------------------
# Pure builders: groups from cases.outcomes and reference rows in, Plotly dicts out. Labels come
# from the caller (translated there); text from the data is escaped (plotly renders some HTML).

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
FONT = "system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif"
MUTED = "#5a6470"


@dataclass(frozen=True)
class TrialReference:
    """A trial's median PFS for a regimen (its own, different population), from the knowledge base."""

    regimen_key: str
    trial_name: str
    arm_label: str
    value: float | None  # None: not reached
    ci_low: float | None
    ci_high: float | None
    population: str
    analysis: str
    source_label: str
    source_url: str
    trial_url: str = ""

    @property
    def value_label(self) -> str:
        if self.value is None:
            return gettext("not reached")
        ci = ""
        if self.ci_low is not None or self.ci_high is not None:
            low = "NE" if self.ci_low is None else num(self.ci_low)
            high = "NE" if self.ci_high is None else num(self.ci_high)
            ci = " (" + gettext("95%% CI %(low)s–%(high)s") % {"low": low, "high": high} + ")"
        return gettext("%(value)s months") % {"value": num(self.value)} + ci


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _layout(height: int) -> dict[str, Any]:
    return {
        "template": "none",
        "height": height,
        "font": {"family": FONT, "size": 13, "color": "#1b1f24"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "hoverlabel": {"align": "left", "bgcolor": "#ffffff", "font": {"size": 12}},
        "dragmode": False,
    }


def _empty(message: str, height: int = 160) -> dict[str, Any]:
    layout = _layout(height)
    layout.update(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": _esc(message), "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                      "showarrow": False, "font": {"color": MUTED}}],
    )  # fmt: skip
    return {"data": [], "layout": layout}


def _steps(times: list[float], *series: list[float]) -> tuple[list[float], ...]:
    """The points where a step curve (and its bands) change, plus the last: the same drawing, less data.

    At a time with censorings only, a Kaplan-Meier estimate and its interval stay as they were.
    """
    keep = [
        i for i in range(len(times))
        if i in (0, len(times) - 1) or any(s[i] != s[i - 1] for s in series)
    ]  # fmt: skip
    return (
        [round(times[i], 3) for i in keep],
        *([round(s[i], 4) for i in keep] for s in series),
    )


def km_figure(
    groups: list[Any],
    references: dict[str, list[TrialReference]],
    *,
    legends: dict[str, str],
    x_title: str,
    at_risk_title: str,
    reference_note: str,
    empty_message: str,
) -> dict[str, Any]:
    """Kaplan-Meier step curves with 95% CI bands, censoring ticks and numbers at risk under the plot.

    `groups`: cases.outcomes.Group, drawn when it has an estimate, each named in the legend by
    `legends[key]`. `references`: trial medians by group key, drawn at survival 0.5 as hollow
    diamonds, labelled as another population.
    """
    drawn = [g for g in groups if g.estimate is not None]
    if not drawn:
        return _empty(empty_message)
    traces: list[dict[str, Any]] = []
    times = drawn[0].risk_times
    longest = max([times[-1] if times else 0.0, *(t for g in drawn for t in g.estimate.times)])
    ref_values = [v for g in drawn for r in references.get(g.key, []) for v in (r.value, r.ci_high) if v]
    x_max = max([longest, *ref_values, 1.0]) * 1.05
    rows = [g.label for g in drawn]
    for index, group in enumerate(drawn):
        estimate = group.estimate
        colour, dash = OKABE_ITO[index % len(OKABE_ITO)], DASHES[index % len(DASHES)]
        lower = [s if v is None else v for v, s in zip(estimate.lower, estimate.survival, strict=True)]
        upper = [s if v is None else v for v, s in zip(estimate.upper, estimate.survival, strict=True)]
        x, survival, lower, upper = _steps(list(estimate.times), list(estimate.survival), lower, upper)
        legend = _esc(legends[group.key])
        traces.append({"type": "scatter", "x": x, "y": upper, "mode": "lines", "line": {"width": 0, "shape": "hv"},
                       "hoverinfo": "skip", "showlegend": False, "legendgroup": group.key,
                       "meta": {"kind": "ci_upper", "group": group.key}})  # fmt: skip
        traces.append({"type": "scatter", "x": x, "y": lower, "mode": "lines", "line": {"width": 0, "shape": "hv"},
                       "fill": "tonexty", "fillcolor": _rgba(colour, 0.14), "hoverinfo": "skip", "showlegend": False,
                       "legendgroup": group.key, "meta": {"kind": "ci_lower", "group": group.key}})  # fmt: skip
        traces.append(
            {
                "type": "scatter",
                "name": legend,
                "x": x,
                "y": survival,
                "mode": "lines",
                "line": {"color": colour, "width": 2.5, "shape": "hv", "dash": dash},
                "legendgroup": group.key,
                "hovertemplate": f"{_esc(group.label)}<br>%{{x:.1f}} months: %{{y:.0%}}<extra></extra>",
                "meta": {"kind": "km", "group": group.key, "n": len(group.observations)},
            }
        )
        if estimate.censor_times:
            traces.append(
                {
                    "type": "scatter",
                    "name": f"{_esc(_short(group.label, 40))}: censored",
                    "x": [round(t, 3) for t in estimate.censor_times],
                    "y": [round(v, 4) for v in estimate.censor_survival],
                    "mode": "markers",
                    "marker": {"symbol": "line-ns-open", "size": 11, "color": colour, "line": {"width": 2}},
                    "legendgroup": group.key,
                    "showlegend": False,
                    "hovertemplate": f"{_esc(group.label)}<br>censored at %{{x:.1f}} months<extra></extra>",
                    "meta": {"kind": "censored", "group": group.key},
                }
            )
        for reference in references.get(group.key, []):
            if reference.value is None:
                continue
            error = {}
            if reference.ci_low is not None and reference.ci_high is not None:
                error = {"type": "data", "symmetric": False, "array": [reference.ci_high - reference.value],
                         "arrayminus": [reference.value - reference.ci_low], "color": colour, "thickness": 1.5,
                         "width": 6}  # fmt: skip
            traces.append(
                {
                    "type": "scatter",
                    "name": _esc(f"{reference.trial_name} ({reference.arm_label}): trial median "
                                 f"{reference.value_label} — {reference_note}"),
                    "x": [reference.value],
                    "y": [0.5],
                    "mode": "markers+text",
                    "text": [_esc(reference.trial_name)],
                    "textposition": "top center",
                    "textfont": {"size": 11, "color": MUTED},
                    "cliponaxis": False,
                    "marker": {"symbol": "diamond-open", "size": 14, "color": colour, "line": {"width": 2.5}},
                    "error_x": error,
                    "legendgroup": group.key,
                    "hovertext": [_esc(f"{reference.trial_name}, {reference.arm_label}: median PFS "
                                       f"{reference.value_label}. {reference_note}. {reference.population}. "
                                       f"Source: {reference.source_label}")],
                    "hoverinfo": "text",
                    "meta": {"kind": "trial_reference", "group": group.key, "trial": reference.trial_name},
                }
            )  # fmt: skip
    # Numbers at risk: one row per drawn group, in the lower panel.
    for index, group in enumerate(drawn):
        traces.append(
            {
                "type": "scatter",
                "name": f"{_esc(group.label)}: at risk",
                "x": list(group.risk_times),
                "y": [_esc(_short(group.label, 28))] * len(group.risk_times),
                "yaxis": "y2",
                "mode": "text",
                "text": [str(n) for n in group.at_risk],
                "textfont": {"size": 12, "color": OKABE_ITO[index % len(OKABE_ITO)]},
                "cliponaxis": False,  # the count at 0 months sits on the axis
                "showlegend": False,
                "hoverinfo": "skip",
                "meta": {"kind": "at_risk", "group": group.key, "at_risk": list(group.at_risk)},
            }
        )
    risk_px = 26 * len(rows) + 40
    plot_px = 360
    legend_px = 24 * (len(drawn) + sum(len(references.get(g.key, [])) for g in drawn)) + 20
    height = plot_px + risk_px + legend_px + 60
    split = risk_px / (plot_px + risk_px)
    layout = _layout(height)
    layout.update(
        margin={"l": 10, "r": 20, "t": legend_px, "b": 50},
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "traceorder": "normal",
                "font": {"size": 12}},
        xaxis={"title": {"text": _esc(x_title)}, "range": [-0.03 * x_max, x_max], "anchor": "y2", "tickvals": list(times),
               "gridcolor": "#e3e7eb", "zeroline": False, "fixedrange": True},
        yaxis={"domain": [split + 0.08, 1], "range": [0, 1.04], "tickformat": ".0%", "gridcolor": "#e3e7eb",
               "zeroline": False, "fixedrange": True, "automargin": True},
        yaxis2={"domain": [0, split], "type": "category", "categoryorder": "array",
                "categoryarray": [_esc(_short(r, 28)) for r in rows], "autorange": "reversed",
                "showgrid": False, "zeroline": False, "fixedrange": True, "automargin": True, "ticks": ""},
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": 0.5, "y1": 0.5,
                 "line": {"color": MUTED, "width": 1, "dash": "dot"}}],
        annotations=[{"text": _esc(at_risk_title), "xref": "paper", "yref": "paper", "x": 0, "xanchor": "left",
                      "y": split + 0.01, "yanchor": "bottom", "showarrow": False,
                      "font": {"size": 12, "color": MUTED}}],
    )  # fmt: skip
    return {"data": traces, "layout": layout}


CONCORDANCE_STYLE = {
    # concordance: (colour, pattern)
    "preferred": ("#0072B2", ""),
    "alternative": ("#56B4E9", "/"),
    "consider": ("#009E73", "."),
    "future": ("#F0E442", "x"),
    "not_among_options": ("#E69F00", "\\"),
    "not_recommended": ("#D55E00", "+"),
    "no_recommendation": ("#999999", "-"),
}


def share_figure(
    rows: list[Any], labels: dict[str, str], *, horizontal: bool, axis_title: str, empty_message: str
) -> dict[str, Any]:
    """Stacked bars: the share of decisions in each concordance category, per quarter or per setting."""
    if not rows:
        return _empty(empty_message)
    traces = []
    categories = [_esc(_short(r.label, 50)) for r in rows]
    for key, (colour, pattern) in CONCORDANCE_STYLE.items():
        if not any(r.counts.get(key) for r in rows):
            continue
        shares = [round(r.share(key), 1) for r in rows]
        counts = [r.counts.get(key, 0) for r in rows]
        bar = {
            "type": "bar",
            "name": _esc(labels.get(key, key)),
            "orientation": "h" if horizontal else "v",
            "marker": {"color": colour, "line": {"color": "#1b1f24", "width": 1},
                       "pattern": {"shape": pattern, "fgcolor": "#1b1f24", "size": 7, "solidity": 0.2,
                                   "fillmode": "overlay"}},
            "customdata": [[c, r.total] for c, r in zip(counts, rows, strict=True)],
            "hovertemplate": f"{_esc(labels.get(key, key))}: %{{customdata[0]}} of %{{customdata[1]}}"
                             " decisions (%{" + ("x" if horizontal else "y") + ":.0f}%)<extra></extra>",
            "meta": {"kind": "share", "concordance": key, "counts": counts},
        }  # fmt: skip
        bar.update({"x": shares, "y": categories} if horizontal else {"x": categories, "y": shares})
        traces.append(bar)
    layout = _layout(max(260, 40 * len(rows) + 170) if horizontal else 380)
    share_axis = {"title": {"text": _esc(axis_title)}, "range": [0, 100], "ticksuffix": "%", "gridcolor": "#e3e7eb",
                  "fixedrange": True, "automargin": True}  # fmt: skip
    category_axis = {"type": "category", "automargin": True, "fixedrange": True, "categoryorder": "array",
                     "categoryarray": categories}  # fmt: skip
    if horizontal:
        category_axis["autorange"] = "reversed"
    layout.update(
        barmode="stack",
        bargap=0.3,
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        margin={"l": 10, "r": 20, "t": 60, "b": 60},
        xaxis=share_axis if horizontal else category_axis,
        yaxis=category_axis if horizontal else share_axis,
    )
    return {"data": traces, "layout": layout}


def count_figure(counts: list[tuple[str, int]], *, axis_title: str, empty_message: str) -> dict[str, Any]:
    """Horizontal bars: how often each reason was recorded."""
    if not counts:
        return _empty(empty_message)
    labels = [_esc(label) for label, _n in counts]
    layout = _layout(40 * len(counts) + 110)
    layout.update(
        showlegend=False,
        margin={"l": 10, "r": 40, "t": 10, "b": 50},
        xaxis={"title": {"text": _esc(axis_title)}, "dtick": 1 if max(n for _l, n in counts) <= 10 else None,
               "gridcolor": "#e3e7eb", "fixedrange": True, "rangemode": "tozero"},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True, "fixedrange": True},
    )  # fmt: skip
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [n for _l, n in counts],
        "y": labels,
        "text": [str(n) for _l, n in counts],
        "textposition": "outside",
        "cliponaxis": False,
        "marker": {"color": "#0072B2"},
        "hovertemplate": "%{y}: %{x}<extra></extra>",
        "meta": {"kind": "count"},
    }
    return {"data": [trace], "layout": layout}
