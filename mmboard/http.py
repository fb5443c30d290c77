"""The one HTMX helper of the project: the typed request, page-or-partial, and the answer to a POST.

Every view that serves a page and, for an htmx request, one of its partials uses
these (DESIGN rule 4). A history restore (htmx missed its cache) and a boosted
request swap the whole body, so they get the full page.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

# What page_or_partial's answer depends on, for caches between the browser and the server.
vary_on_htmx = vary_on_headers("HX-Request", "HX-History-Restore-Request")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_partial(request: HtmxHttpRequest) -> bool:
    """True for an htmx request that swaps part of the page (not boosted, not a history restore)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def page_or_partial(request: HtmxHttpRequest, page: str, partial: str) -> str:
    """The template to render: `page#partial` for an htmx swap, else the whole page."""
    return f"{page}#{partial}" if wants_partial(request) else page


def done(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """After a successful POST: htmx follows a client redirect, a plain form a redirect."""
    if request.htmx:
        # Without the fragment: a change of fragment alone would not reload the page.
        return HttpResponseClientRedirect(url.split("#", 1)[0])
    return HttpResponseRedirect(url)
