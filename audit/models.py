"""The access log: who looked at which patient, when, from where and how.

Records are append-only: the model refuses to change or delete a saved row, its
queryset refuses bulk updates and deletes, and the admin offers neither.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CASE = "case", _("case page")
    """/cases/<code>/"""
    MEETING = "meeting", _("meeting walk-through")
    """/meetings/<id>/"""
    MEETING_CASE = "meeting_case", _("case in a meeting")
    """/meetings/<id>/cases/<item>/"""
    MINUTES = "minutes", _("minutes")
    """/meetings/<id>/minutes/"""
    MINUTES_PDF = "minutes_pdf", _("minutes PDF")
    """/meetings/<id>/minutes.pdf"""
    EXPORT = "export", _("case export")
    """A case's data exported."""
    API = "api", _("API call with a token")
    """A machine client's request to /api/v1/ with an API token."""


class AccessRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionDenied("The access log is append-only.")

    def delete(self):
        raise PermissionDenied("The access log is append-only.")

    def newest_first(self):
        return self.order_by("-at", "-pk")


class AccessRecord(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now)
    # Kept even when the user is deleted: `username` still says who.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150)
    kind = models.CharField(_("kind of view"), max_length=20, choices=Kind)
    case_code = models.CharField(_("case"), max_length=30, blank=True)
    meeting_id = models.PositiveIntegerField(_("meeting"), null=True, blank=True)
    path = models.CharField(_("address viewed"), max_length=500)
    ip_address = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    api_token = models.CharField(_("API token"), max_length=100, blank=True)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        indexes = [
            # `access_log --case` and the admin's search by case, newest first.
            models.Index(fields=["case_code", "at"], name="audit_record_case_at"),
            # `access_log --user` and the admin's filter by user.
            models.Index(fields=["username", "at"], name="audit_record_user_at"),
            # `access_log --since` and the admin's date hierarchy.
            models.Index(fields=["at"], name="audit_record_at"),
        ]

    def __str__(self) -> str:
        what = self.case_code or (f"meeting {self.meeting_id}" if self.meeting_id else self.path)
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_kind_display()} {what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionDenied("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("The access log is append-only.")
