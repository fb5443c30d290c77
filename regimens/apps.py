from django.apps import AppConfig


class RegimensConfig(AppConfig):
    name = "regimens"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from regimens import signals

        signals.connect()
