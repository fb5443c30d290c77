from django.urls import path

from algorithm import version_views, views

# No namespace: "algorithm" is the wizard's URL name in templates, links and tests.
urlpatterns = [
    path("algorithm/", views.wizard, name="algorithm"),
    path(
        "algorithm/versions/<str:a>/diff/<str:b>/", version_views.version_diff, name="algorithm_version_diff"
    ),
    path(
        "algorithm/versions/<str:label>/impact/",
        version_views.version_impact,
        name="algorithm_version_impact",
    ),
]
