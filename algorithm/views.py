"""/algorithm/: the relapse-algorithm wizard (history -> patient factors -> options).

State lives in the query string (`step` plus the facts), so back, forward,
reload and a shared link all work; every step is a GET form that also works
without JavaScript. One view serves the page and, for an HTMX request, the
`step` partial of algorithm/wizard.html. Each step validates on the server with
the engine's own `CaseFacts.from_dict`: a `FactsError` is shown on the field of
the step that holds it (status 200, so htmx swaps it).

The options step reads the database in a fixed number of queries whatever the
number of options: regimens with approvals, actions, trials with arms and
headline results (`Trial.objects.for_headlines()`), sources, and the published
version. It is the same for every user, so its rendered HTML is kept in this
process per (published version, knowledge-base revision, canonical query), as
the compiled rules are (DESIGN rule 9): a board clicking back to the options of
a case, or several members opening the same link, costs two small queries.
The step supports the board's decision; it never makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from algorithm import services
from algorithm.engine import CaseFacts, FactsError
from algorithm.engine.facts import FIELD_SPECS, value_words
from algorithm.forms import FORMS, LABELS, STEP_FIELDS, choice_label, given_facts, step_of
from algorithm.links import facts_query, wizard_url
from compare.links import compare_url
from mmboard.http import HtmxHttpRequest, vary_on_htmx, wants_partial
from regimens.fragments import KeptFragments, kept_partial, per_revision
from regimens.models import (
    Action,
    AlgorithmStatus,
    AlgorithmVersion,
    Approval,
    KnowledgeBaseRevision,
    Regimen,
    Source,
    Trial,
)

STEPS = {1: "History and refractoriness", 2: "Patient factors", 3: "Options"}
CATEGORIES = (
    ("preferred", "Preferred", "A source calls it the standard or the first choice in this setting."),
    ("alternative", "Alternative", "A source lists it as a valid choice, not the first one."),
    (
        "consider",
        "Consider",
        "Backed by a trial, a label or reimbursement; no guideline text read ranks it here.",
    ),
    ("future", "Future", "Expected to arrive, per the review; it may already be available (see its note)."),
)
HEADLINE_ENDPOINTS = ("pfs_median", "pfs_hr", "orr")
AGENCY_ORDER = {"EMA": 0, "FDA": 1, "AIFA": 2}

# -- the published version's document (input definitions, sources, open questions) --------------

_documents: dict[tuple[int, int], tuple[str, dict]] = per_revision({})
# Rendered options steps (some tens of kilobytes each), per (version, revision, canonical query).
options_steps = KeptFragments(max_bytes=16 * 1024 * 1024)


def published_key() -> tuple[int, int] | None:
    """(published version id, knowledge-base revision): what the wizard's caches are keyed by."""
    version_id = AlgorithmVersion.objects.published_id()
    if version_id is None:
        return None
    return version_id, KnowledgeBaseRevision.current()


def published_document(key: tuple[int, int] | None = None) -> tuple[str, dict] | None:
    """(label, document) of the published version, cached per (version, knowledge-base revision)."""
    key = key or published_key()
    if key is None:
        return None
    if key not in _documents:
        version_id = key[0]
        row = AlgorithmVersion.objects.filter(pk=version_id, status=AlgorithmStatus.PUBLISHED)
        found = row.values_list("label", "document").first()
        if found is None:
            return None
        _documents.clear()
        _documents[key] = (found[0], found[1] or {})
    return _documents[key]


def input_definitions(document: dict) -> dict[str, dict]:
    return {
        item["key"]: item for item in document.get("inputs") or () if isinstance(item, dict) and "key" in item
    }


# -- plain objects the template reads ---------------------------------------------------------------


@dataclass
class SourceRef:
    """A source as components/source_link.html reads it (a Source row or the document's entry)."""

    key: str
    citation: str = ""
    url: str = ""
    doi: str = ""

    @property
    def link(self) -> str:
        if self.url:
            return self.url
        return f"https://doi.org/{self.doi}" if self.doi else ""


@dataclass
class Headline:
    trial: Trial
    pfs: list[tuple[str, str]] = field(default_factory=list)  # (arm, value)
    hrs: list[tuple[str, str, str]] = field(default_factory=list)  # (value, CI, arms)
    orr: list[tuple[str, str]] = field(default_factory=list)
    analysis: str = ""
    sources: list[Any] = field(default_factory=list)


@dataclass
class OptionView:
    data: dict
    label: str
    url: str
    regimen: Regimen | None
    action: Action | None
    headlines: list[Headline]
    sources: list[SourceRef]
    cautions: list[dict]
    approvals: list[Approval]
    open_questions: list[str]


@dataclass
class ExclusionView:
    data: dict
    label: str
    url: str
    sources: list[SourceRef]


# -- the view ----------------------------------------------------------------------------------------


def _step_param(request: HtmxHttpRequest, given: dict) -> int:
    raw = request.GET.get("step", "")
    if raw in ("1", "2", "3"):
        return int(raw)
    # An old link to the options of a case may come without a step.
    return 3 if given else 1


@require_GET
@vary_on_htmx
@permission_required("regimens.view_algorithmversion", raise_exception=True)
def wizard(request: HtmxHttpRequest) -> HttpResponse:
    given = given_facts(request.GET)
    step = _step_param(request, given)
    show_future = request.GET.get("future") in ("1", "true", "on")
    canonical_pairs = facts_query(given, step=step, future="1" if show_future else None)
    canonical = f"{reverse('algorithm')}?{urlencode(canonical_pairs)}"
    sent = sorted(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True))
    if sent and not request.htmx and sent != sorted(canonical_pairs):
        # A plain GET form sends every field, "not known" ones too: keep the shared URL short.
        return redirect(canonical)
    published = published_key()
    found = published_document(published)
    label, document = found if found else ("", {})
    error: FactsError | None = None
    try:
        facts = CaseFacts.from_dict(given)
    except FactsError as exc:
        error, facts = exc, None
        step = step_of(exc.field)

    ctx: dict[str, Any] = {
        "step": step,
        "steps": [(n, title, wizard_url(given, step=n)) for n, title in STEPS.items()],
        "step_title": STEPS[step],
        "given": given,
        "facts_list": _facts_list(given),
        "version_label": label,
        "show_future": show_future,
        "url_step1": wizard_url(given, step=1),
        "url_step2": wizard_url(given, step=2),
    }
    if step in FORMS:
        form = FORMS[step](request.GET, input_definitions(document))
        form.is_valid()
        if error is not None:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
            else:
                form.add_error(
                    None, f"{LABELS.get(error.field, error.field)} ({error.field}): {error.message}"
                )
        ctx["form"] = form
        ctx["carried"] = [(k, v) for k, v in facts_query(given) if k not in STEP_FIELDS[step]]
    elif facts is not None:
        ctx["step_html"] = _options_step_html(request, ctx, published, canonical, document, show_future)

    template = "algorithm/wizard.html"
    if wants_partial(request):
        if "step_html" in ctx:
            response = HttpResponse(ctx["step_html"])
        else:
            response = render(request, f"{template}#step", ctx)
        # The pushed URL is the canonical one: the step asked for and only the facts given.
        return push_url(response, canonical)
    return render(request, template, ctx)


def _options_step_html(
    request: HtmxHttpRequest,
    ctx: dict[str, Any],
    published: tuple[int, int] | None,
    canonical: str,
    document: dict,
    show_future: bool,
) -> SafeString:
    """The options step, rendered once per (version, revision, canonical query) and kept."""

    def context() -> dict[str, Any]:
        return {**ctx, **_options_context(ctx["given"], document, show_future)}

    if published is None:  # nothing published: the step says so, and nothing is kept
        return mark_safe(render_to_string("algorithm/wizard.html#step", context(), request=request))
    return kept_partial(options_steps, published, request, "algorithm/wizard.html#step", context, canonical)


def _facts_list(given: dict) -> list[tuple[str, str]]:
    out = []
    for name in FIELD_SPECS:
        if name not in given:
            continue
        value = given[name]
        spec = FIELD_SPECS[name]
        if spec.kind == "classes":
            words = ", ".join(value_words(v) for v in value)
        elif spec.kind == "bool":
            words = {"true": "yes", "false": "no"}.get(str(value).lower(), str(value))
        elif spec.kind == "choice":
            typed = int(value) if str(value).isdigit() else value
            words = choice_label(name, typed)
        else:
            words = str(value)
        out.append((LABELS.get(name, spec.label), words))
    return out


# -- the options step ------------------------------------------------------------------------------


def _options_context(given: dict, document: dict, show_future: bool) -> dict[str, Any]:
    try:
        rec = services.recommend(given)
    except services.NoPublishedAlgorithm as exc:
        return {"no_algorithm": str(exc)}

    options = rec["options"]
    excluded = rec["not_recommended"]
    keys = {o["key"] for o in options} | {n["key"] for n in excluded}
    regimens = {
        r.key: r
        for r in Regimen.objects.filter(key__in=keys)
        .only("key", "abbreviation", "name")
        .prefetch_related(Prefetch("approvals", queryset=Approval.objects.select_related("source")))
    }
    actions = {a.key: a for a in Action.objects.filter(key__in=keys - set(regimens))}
    trial_keys = {t for o in options for t in o["trials"]}
    trials = {t.key: t for t in Trial.objects.for_headlines(HEADLINE_ENDPOINTS).filter(key__in=trial_keys)}
    sources = _sources(rec, document)
    questions = document.get("open_questions") or []

    views = [_option_view(o, regimens, actions, trials, sources, questions) for o in options]
    groups = []
    hidden_future = 0
    for key, title, meaning in CATEGORIES:
        members = [v for v in views if v.data["category"] == key]
        if key == "future" and not show_future:
            hidden_future = len(members)
            continue
        if members:
            groups.append({"key": key, "title": title, "meaning": meaning, "options": members})

    shown = [v for g in groups for v in g["options"]]
    compare_keys = [v.regimen.key for v in shown if v.regimen is not None]
    related = sorted({q for v in shown for q in v.open_questions})
    doc_sources = [SourceRef(s["key"], s.get("citation") or "", s.get("url") or "", s.get("doi") or "")
                   for s in document.get("sources") or () if isinstance(s, dict) and s.get("key")]  # fmt: skip
    return {
        "rec": rec,
        "groups": groups,
        "hidden_future": hidden_future,
        "future_url": wizard_url(given, step=3, future=None if show_future else "1"),
        "exclusions": [_exclusion_view(n, regimens, actions, sources) for n in excluded],
        "not_applicable": [
            {"label": _label(n["key"], regimens, actions), "reason": n["reason"]}
            for n in rec["not_applicable"]
        ],
        "compare_url": compare_url(compare_keys),
        "related_questions": [q for q in questions if q.get("id") in related],
        "seed_questions": [q for q in questions if str(q.get("topic", "")).startswith("Seed:")],
        "doc_sources": doc_sources,
    }


def _sources(rec: dict, document: dict) -> dict[str, SourceRef]:
    keys: set[str] = set()
    for option in rec["options"]:
        keys.update(option["sources"])
        for caution in option["cautions"]:
            keys.update(caution["sources"])
    for item in rec["not_recommended"]:
        keys.update(item["sources"])
    refs = {
        s["key"]: SourceRef(s["key"], s.get("citation") or "", s.get("url") or "", s.get("doi") or "")
        for s in document.get("sources") or ()
        if isinstance(s, dict) and s.get("key") in keys
    }
    for row in Source.objects.filter(key__in=keys):
        refs[row.key] = SourceRef(row.key, row.citation, row.url, row.doi)
    for key in keys - set(refs):
        refs[key] = SourceRef(key)
    return refs


def _label(key: str, regimens: dict[str, Regimen], actions: dict[str, Action]) -> str:
    if key in regimens:
        return regimens[key].abbreviation
    if key in actions:
        return actions[key].label
    return key


def _option_view(
    option: dict,
    regimens: dict[str, Regimen],
    actions: dict[str, Action],
    trials: dict[str, Trial],
    sources: dict[str, SourceRef],
    questions: list[dict],
) -> OptionView:
    regimen = regimens.get(option["key"])
    shown_trials = [trials[k] for k in option["trials"] if k in trials]
    approvals = (
        sorted(regimen.approvals.all(), key=lambda a: (AGENCY_ORDER.get(a.agency, 9), a.year or 0))
        if regimen
        else []
    )
    cautions = [
        {**c, "source_refs": [sources[k] for k in c["sources"] if k in sources]} for c in option["cautions"]
    ]
    return OptionView(
        data=option,
        label=_label(option["key"], regimens, actions),
        url=regimen.get_absolute_url() if regimen else "",
        regimen=regimen,
        action=actions.get(option["key"]),
        headlines=[_headline(t) for t in shown_trials],
        sources=[sources[k] for k in option["sources"] if k in sources],
        cautions=cautions,
        approvals=approvals,
        open_questions=_questions_about(option["key"], regimen, shown_trials, questions),
    )


def _exclusion_view(
    item: dict, regimens: dict[str, Regimen], actions: dict[str, Action], sources: dict[str, SourceRef]
) -> ExclusionView:
    regimen = regimens.get(item["key"])
    return ExclusionView(
        data=item,
        label=_label(item["key"], regimens, actions),
        url=regimen.get_absolute_url() if regimen else "",
        sources=[sources[k] for k in item["sources"] if k in sources],
    )


def _headline(trial: Trial) -> Headline:
    """Median PFS per arm, the PFS HR with its CI and ORR per arm: the latest ITT analysis of each."""
    arms = {arm.pk: arm for arm in trial.arms.all()}
    latest: dict[tuple[str, int, int | None], Any] = {}
    for result in trial.results.all():
        if result.endpoint in HEADLINE_ENDPOINTS and result.population == "ITT":
            key = (result.endpoint, result.arm_id, result.vs_id)
            if key not in latest or result.order >= latest[key].order:
                latest[key] = result
    chosen = sorted(latest.values(), key=lambda r: (arms[r.arm_id].order, r.order))
    headline = Headline(trial)
    for r in chosen:
        arm = arms[r.arm_id].short_label
        if r.endpoint == "pfs_median":
            headline.pfs.append((arm, r.value_label))
            headline.analysis = headline.analysis or r.analysis
        elif r.endpoint == "orr":
            headline.orr.append((arm, r.value_label))
        else:
            vs = f" vs {arms[r.vs_id].short_label}" if r.vs_id in arms else ""
            headline.hrs.append((r.value_label, r.ci_label, f"{arm}{vs}"))
    headline.sources = list({r.source.pk: r.source for r in chosen}.values())
    return headline


def _questions_about(
    key: str, regimen: Regimen | None, trials: list[Trial], questions: list[dict]
) -> list[str]:
    """Open questions of the algorithm file that name this option or one of its trials."""
    names = {key}
    if regimen is not None:
        names.add(regimen.abbreviation)
    for trial in trials:
        names.update((trial.key, trial.name))
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w-])"
    )
    return [
        q["id"]
        for q in questions
        if q.get("id") and pattern.search(f"{q.get('topic', '')} {q.get('detail', '')}")
    ]
