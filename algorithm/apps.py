from django.apps import AppConfig


class AlgorithmConfig(AppConfig):
    """The relapse algorithm: pure engine, versions, presenter, wizard, recommend CLI and API (no models)."""

    name = "algorithm"
    verbose_name = "Relapse algorithm"
