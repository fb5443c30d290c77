from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mmboard import views
from regimens import compare, wizard
from regimens.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages without an icon link (admin, PDFs).
    path("favicon.ico", views.favicon),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("compare/", compare.compare, name="compare"),
    path("algorithm/", wizard.wizard, name="algorithm"),
    path("api/v1/", api.urls),
    path("", include("regimens.urls")),
    path("", include("cases.urls")),
]
