"""Bump the knowledge-base revision whenever a row that caches depend on changes.

Watched: every model of this app and its many-to-many tables, read from the app
registry, so a model added to `regimens/models.py` is watched without an edit
here; not the revision itself, nor the history tables. Saving or deleting one
row bumps through these signals; bulk writes bump in `KnowledgeBaseQuerySet`
(regimens/models.py), which every model of the app uses (a test checks both).
"""

from django.apps import apps
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save
from simple_history.models import HistoricalChanges

from regimens.models import ImpactRun, KnowledgeBaseRevision


def watched_models() -> list[type[models.Model]]:
    """The app's models and many-to-many tables whose rows the caches depend on (not the revision itself,
    nor impact runs: computed results, kept for the revision they were computed at)."""
    return [
        model
        for model in apps.get_app_config("regimens").get_models(include_auto_created=True)
        if model not in (KnowledgeBaseRevision, ImpactRun) and not issubclass(model, HistoricalChanges)
    ]


def _bump(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    if kwargs.get("action", "post_").startswith("pre_"):  # m2m_changed: count the change once, after it
        return
    KnowledgeBaseRevision.bump()


def connect() -> None:
    for model in watched_models():
        label = model._meta.label
        post_save.connect(_bump, sender=model, dispatch_uid=f"kb-revision-save-{label}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"kb-revision-delete-{label}")
        if model._meta.auto_created:  # a many-to-many table: add(), remove(), set(), clear()
            m2m_changed.connect(_bump, sender=model, dispatch_uid=f"kb-revision-m2m-{label}")
