"""API tokens for machine clients, and the sessions each user holds (for "sign out everywhere")."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from regimens.roles import KNOWLEDGE_BASE_MODELS

TOKEN_PREFIX = "mmb_"


class Scope(models.TextChoices):
    KNOWLEDGE_BASE = "knowledge_base", _("read the knowledge base (regimens, trials)")
    """GET /api/v1/regimens/, /api/v1/trials/, /api/v1/trials/<key>/."""
    RECOMMENDATIONS = "recommendations", _("ask for recommendations")
    """POST /api/v1/recommendations."""


# What each scope lets a token do, as the permissions the API checks (regimens/api.py).
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    Scope.KNOWLEDGE_BASE: frozenset(f"regimens.view_{model}" for model in KNOWLEDGE_BASE_MODELS),
    Scope.RECOMMENDATIONS: frozenset({"regimens.view_algorithmversion"}),
}


def hash_token(raw: str) -> str:
    """Tokens are 256 random bits, so one SHA-256 is enough (no password hasher needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True, help_text=_("Who uses it, for what."))
    scopes = models.JSONField(_("scopes"), default=list)
    # The first characters, to recognise a token in logs; the token itself is never stored.
    prefix = models.CharField(_("starts with"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def issue(self) -> str:
        """Give the token a new secret and return it: the only moment it is known."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.prefix = raw[:12]
        self.key_hash = hash_token(raw)
        return raw

    @property
    def principal_name(self) -> str:
        return f"token:{self.name}"

    def permissions(self) -> frozenset[str]:
        return frozenset().union(*(SCOPE_PERMISSIONS.get(scope, frozenset()) for scope in self.scopes))


class UserSession(models.Model):
    """A session a user signed in with (its key), so an administrator can end all of them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.session_key[:6]}…"
