"""The recommendation as the pages, the CLI and the API ask for it.

Rules compile once per (published version, knowledge-base revision) and stay
in this process; another process sees the same revision number in the
database, so no cross-process invalidation is needed (DESIGN rule 9).
"""

from typing import Any

from algorithm.engine import CaseFacts, Rules, evaluate
from algorithm.versions import compile_rules
from regimens.fragments import per_revision
from regimens.models import AlgorithmStatus, AlgorithmVersion, KnowledgeBaseRevision

_compiled: dict[tuple[int, int], Rules] = per_revision({})


class NoPublishedAlgorithm(Exception):
    """No algorithm version is published yet (load_evidence publishes the shipped one)."""


def current_rules() -> Rules:
    version_id = AlgorithmVersion.objects.published_id()
    if version_id is None:
        raise NoPublishedAlgorithm("No algorithm version is published: run `python manage.py load_evidence`.")
    cache_key = (version_id, KnowledgeBaseRevision.current())
    if cache_key not in _compiled:
        version = AlgorithmVersion.objects.with_rules().get(pk=version_id)
        _compiled.clear()  # only the current rules are worth keeping
        # The trials' populations and randomised comparisons compile with the rules, from the
        # same knowledge-base revision, so they are cached (and invalidated) together.
        _compiled[cache_key] = compile_rules(version.to_rules_dict(), version.label)
    return _compiled[cache_key]


def recommend(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as JSON (the algorithm's input keys) -> the recommendation as JSON.

    Raises algorithm.engine.FactsError naming the field on bad input.
    """
    return evaluate(CaseFacts.from_dict(facts), current_rules()).to_dict()


# -- the published version's document (input definitions, sources, open questions) --------------

_documents: dict[tuple[int, int], tuple[str, dict]] = per_revision({})


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
