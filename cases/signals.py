"""Bump the cases revision whenever a row that /outcomes/ depends on changes."""

from django.db.models.signals import post_delete, post_save

from cases import models

WATCHED = (models.Case, models.Meeting, models.Decision, models.Outcome, models.ResponseAssessment)


def _bump(sender, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    models.CasesRevision.bump()


def connect() -> None:
    for model in WATCHED:
        post_save.connect(_bump, sender=model, dispatch_uid=f"cases-revision-save-{model.__name__}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"cases-revision-delete-{model.__name__}")
