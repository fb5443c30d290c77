"""Administrators create and revoke API tokens, and sign a user out everywhere."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import ApiToken, Scope, UserSession

User = get_user_model()


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the token may do; it never writes anything."),
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "prefix", "scope_list", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description=_("scopes"))
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(str(Scope(scope).label) for scope in token.scopes if scope in Scope.values)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # revoke instead: the access log names the token

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if not change:
            raw = obj.issue()
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                _(
                    "The new token is %(token)s — copy it now: it is shown only this once "
                    "(mmboard keeps only a hash of it). Clients send it as “Authorization: Bearer …”."
                )
                % {"token": raw},
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count},
        )


def sign_out_everywhere(users) -> int:
    """End every session of these users; return how many ended."""
    records = UserSession.objects.filter(user__in=users)
    ended, _details = Session.objects.filter(session_key__in=records.values("session_key")).delete()
    records.delete()
    return ended


admin.site.unregister(User)


@admin.register(User)
class MmboardUserAdmin(UserAdmin):
    actions = ["sign_out_everywhere"]

    @admin.action(description=_("Sign out everywhere (end all their sessions)"), permissions=["change"])
    def sign_out_everywhere(self, request: HttpRequest, queryset) -> None:
        ended = sign_out_everywhere(queryset)
        self.message_user(
            request,
            ngettext("%(count)d session ended.", "%(count)d sessions ended.", ended) % {"count": ended},
        )
