from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_create, name="case_create"),
    path("cases/<str:code>/", views.case_detail, name="case_detail"),
    path("cases/<str:code>/edit/", views.case_edit, name="case_edit"),
    path("cases/<str:code>/lines/new/", views.line_form, name="line_create"),
    path("cases/<str:code>/lines/<int:number>/edit/", views.line_form, name="line_edit"),
    path("cases/<str:code>/lines/<int:number>/delete/", views.line_delete, name="line_delete"),
    path("cases/<str:code>/overrides/", views.override_set, name="override_set"),
    path("cases/<str:code>/overrides/<str:fact>/delete/", views.override_clear, name="override_clear"),
    path("decisions/<int:pk>/status/", views.decision_status, name="decision_status"),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/new/", views.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/attendees/", views.attendee_add, name="attendee_add"),
    path("meetings/<int:pk>/agenda/", views.agenda_add, name="agenda_add"),
    path("meetings/<int:pk>/agenda/<int:item_pk>/move/", views.agenda_move, name="agenda_move"),
    path("meetings/<int:pk>/cases/<int:item_pk>/", views.meeting_case, name="meeting_case"),
    path("meetings/<int:pk>/cases/<int:item_pk>/decision/", views.decision_create, name="decision_create"),
    path("meetings/<int:pk>/minutes/", views.minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.pdf", views.minutes_pdf, name="minutes_pdf"),
]
