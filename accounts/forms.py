from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class LocalLoginForm(AuthenticationForm):
    """Django's username + password form (django-axes throttles it), honouring LOCAL_LOGIN."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if settings.LOCAL_LOGIN == "staff" and not user.is_staff:
            raise ValidationError(
                _("This account signs in through the hospital: use the button below."), code="sso_only"
            )
