"""The therapy timeline of a case as a Plotly figure dict (drawn by static/js/charts.js).

One horizontal bar per line (a thick line segment from start to last dose),
coloured by best response; markers for ASCT and progression. Plain dicts, so
the figure goes into the page with `json_script` and never runs as script.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import get_language, gettext

from cases.derivation import Line

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
