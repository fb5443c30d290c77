from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from algorithm.api import router as recommendations_router
from mmboard import views
from regimens.api import api

# One API, one schema, one authentication: each app brings its router.
api.add_router("/recommendations", recommendations_router)

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    # Browsers ask for /favicon.ico on pages without an icon link (admin, PDFs).
    path("favicon.ico", views.favicon),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("algorithm.urls")),
    path("", include("compare.urls")),
    path("", include("regimens.urls")),
    path("", include("cases.urls")),
]
