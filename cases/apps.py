from django.apps import AppConfig
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases import derivation


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases and meetings")

    def ready(self) -> None:
        from cases import signals

        signals.connect()
        # The derivation imports no Django: it says its reasons in the active language through this hook.
        derivation.translate = gettext
