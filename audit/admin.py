"""The access log in the admin: administrators read, search and export it; nobody edits it.

No role holds `audit.view_accessrecord`: only superusers (and whoever an
administrator grants that permission by hand) see the log.
"""

import csv

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from audit.exporting import FIELDS, rows
from audit.models import AccessRecord


@admin.register(AccessRecord)
class AccessRecordAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "kind", "case_code", "meeting_id", "ip_address", "path")
    list_filter = ("kind", "at")
    search_fields = ("=case_code", "=username", "api_token")
    search_help_text = _("A case code or a username, exactly as written.")
    date_hierarchy = "at"
    ordering = ("-at", "-pk")
    actions = ["export_csv"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=_("Export the selected records as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
        writer = csv.DictWriter(response, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows(queryset.newest_first()))
        return response
