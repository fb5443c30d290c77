from django.urls import path

from algorithm import views

# No namespace: "algorithm" is the wizard's URL name in templates, links and tests.
urlpatterns = [
    path("algorithm/", views.wizard, name="algorithm"),
]
