"""/algorithm/: the relapse-algorithm wizard (history -> patient factors -> options).

State lives in the query string (`step` plus the facts), so back, forward,
reload and a shared link all work; every step is a GET form that also works
without JavaScript. One view serves the page and, for an HTMX request, the
`step` partial of algorithm/wizard.html. Each step validates on the server with
the engine's own `CaseFacts.from_dict`: a `FactsError` is shown on the field of
the step that holds it (status 200, so htmx swaps it).

The options step is the one presenter's (algorithm/presenting.py), read in a
fixed number of queries whatever the number of options. It is the same for every user, so its rendered HTML is kept in this
process per (published version, knowledge-base revision, canonical query), as
the compiled rules are (DESIGN rule 9): a board clicking back to the options of
a case, or several members opening the same link, costs two small queries.
The step supports the board's decision; it never makes it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from algorithm import services
from algorithm.engine import CaseFacts, FactsError
from algorithm.engine.facts import FIELD_SPECS
from algorithm.forms import FORMS, STEP_FIELDS, given_facts, step_of
from algorithm.links import facts_query, wizard_url
from algorithm.presenting import present, source_ref, without_future
from algorithm.services import input_definitions, published_document, published_key
from algorithm.words import say, title
from compare.links import compare_url
from mmboard.http import HtmxHttpRequest, vary_on_htmx, wants_partial
from regimens.fragments import KeptFragments, kept_partial

STEPS = {1: _("History and refractoriness"), 2: _("Patient factors"), 3: _("Options")}
# Rendered options steps (some tens of kilobytes each), per (version, revision, canonical query).
options_steps = KeptFragments(max_bytes=16 * 1024 * 1024)

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
                form.add_error(None, f"{title(error.field)} ({error.field}): {error.message}")
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
    """The facts entered, in the specs' words (a form value "2" is the ECOG grade 2)."""
    out = []
    for name, spec in FIELD_SPECS.items():
        if name not in given:
            continue
        value = given[name]
        if spec.kind == "bool":
            value = {"true": True, "false": False}.get(str(value).lower(), value)
        elif spec.kind == "choice" and str(value).isdigit():
            value = int(value)
        out.append((title(name), say(name, value)))
    return out


# -- the options step ------------------------------------------------------------------------------


def _options_context(given: dict, document: dict, show_future: bool) -> dict[str, Any]:
    try:
        rec = services.recommend(given)
    except services.NoPublishedAlgorithm as exc:
        return {"no_algorithm": str(exc)}
    presented = present(rec, document)
    shown, hidden_future = (presented, 0) if show_future else without_future(presented)
    questions = document.get("open_questions") or []
    doc_sources = [
        source_ref(s["key"], s.get("citation") or "", s.get("url") or "", s.get("doi") or "")
        for s in document.get("sources") or ()
        if isinstance(s, dict) and s.get("key")
    ]
    return {
        "presented": shown,
        "hidden_future": hidden_future,
        "future_url": wizard_url(given, step=3, future=None if show_future else "1"),
        "compare_url": compare_url(presented["compare_keys"]),
        "seed_questions": [q for q in questions if str(q.get("topic", "")).startswith("Seed:")],
        "doc_sources": doc_sources,
    }
