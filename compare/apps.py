from django.apps import AppConfig


class CompareConfig(AppConfig):
    """Evidence comparisons: pure Plotly figure builders, the /compare/ page, links to it (no models)."""

    name = "compare"
    verbose_name = "Comparisons"
