"""/accounts/: log-in, log-out, two-factor set-up and use, single sign-on.

Only the parts of django-allauth that mmboard uses are routed: no self sign-up,
no e-mail management, no password reset by e-mail (administrators reset passwords).
"""

from allauth.account import views as allauth_views
from allauth.socialaccount import views as social_views
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from accounts import sso, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The same two, under the names django-allauth's pages and flows use.
    path("login/", views.LoginView.as_view(), name="account_login"),
    path("logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    path("inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path("2fa/", include("allauth.mfa.urls")),
    path("oidc/<str:provider_id>/login/", sso.oidc_login, name="openid_connect_login"),
    path("oidc/<str:provider_id>/login/callback/", sso.oidc_callback, name="openid_connect_callback"),
    path("sso/cancelled/", social_views.login_cancelled, name="socialaccount_login_cancelled"),
    # Shown to someone the provider did not sign in: public, like the log-in page.
    path("sso/error/", login_not_required(social_views.login_error), name="socialaccount_login_error"),
    path("sso/signup/", social_views.signup, name="socialaccount_signup"),
]
