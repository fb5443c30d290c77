from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from accounts.views import LoginView
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
    # The header's language switcher posts here; the log-in page has it too, so it
    # answers before signing in (the include below keeps Django's other i18n URLs).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    # The admin signs in through the same page (and so the same second factor).
    path("admin/login/", LoginView.as_view()),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("algorithm.urls")),
    path("", include("compare.urls")),
    path("", include("regimens.urls")),
    path("", include("cases.urls")),
]
