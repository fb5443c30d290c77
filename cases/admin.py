from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import (
    AgendaItem,
    Attendee,
    Case,
    Decision,
    FactOverride,
    Meeting,
    Outcome,
    ResponseAssessment,
    TherapyLine,
)


class TherapyLineInline(admin.TabularInline):
    model = TherapyLine
    extra = 0
    show_change_link = True
    fields = ["number", "regimen", "regimen_text", "start", "end", "outcome", "best_response"]
    autocomplete_fields = ["regimen"]


class FactOverrideInline(admin.TabularInline):
    model = FactOverride
    extra = 0
    fields = ["fact", "value", "reason", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    list_display = ["code", "age_at_diagnosis", "sex", "diagnosis", "frailty", "version", "updated_at"]
    list_filter = ["frailty", "sex", "car_t_eligible"]
    search_fields = ["code"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [TherapyLineInline, FactOverrideInline]


@admin.register(TherapyLine)
class TherapyLineAdmin(SimpleHistoryAdmin):
    list_display = ["case", "number", "regimen_label", "start", "end", "outcome"]
    list_select_related = ["case", "regimen"]
    list_filter = ["outcome", "best_response"]
    search_fields = ["case__code", "regimen__key", "regimen_text"]
    autocomplete_fields = ["case", "regimen"]

    @admin.display(description="regimen", ordering="regimen__abbreviation")
    def regimen_label(self, obj: TherapyLine) -> str:
        return obj.regimen_label


class AttendeeInline(admin.TabularInline):
    model = Attendee
    extra = 0


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    autocomplete_fields = ["case"]


@admin.register(Meeting)
class MeetingAdmin(SimpleHistoryAdmin):
    list_display = ["date", "title", "location"]
    search_fields = ["title"]
    date_hierarchy = "date"
    inlines = [AttendeeInline, AgendaItemInline]


@admin.register(Decision)
class DecisionAdmin(SimpleHistoryAdmin):
    list_display = ["case", "option_label", "category", "status", "meeting", "recorded_at", "recorded_by"]
    list_select_related = ["case", "meeting", "recorded_by"]
    list_filter = ["status", "category", "deviation_reason"]
    search_fields = ["case__code", "option_key", "option_label"]
    # The snapshot is the record of what the board saw: never edited.
    readonly_fields = [
        "case", "meeting", "option_key", "option_label", "category", "algorithm_version", "snapshot",
        "recorded_by", "recorded_at",
    ]  # fmt: skip


class ResponseAssessmentInline(admin.TabularInline):
    model = ResponseAssessment
    extra = 0
    fields = ["date", "precision", "response"]


@admin.register(Outcome)
class OutcomeAdmin(SimpleHistoryAdmin):
    list_display = [
        "decision",
        "start",
        "progression",
        "next_treatment",
        "death",
        "last_contact",
        "updated_at",
    ]
    list_select_related = ["decision__case"]
    search_fields = ["decision__case__code", "decision__option_key"]
    readonly_fields = ["decision", "updated_by", "updated_at"]
    inlines = [ResponseAssessmentInline]
