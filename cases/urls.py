from django.urls import path

from cases.views import cases, meetings, minutes, outcomes

app_name = "cases"
urlpatterns = [
    path("cases/", cases.case_list, name="case_list"),
    path("cases/new/", cases.case_create, name="case_create"),
    path("cases/<str:code>/", cases.case_detail, name="case_detail"),
    path("cases/<str:code>/edit/", cases.case_edit, name="case_edit"),
    path("cases/<str:code>/lines/new/", cases.line_form, name="line_create"),
    path("cases/<str:code>/lines/<int:number>/edit/", cases.line_form, name="line_edit"),
    path("cases/<str:code>/lines/<int:number>/delete/", cases.line_delete, name="line_delete"),
    path("cases/<str:code>/overrides/", cases.override_set, name="override_set"),
    path("cases/<str:code>/overrides/<str:fact>/delete/", cases.override_clear, name="override_clear"),
    path("cases/<str:code>/review/<int:pk>/dismiss/", cases.review_dismiss, name="review_dismiss"),
    path("decisions/<int:pk>/status/", cases.decision_status, name="decision_status"),
    path("decisions/<int:pk>/follow-up/", outcomes.follow_up, name="follow_up"),
    path("outcomes/", outcomes.outcomes_page, name="outcomes"),
    path("meetings/", meetings.meeting_list, name="meeting_list"),
    path("meetings/new/", meetings.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/attendees/", meetings.attendee_add, name="attendee_add"),
    path("meetings/<int:pk>/agenda/", meetings.agenda_add, name="agenda_add"),
    path("meetings/<int:pk>/agenda/flagged/", meetings.agenda_add_flagged, name="agenda_add_flagged"),
    path("meetings/<int:pk>/agenda/<int:item_pk>/move/", meetings.agenda_move, name="agenda_move"),
    path("meetings/<int:pk>/cases/<int:item_pk>/", meetings.meeting_case, name="meeting_case"),
    path("meetings/<int:pk>/cases/<int:item_pk>/decision/", meetings.decision_create, name="decision_create"),
    path("meetings/<int:pk>/minutes/", minutes.minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.pdf", minutes.minutes_pdf, name="minutes_pdf"),
]
