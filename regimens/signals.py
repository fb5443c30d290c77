"""Bump the knowledge-base revision whenever a row that caches depend on changes."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from regimens import models

WATCHED = (
    models.Source, models.Drug, models.Caution, models.RegulatoryEvent, models.Regimen,
    models.RegimenComponent, models.Approval, models.Action, models.Trial, models.TrialArm,
    models.Result, models.AlgorithmVersion, models.AlgorithmSetting, models.AlgorithmOption,
    models.AlgorithmModifier,
)  # fmt: skip


def _bump(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    models.KnowledgeBaseRevision.bump()


def connect() -> None:
    for model in WATCHED:
        post_save.connect(_bump, sender=model, dispatch_uid=f"kb-revision-save-{model.__name__}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"kb-revision-delete-{model.__name__}")
    for through in (
        models.Trial.sources.through,
        models.Regimen.key_trials.through,
        models.TrialArm.allowed_regimens.through,
    ):
        m2m_changed.connect(_bump, sender=through, dispatch_uid=f"kb-revision-m2m-{through.__name__}")
