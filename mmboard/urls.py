from django.contrib import admin
from django.urls import include, path

from accounts.views import LoginView
from mmboard import views
from regimens import compare, wizard
from regimens.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages without an icon link (admin, PDFs).
    path("favicon.ico", views.favicon),
    path("accounts/", include("accounts.urls")),
    # The admin signs in through the same page (and so the same second factor).
    path("admin/login/", LoginView.as_view()),
    path("admin/", admin.site.urls),
    path("compare/", compare.compare, name="compare"),
    path("algorithm/", wizard.wizard, name="algorithm"),
    path("api/v1/", api.urls),
    path("", include("regimens.urls")),
    path("", include("cases.urls")),
]
