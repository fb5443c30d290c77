"""Knowledge-base pages (filled in by the pages work)."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from regimens.models import Regimen, Trial


@require_GET
def regimen_list(request: HttpRequest) -> HttpResponse:
    return render(request, "regimens/regimen_list.html", {"regimens": Regimen.objects.for_list()})


@require_GET
def regimen_detail(request: HttpRequest, key: str) -> HttpResponse:
    return render(request, "regimens/regimen_detail.html", {"regimen": get_object_or_404(Regimen.objects.for_detail(), key=key)})


@require_GET
def trial_list(request: HttpRequest) -> HttpResponse:
    return render(request, "regimens/trial_list.html", {"trials": Trial.objects.for_list()})


@require_GET
def trial_detail(request: HttpRequest, key: str) -> HttpResponse:
    return render(request, "regimens/trial_detail.html", {"trial": get_object_or_404(Trial.objects.for_detail(), key=key)})
