from django.urls import path

from regimens import views

app_name = "regimens"
urlpatterns = [
    path("regimens/", views.regimen_list, name="regimen_list"),
    path("regimens/<str:key>/", views.regimen_detail, name="regimen_detail"),
    path("trials/", views.trial_list, name="trial_list"),
    path("trials/<str:key>/", views.trial_detail, name="trial_detail"),
]
