"""The main menu: one list, each entry shown only to users who may open it."""

from django.urls import reverse

# (label, URL name, permission needed or None, path prefix that marks the entry current)
MENU = [
    ("Board", "home", None, None),
    ("Cases", "cases:case_list", "cases.view_case", "/cases/"),
    ("Meetings", "cases:meeting_list", "cases.view_meeting", "/meetings/"),
    ("Outcomes", "cases:outcomes", "cases.view_outcome", "/outcomes/"),
    ("Algorithm", "algorithm", "regimens.view_algorithmversion", "/algorithm/"),
    ("Compare", "compare", "regimens.view_result", "/compare/"),
    ("Regimens", "regimens:regimen_list", "regimens.view_regimen", "/regimens/"),
    ("Trials", "regimens:trial_list", "regimens.view_trial", "/trials/"),
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
