"""Links to the comparison page, for every page that offers one (wizard, walk-through, regimen and trial pages)."""

from urllib.parse import urlencode

from django.urls import reverse


def compare_url(regimen_keys: list[str], trial_key: str = "") -> str:
    """The comparison of these regimens (within one trial when given); "" when there is none to draw."""
    keys = list(dict.fromkeys(regimen_keys))
    if not keys:
        return ""
    query = {"regimens": ",".join(keys), **({"trial": trial_key} if trial_key else {})}
    return f"{reverse('compare')}?{urlencode(query, safe=',')}"
