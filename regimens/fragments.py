"""Rendered parts of knowledge-base pages, kept in this process per knowledge-base revision.

The results of the regimen and trial lists, the wizard's options step and the
compare page's charts depend only on the knowledge base, the published
algorithm and the query string, never on the user: each is rendered once and
kept, least recently used out first within a byte budget. Entries are keyed by
the revision read from the database on every request (DESIGN rule 9), so a
curator's change is a new key in every process, and the older entries are
dropped as soon as a newer revision shows up.

Each entry is also keyed by the active language: the same part is kept once in
English and once in Italian.

What is kept must not show anything of the request's user: no CSRF token, no
user name, no nonce (a fragment may read the query string, part of its key).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

_every: list[Any] = []  # every per-revision store of this process, each with .clear()


def per_revision(store):
    """Register a store keyed by the knowledge-base revision (fragments, compiled rules) for forget_all."""
    _every.append(store)
    return store


def forget_all() -> None:
    """Drop everything kept (tests: a rolled-back test winds the revision back, other rows may follow)."""
    for store in _every:
        store.clear()


class KeptFragments:
    """Values (rendered HTML) by key for one revision, least recently used out first within max_bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._revision: Hashable = None
        self._bytes = 0
        self._lock = threading.Lock()
        per_revision(self)

    def get_or_make(self, revision: Hashable, key: Hashable, make: Callable[[], tuple[Any, int]]) -> Any:
        """The value kept for `key` at `revision` (in the active language), else `make()`'s (value, size
        in bytes), kept."""
        key = (get_language(), key)
        with self._lock:
            if revision != self._revision:
                self._reset(revision)
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        value, size = make()  # outside the lock: rendering takes milliseconds
        with self._lock:
            if revision == self._revision and key not in self._entries and size <= self.max_bytes:
                self._entries[key] = (value, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._reset(None)

    def _reset(self, revision: Hashable) -> None:
        self._entries.clear()
        self._bytes = 0
        self._revision = revision


def kept_partial(
    kept: KeptFragments,
    revision: Hashable,
    request: HttpRequest,
    template: str,
    make_context: Callable[[], dict[str, Any]],
    query: str | None = None,
) -> SafeString:
    """`template` ("page.html#partial") rendered with `make_context()`, kept per revision and query.

    `query` is the request's query string (sorted) unless a canonical one is given.
    """
    if query is None:
        query = urlencode(sorted(request.GET.lists()), doseq=True)

    def render() -> tuple[SafeString, int]:
        html = render_to_string(template, make_context(), request=request)
        return mark_safe(html), len(html)  # rendered, and so escaped, by the template engine

    return kept.get_or_make(revision, (template, query), render)


# The knowledge-base pages' parts (list results, comparisons), keyed by the knowledge-base revision.
kept = KeptFragments(max_bytes=32 * 1024 * 1024)
