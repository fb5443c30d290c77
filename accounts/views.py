"""The log-in page: the local form (username, password, then the second factor) and the
"Sign in with <hospital>" button when single sign-on is configured."""

from allauth.account.internal.flows.login import perform_password_login
from allauth.account.models import Login
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator

from accounts.forms import LocalLoginForm
from accounts.sso import sso_enabled


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = LocalLoginForm
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        # The admin sends a signed-in user without staff status here: say so instead of looping.
        # Refused (403) when they came from an admin page; the admin's log-in page itself is a 200.
        admin = reverse("admin:index")
        if (
            request.method == "GET"
            and request.user.is_authenticated
            and not request.user.is_staff
            and (request.path.startswith(admin) or self.get_redirect_url().startswith(admin))
        ):
            context = self.get_context_data(not_authorized=True)
            return self.render_to_response(context, status=403 if self.get_redirect_url() else 200)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if settings.LOCAL_LOGIN == "off":
            raise PermissionDenied
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        """The password is right: allauth's login flow asks for the second factor, then signs in."""
        user = form.get_user()
        login = Login(user=user, redirect_url=self.get_success_url())
        return perform_password_login(self.request, {"username": user.get_username()}, login)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["local_login"] = settings.LOCAL_LOGIN != "off"
        if sso_enabled():
            app = settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]
            context["sso"] = {
                "name": app["name"],
                "url": reverse("openid_connect_login", kwargs={"provider_id": settings.OIDC_PROVIDER_ID}),
            }
        return context
