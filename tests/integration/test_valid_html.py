"""Every main page is valid HTML: the Nu Html Checker (vnu-jar, installed by bin/ensure-vnu) finds no error.

The pages are rendered with the shipped knowledge base and the demo cases and
meetings, written to a folder and checked in one run of the checker.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from cases.management.commands.load_demo import PAST_TITLE, UPCOMING_TITLE
from cases.models import Meeting
from regimens.roles import CASE_EDITOR

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = Path(os.environ.get("VNU_JAR", ROOT / ".tools/node_modules/vnu-jar/build/dist/vnu.jar"))
DOUBLE_REFRACTORY = (
    "len_status=refractory&anti_cd38_status=refractory&anti_cd38_agent_last=daratumumab&prior_lines=1"
)
PATIENT = "neuropathy_grade=1&car_t_eligible=true"


def _pages() -> dict[str, str]:
    """Name -> URL of every main page, as a board member opens them."""
    upcoming = Meeting.objects.get(title=UPCOMING_TITLE)
    past = Meeting.objects.get(title=PAST_TITLE)  # the others before it are the outcomes history
    item = upcoming.agenda.get(case__code="MM-DEMO-003")
    return {
        "home": reverse("home"),
        "wizard-step-1": reverse("algorithm"),
        "wizard-step-2": f"{reverse('algorithm')}?step=2&{DOUBLE_REFRACTORY}",
        "wizard-step-3": f"{reverse('algorithm')}?step=3&{DOUBLE_REFRACTORY}&{PATIENT}",
        "wizard-step-3-future": f"{reverse('algorithm')}?step=3&{DOUBLE_REFRACTORY}&{PATIENT}&future=1",
        "compare": f"{reverse('compare')}?regimens=IDE-CEL,STANDARD-REGIMENS",
        "regimens": reverse("regimens:regimen_list"),
        "regimen-DPD": reverse("regimens:regimen_detail", args=["DPD"]),
        "trials": reverse("regimens:trial_list"),
        "trial-KARMMA-3": reverse("regimens:trial_detail", args=["KARMMA-3"]),
        "cases": reverse("cases:case_list"),
        "case": reverse("cases:case_detail", args=["MM-DEMO-003"]),
        "case-new": reverse("cases:case_create"),
        "case-edit": reverse("cases:case_edit", args=["MM-DEMO-003"]),
        "line-new": reverse("cases:line_create", args=["MM-DEMO-003"]),
        "meetings": reverse("cases:meeting_list"),
        "meeting-new": reverse("cases:meeting_create"),
        "meeting": reverse("cases:meeting_detail", args=[upcoming.pk]),
        "walk-through": reverse("cases:meeting_case", args=[upcoming.pk, item.pk]),
        "minutes": reverse("cases:minutes", args=[past.pk]),
    }


def _check(folder: Path) -> list[dict]:
    """The checker's errors for every .html file in `folder` (one Java start for all)."""
    assert VNU_JAR.is_file(), f"the Nu Html Checker is missing at {VNU_JAR}: run bin/ensure-vnu"
    java = shutil.which("java")
    assert java, "the Nu Html Checker needs Java: run bin/ensure-vnu"
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--skip-non-html", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stderr)["messages"]


@pytest.mark.django_db
def test_main_pages_are_valid_html(client, board_member, knowledge_base, tmp_path):
    call_command("load_demo", verbosity=0)
    (tmp_path / "login.html").write_bytes(client.get(reverse("login")).content)
    board_member.groups.add(Group.objects.get(name=CASE_EDITOR))  # the forms too
    client.force_login(board_member)
    for name, url in _pages().items():
        response = client.get(url, follow=True)  # canonical URLs may redirect
        assert response.status_code == 200, url
        (tmp_path / f"{name}.html").write_bytes(response.content)

    messages = _check(tmp_path)

    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}\n    {' '.join(m.get('extract', '').split())}"
        for m in messages
    ]
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors)


def test_templates_write_htmx_attributes_in_their_valid_form():
    """`data-hx-get`, never `hx-get`: also in fragments and pages the checker above does not open."""
    bare = re.compile(r"(^|\s)hx-[a-z:-]+=")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if bare.search(line)
    ]

    assert offenders == [], "use data-hx-*; the rename is one sed line (git log --grep 'data-hx-')"
