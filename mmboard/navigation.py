"""The main menu: one list, each entry shown only to users who may open it."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# (label, URL name, permission needed or None, path prefix that marks the entry current)
MENU = [
    (pgettext_lazy("menu", "Board"), "home", None, None),
    (_("Cases"), "cases:case_list", "cases.view_case", "/cases/"),
    (_("Meetings"), "cases:meeting_list", "cases.view_meeting", "/meetings/"),
    (_("Outcomes"), "cases:outcomes", "cases.view_outcome", "/outcomes/"),
    (_("Algorithm"), "algorithm", "regimens.view_algorithmversion", "/algorithm/"),
    (pgettext_lazy("menu", "Compare"), "compare", "regimens.view_result", "/compare/"),
    (_("Regimens"), "regimens:regimen_list", "regimens.view_regimen", "/regimens/"),
    (_("Trials"), "regimens:trial_list", "regimens.view_trial", "/trials/"),
]


def main_menu(request):
    """Context processor: `main_menu` is a list of {label, url, current}."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"main_menu": []}
    entries = []
    for label, url_name, permission, prefix in MENU:
        if permission and not user.has_perm(permission):
            continue
        url = reverse(url_name)
        current = request.path == url if prefix is None else request.path.startswith(prefix)
        entries.append({"label": label, "url": url, "current": current})
    return {"main_menu": entries}
