from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from regimens.models import Regimen, Result, Source, Trial


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    counts = {
        "regimens": Regimen.objects.count(),
        "trials": Trial.objects.count(),
        "results": Result.objects.count(),
        "sources": Source.objects.count(),
    }
    return render(request, "home.html", {"counts": counts})
