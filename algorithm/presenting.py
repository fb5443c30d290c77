"""The one presenter: a Recommendation (the engine's JSON) -> what every page shows.

The wizard's options step, the meeting walk-through and the minutes render the
same rows through one component (templates/components/options.html), and a
decision freezes exactly these rows in its snapshot. So the board sees the same
options and the same figures wherever it looks, and the minutes show what it saw.

Every row is plain JSON (no model instances): the snapshot stores it as is.
Headline figures come from ONE analysis of each trial (the latest analysis that
reports a median PFS, else a PFS hazard ratio) in one population (ITT, or the
trial's own analysis population when it has no ITT row, e.g. a single-arm trial's
treated patients), never a mix of analyses.

Queries: a fixed number whatever the number of options (regimens with approvals,
actions, trials with arms and results, sources).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from regimens.models import Action, Approval, Endpoint, Regimen, Result, Source, Trial, TrialArm

HEADLINE_ENDPOINTS = (Endpoint.PFS_MEDIAN, Endpoint.PFS_HR, Endpoint.ORR)
AGENCY_ORDER = {"EMA": 0, "FDA": 1, "AIFA": 2}
# Approvals under which a regimen counts as available through an agency.
AVAILABLE_STATUSES = {"approved", "conditional", "reimbursed"}

CATEGORIES = (
    (
        "preferred",
        gettext_lazy("Preferred"),
        gettext_lazy("A source calls it the standard or the first choice in this setting."),
    ),
    (
        "alternative",
        gettext_lazy("Alternative"),
        gettext_lazy("A source lists it as a valid choice, not the first one."),
    ),
    (
        "consider",
        gettext_lazy("Consider"),
        gettext_lazy("Backed by a trial, a label or reimbursement; no guideline text read ranks it here."),
    ),
    (
        "future",
        gettext_lazy("Future"),
        gettext_lazy("Expected to arrive, per the review; it may already be available (see its note)."),
    ),
)
CATEGORY_TITLES = {key: title for key, title, _meaning in CATEGORIES}


def category_title(key: str) -> str:
    return str(CATEGORY_TITLES.get(key, key))


# The settings' labels of algorithm.yaml, for the catalogue: a label is translated while the
# data still reads as written here; a label a curator has reworded shows as the data has it.
SETTING_TITLES = {
    "first_relapse_len_not_refractory": gettext_noop(
        "Relapse while lenalidomide is not refractory (naive or still sensitive)"
    ),
    "len_refractory_cd38_naive_or_sensitive": gettext_noop(
        "Lenalidomide-refractory, anti-CD38 naive or still sensitive (usually a first relapse during Len maintenance or after a first line built on VRd/Rd)"
    ),
    "len_and_cd38_refractory": gettext_noop(
        "Double refractory: refractory to lenalidomide AND to anti-CD38 (usually a first relapse during D-Rd)"
    ),
    "third_line_len_and_pi_exposed_cd38_naive": gettext_noop(
        "Lenalidomide and a PI already given (exposed or refractory), anti-CD38 naive (mostly after >= 2 prior lines)"
    ),
    "triple_class_exposed_2_to_3_prior_lines": gettext_noop(
        "Triple-class exposed with 2-3 prior lines (a second or third relapse)"
    ),
    "triple_class_exposed_3plus_prior_lines": gettext_noop(
        "Triple-class exposed after >= 3 prior lines, progressing on the last therapy"
    ),
    "post_bcma_or_penta_refractory": gettext_noop(
        "After therapy aimed at BCMA, or penta-refractory, or both"
    ),
}


def setting_label(key: str, label: str) -> str:
    return _(label) if label and SETTING_TITLES.get(key) == label else label


# -- sources -------------------------------------------------------------------------------------


def source_ref(key: str, citation: str = "", url: str = "", doi: str = "", quote: str = "") -> dict[str, str]:
    """A source as components/source_link.html reads it."""
    link = url or (f"https://doi.org/{doi}" if doi else "")
    return {"key": key, "citation": citation, "url": url, "link": link, "quote": quote}


def _source_of(row: Source) -> dict[str, str]:
    return source_ref(row.key, row.citation, row.url, row.doi)


def _sources(rec: dict, document: dict) -> dict[str, dict[str, str]]:
    """Every source the recommendation names: the knowledge base's row, else the algorithm file's entry."""
    keys: set[str] = set()
    for option in rec.get("options", []):
        keys.update(option.get("sources") or ())
        for caution in option.get("cautions") or ():
            keys.update(caution.get("sources") or ())
    for item in rec.get("not_recommended", []):
        keys.update(item.get("sources") or ())
    refs = {
        s["key"]: source_ref(s["key"], s.get("citation") or "", s.get("url") or "", s.get("doi") or "")
        for s in document.get("sources") or ()
        if isinstance(s, dict) and s.get("key") in keys
    }
    for row in Source.objects.filter(key__in=keys):
        refs[row.key] = _source_of(row)
    for key in keys - set(refs):
        refs[key] = source_ref(key)
    return refs


# -- headline figures -------------------------------------------------------------------------------


def _headline_trials(keys: set[str]) -> dict[str, Trial]:
    return {
        t.key: t
        for t in Trial.objects.filter(key__in=keys).prefetch_related(
            Prefetch("arms", queryset=TrialArm.objects.select_related("regimen")),
            Prefetch(
                "results",
                queryset=Result.objects.filter(endpoint__in=HEADLINE_ENDPOINTS).select_related("source"),
            ),
        )
    }


def analysis_key(label: str) -> str:
    """Which analysis a result belongs to: its label's first clause ("primary analysis, median
    follow-up 13.2 months" and "primary analysis; p=0.0012" are the same analysis)."""
    return re.split(r"[,;(]", label, maxsplit=1)[0].strip().lower()


def _headline_population(results: list[Result]) -> str:
    """ITT when the trial reports it; else the population of its own first headline figure."""
    if any(r.population == "ITT" for r in results):
        return "ITT"
    ordered = sorted(results, key=lambda r: r.order)
    medians = [r for r in ordered if r.endpoint == Endpoint.PFS_MEDIAN]
    return (medians or ordered)[0].population if ordered else "ITT"


def _arm_names(arms: list[TrialArm]) -> dict[int, str]:
    """Short arm names: the regimen's abbreviation, else (investigator's choice, dose cohorts) the arm's key."""
    regimens = [a.regimen_id for a in arms if a.regimen_id]
    return {
        a.pk: a.regimen.abbreviation if a.regimen_id and regimens.count(a.regimen_id) == 1 else a.key
        for a in arms
    }


def headline(trial: Trial) -> dict[str, Any]:
    """The trial's key figures from one analysis in one population: median PFS per arm, PFS HR, ORR."""
    results = list(trial.results.all())
    arms = {arm.pk: arm for arm in trial.arms.all()}
    names = _arm_names(list(arms.values()))
    population = _headline_population(results)
    rows = [r for r in results if r.population == population]
    latest = None
    for endpoint in (Endpoint.PFS_MEDIAN, Endpoint.PFS_HR, Endpoint.ORR):
        found = [r for r in rows if r.endpoint == endpoint]
        if found:
            latest = max(found, key=lambda r: r.order)
            break
    out: dict[str, Any] = {
        "trial_key": trial.key,
        "trial": trial.name,
        "trial_url": trial.get_absolute_url(),
        "population": population,
        "analysis": latest.analysis if latest else "",
        "pfs": [],
        "hrs": [],
        "orr": [],
        "sources": [],
        "summary": "",
    }
    if latest is None:
        return out
    analysis = analysis_key(latest.analysis)
    # One figure per measure and arm: where two sources report the same one, the later row.
    figures = {(r.endpoint, r.arm_id, r.vs_id): r for r in sorted(rows, key=lambda r: r.order)
               if analysis_key(r.analysis) == analysis}  # fmt: skip
    chosen = sorted(
        figures.values(), key=lambda r: (arms[r.arm_id].order if r.arm_id in arms else 0, r.order)
    )
    for r in chosen:
        arm = names.get(r.arm_id, "")
        if r.endpoint == Endpoint.PFS_MEDIAN:
            out["pfs"].append({"arm": arm, "value": r.value_label})
        elif r.endpoint == Endpoint.ORR:
            out["orr"].append({"arm": arm, "value": r.value_label})
        else:
            vs = names.get(r.vs_id, "")
            out["hrs"].append(
                {"value": r.value_label, "ci": r.ci_label, "arms": f"{arm}{_(' vs ')}{vs}" if vs else arm}
            )
    # A source once per page part; a figure read with a verbatim quote keeps it beside the link.
    sources: dict[tuple[str, str], dict[str, str]] = {}
    for r in chosen:
        ref = {
            **_source_of(r.source),
            "quote": r.quote,
            "quote_id": f"quote-{trial.key}-{r.pk}" if r.quote else "",
        }
        sources.setdefault((r.source.key, r.quote), ref)
    out["sources"] = list(sources.values())
    out["summary"] = _summary(out)
    return out


def _summary(h: dict[str, Any]) -> str:
    """One line for the option's summary: "APOLLO: median PFS DPd 12.4 vs Pd 6.9 months, HR 0.63"."""

    def arms(rows: list[dict[str, str]], unit: str) -> str:
        values = [f"{p['arm']} {p['value'].removesuffix(unit)}".strip() for p in rows]
        text = _(" vs ").join(values)
        return text + unit if all(p["value"].endswith(unit) for p in rows) else text

    parts = []
    if h["pfs"]:
        parts.append(_("median PFS %(values)s") % {"values": arms(h["pfs"], " " + _("months"))})
    if h["hrs"]:
        parts.append(_("HR %(value)s") % {"value": h["hrs"][0]["value"]})
    if not parts and h["orr"]:
        parts.append(_("ORR %(values)s") % {"values": arms(h["orr"], "")})
    return f"{h['trial']}: {', '.join(parts)}" if parts else ""


# -- options ----------------------------------------------------------------------------------------------


def _approval(a: Approval) -> dict[str, Any]:
    return {
        "agency": a.agency,
        "agency_label": a.get_agency_display(),
        "status": a.status,
        "status_label": a.get_status_display(),
        "year": a.year,
        "indication": a.indication,
    }


def _questions_about(key: str, names: set[str], questions: list[dict]) -> list[str]:
    """Open questions of the algorithm file that name this option or one of its trials."""
    names = {key, *names}
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w-])"
    )
    return [
        q["id"]
        for q in questions
        if q.get("id") and pattern.search(f"{q.get('topic', '')} {q.get('detail', '')}")
    ]


class _Lookups:
    """What the knowledge base knows of the keys a recommendation names (four queries)."""

    def __init__(self, rec: dict, document: dict) -> None:
        options = rec.get("options", [])
        keys = {o["key"] for o in options} | {n["key"] for n in rec.get("not_recommended", [])}
        keys |= {n["key"] for n in rec.get("not_applicable", [])} | {
            n["key"] for n in rec.get("not_placed", [])
        }
        self.regimens = {
            r.key: r
            for r in Regimen.objects.filter(key__in=keys)
            .only("key", "abbreviation", "name")
            .prefetch_related(Prefetch("approvals", queryset=Approval.objects.order_by("pk")))
        }
        self.actions = {a.key: a for a in Action.objects.filter(key__in=keys - set(self.regimens))}
        trial_keys = {t for o in options for t in o.get("trials") or ()}
        self.trials = _headline_trials(trial_keys) if trial_keys else {}
        self.sources = _sources(rec, document)

    def label(self, key: str) -> str:
        if key in self.regimens:
            return self.regimens[key].abbreviation
        if key in self.actions:
            return self.actions[key].label
        return key

    def url(self, key: str) -> str:
        regimen = self.regimens.get(key)
        return regimen.get_absolute_url() if regimen else ""

    def refs(self, keys) -> list[dict[str, str]]:
        return [self.sources[k] for k in keys or () if k in self.sources]


def _quoted(refs: list[dict[str, str]], quotes, prefix: str) -> list[dict[str, str]]:
    """Source links with the verbatim phrase each was read from, where the rule kept one."""
    by_source = {q.get("source"): q.get("text", "") for q in quotes}
    return [
        {**ref, "quote": by_source.get(ref["key"], ""), "quote_id": f"quote-{prefix}-{i}"}
        if by_source.get(ref["key"])
        else ref
        for i, ref in enumerate(refs)
    ]


def _option(option: dict, kb: _Lookups, questions: list[dict]) -> dict[str, Any]:
    key = option["key"]
    regimen = kb.regimens.get(key)
    action = kb.actions.get(key)
    trials = [kb.trials[k] for k in option.get("trials") or () if k in kb.trials]
    headlines = [headline(t) for t in trials]
    for h in headlines:  # a trial may stand under two options: quote ids stay unique on the page
        for ref in h["sources"]:
            ref["quote_id"] = f"{ref['quote_id']}-{key}" if ref["quote_id"] else ""
    approvals = (
        [
            _approval(a)
            for a in sorted(
                regimen.approvals.all(), key=lambda a: (AGENCY_ORDER.get(a.agency, 9), a.year or 0)
            )
        ]
        if regimen
        else []
    )
    cautions = [
        {
            "action": c.get("action", "caution"),
            "because": list(c.get("because") or ()),
            "message": c.get("message", ""),
            "modifier": c.get("modifier", ""),
            "sources": _quoted(kb.refs(c.get("sources")), c.get("quotes") or (), f"{key}-{n}"),
        }
        for n, c in enumerate(option.get("cautions") or ())
    ]
    available = sorted(
        {a["agency"] for a in approvals if a["status"] in AVAILABLE_STATUSES},
        key=lambda a: AGENCY_ORDER.get(a, 9),
    )
    names = {t.key for t in trials} | {t.name for t in trials}
    if regimen is not None:
        names.add(regimen.abbreviation)
    return {
        "key": key,
        "label": kb.label(key),
        "name": regimen.name if regimen else "",
        "url": kb.url(key),
        "is_regimen": regimen is not None,
        "category": option.get("category", ""),
        "category_title": category_title(option.get("category", "")),
        "rank": option.get("rank"),
        "rationale": option.get("rationale", ""),
        "action_description": action.description if action else "",
        "conditional": bool(option.get("conditional")),
        "needs_text": option.get("needs_text", ""),
        "demoted_from": category_title(option.get("demoted_from") or ""),
        "demotion": option.get("demotion") or "",
        "category_reason": option.get("category_reason") or "",
        "favoured": bool(option.get("favoured")),
        "dominance": [
            {"trial": d.get("trial", ""), "effect": d.get("effect", ""), "text": d.get("text", "")}
            for d in option.get("dominance") or ()
        ],
        "status_note": option.get("status_note") or "",
        "evidence_gap": option.get("evidence_gap") or "",
        "headlines": headlines,
        "key_figure": next((h["summary"] for h in headlines if h["summary"]), ""),
        "cautions": cautions,
        "checks": [
            {"needs_text": c.get("needs_text", ""), "message": c.get("message", "")}
            for c in option.get("checks") or ()
        ],
        "approvals": approvals,
        "available": available,
        "sources": kb.refs(option.get("sources")),
        "open_questions": _questions_about(key, names, questions),
    }


def present(rec: dict[str, Any], document: dict | None = None) -> dict[str, Any]:
    """What the pages show for a recommendation: grouped options, why-not, settings, sources.

    `document` is the published algorithm version's document (its sources and open
    questions); without it the sources come from the knowledge base alone.
    """
    document = document or {}
    if rec.get("error"):
        return {"error": rec["error"], "algorithm_version": "", "groups": [], "not_recommended": []}
    kb = _Lookups(rec, document)
    questions = [q for q in document.get("open_questions") or () if isinstance(q, dict)]
    options = [_option(o, kb, questions) for o in rec.get("options", [])]
    groups = []
    for key, title, meaning in CATEGORIES:
        members = [o for o in options if o["category"] == key]
        if members:
            groups.append({"key": key, "title": str(title), "meaning": str(meaning), "options": members})
    related = {q for o in options if o["category"] != "future" for q in o["open_questions"]}
    return {
        "algorithm_version": rec.get("algorithm_version", ""),
        "settings": [
            {
                "key": s.get("key", ""),
                "label": setting_label(s.get("key", ""), s.get("label", "")),
                "conditions": list(s.get("conditions") or ()),
            }
            for s in rec.get("settings", [])
        ],
        "no_match_message": rec.get("no_match_message", ""),
        "possible_settings": [
            {
                "label": setting_label(p.get("key", ""), p.get("label", "")),
                "needs_text": p.get("needs_text", ""),
            }
            for p in rec.get("possible_settings", [])
        ],
        "groups": groups,
        "not_recommended": [
            {
                "key": n["key"],
                "label": kb.label(n["key"]),
                "url": kb.url(n["key"]),
                "reason": n.get("reason", ""),
                "sources": kb.refs(n.get("sources")),
            }
            for n in rec.get("not_recommended", [])
        ],
        "not_applicable": [
            {"key": n["key"], "label": kb.label(n["key"]), "reason": n.get("reason", "")}
            for n in rec.get("not_applicable", [])
        ],
        "not_placed": [
            {
                "key": n["key"],
                "label": kb.label(n["key"]),
                "url": kb.url(n["key"]),
                "reason": n.get("reason", ""),
            }
            for n in rec.get("not_placed", [])
        ],
        "category_rule": rec.get("category_rule", ""),
        "dominance_rule": rec.get("dominance_rule", ""),
        "compare_keys": [o["key"] for o in options if o["is_regimen"] and o["category"] != "future"],
        "related_questions": [
            {"id": q["id"], "topic": q.get("topic", ""), "detail": q.get("detail", "")}
            for q in questions
            if q.get("id") in related
        ],
    }


def without_future(presented: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The presented options less the "future" group (hidden unless asked for), and how many it held."""
    groups = presented.get("groups", [])
    hidden = sum(len(g["options"]) for g in groups if g["key"] == "future")
    return {**presented, "groups": [g for g in groups if g["key"] != "future"]}, hidden


def option_choices(presented: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, "DPd (preferred)") for the decision form, in the order shown."""
    return [
        (o["key"], f"{o['label']} ({o['category_title'].lower()})")
        for g in presented.get("groups", [])
        for o in g["options"]
    ]


def find_option(presented: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((o for g in presented.get("groups", []) for o in g["options"] if o["key"] == key), None)


def labels(presented: dict[str, Any]) -> dict[str, str]:
    """Display names of every option and exclusion shown."""
    out = {o["key"]: o["label"] for g in presented.get("groups", []) for o in g["options"]}
    out.update({n["key"]: n["label"] for n in presented.get("not_recommended", [])})
    return out
