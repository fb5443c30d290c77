"""The knowledge-base revision goes up on every change that caches depend on, and once per load.

In-process caches (compiled rules, rendered fragments, chart figures) are keyed by
this number (DESIGN rule 9): a change that does not bump it shows stale evidence.
"""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models.signals import m2m_changed, post_delete, post_save
from simple_history.models import HistoricalChanges

from regimens import signals
from regimens.models import (
    ImpactRun,
    KnowledgeBaseQuerySet,
    KnowledgeBaseRevision,
    Result,
    Source,
    Trial,
)
from tests.integration.test_admin import build_kb, make_source, post_change

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("mmboard", "regimens", "algorithm", "compare", "cases")


def _app_models() -> list:
    """Every model of the regimens app, many-to-many tables included, as the registry lists them."""
    return list(apps.get_app_config("regimens").get_models(include_auto_created=True))


@pytest.fixture
def kb():
    return build_kb("A")


def test_curator_admin_save_bumps_the_revision(curator_client, kb):
    before = KnowledgeBaseRevision.current()

    response = post_change(curator_client, "trial", kb.trial, name="Renamed by a curator")

    assert response.status_code == 302
    assert KnowledgeBaseRevision.current() > before


def test_queryset_update_bumps_the_revision_once(kb):
    before = KnowledgeBaseRevision.current()

    Result.objects.filter(trial=kb.trial).update(analysis="corrected analysis")

    assert KnowledgeBaseRevision.current() == before + 1


def test_queryset_update_of_no_row_leaves_the_revision(kb):
    before = KnowledgeBaseRevision.current()

    Trial.objects.filter(key="NO-SUCH-TRIAL").update(name="nothing")

    assert KnowledgeBaseRevision.current() == before


def test_bulk_update_bumps_the_revision_once(kb):
    results = list(Result.objects.filter(trial=kb.trial))
    for result in results:
        result.analysis = "corrected analysis"
    before = KnowledgeBaseRevision.current()

    Result.objects.bulk_update(results, ["analysis"], batch_size=1)

    assert KnowledgeBaseRevision.current() == before + 1


def test_bulk_create_bumps_the_revision_once(db):
    before = KnowledgeBaseRevision.current()

    Source.objects.bulk_create([Source(key="src-bulk-1"), Source(key="src-bulk-2")])

    assert KnowledgeBaseRevision.current() == before + 1


def test_queryset_delete_bumps_the_revision_once(kb):
    before = KnowledgeBaseRevision.current()

    deleted, _ = Result.objects.filter(trial=kb.trial).delete()

    assert deleted == 2
    assert KnowledgeBaseRevision.current() == before + 1


def test_related_manager_add_to_a_many_to_many_table_bumps_the_revision(kb):
    before = KnowledgeBaseRevision.current()

    kb.drug.sources.add(make_source("src-drug-label"))

    assert KnowledgeBaseRevision.current() > before


def test_load_evidence_run_bumps_the_revision_exactly_once(db):
    before = KnowledgeBaseRevision.current()

    call_command("load_evidence", verbosity=0)

    assert KnowledgeBaseRevision.current() == before + 1


def test_load_evidence_run_that_changes_nothing_leaves_the_revision(knowledge_base):
    before = KnowledgeBaseRevision.current()

    call_command("load_evidence", verbosity=0)

    assert KnowledgeBaseRevision.current() == before


def test_load_evidence_check_leaves_the_revision(db):
    before = KnowledgeBaseRevision.current()

    call_command("load_evidence", "--check", verbosity=0)

    assert KnowledgeBaseRevision.current() == before


def test_every_model_of_the_app_is_watched():
    """A model added to regimens/models.py is watched with no list to edit: this test iterates the app."""
    expected = [
        model
        for model in _app_models()
        if model not in (KnowledgeBaseRevision, ImpactRun) and not issubclass(model, HistoricalChanges)
    ]
    assert len(expected) > 15  # the registry was read, not an empty app

    assert signals.watched_models() == expected
    for model in expected:
        label = model._meta.label
        assert _connected(post_save, model, f"kb-revision-save-{label}"), label
        assert _connected(post_delete, model, f"kb-revision-delete-{label}"), label
        if model._meta.auto_created:  # add(), remove(), set(), clear()
            assert _connected(m2m_changed, model, f"kb-revision-m2m-{label}"), label
        else:  # update(), bulk_create(), bulk_update(), delete() of a queryset
            assert isinstance(model._default_manager.all(), KnowledgeBaseQuerySet), label


def test_no_code_writes_a_many_to_many_table_past_its_related_manager():
    """Auto-created many-to-many tables keep Django's plain queryset: write them with add/remove/set/clear."""
    pattern = re.compile(r"\.through\.objects|\.through\._default_manager")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in APP_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]

    assert offenders == []


def _connected(signal, model, dispatch_uid: str) -> bool:
    """Whether the revision receiver listens to `model` (disconnect says so; connect() restores it)."""
    try:
        return signal.disconnect(sender=model, dispatch_uid=dispatch_uid)
    finally:
        signals.connect()
