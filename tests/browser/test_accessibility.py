"""axe-core in Chromium on the pages a board uses most: no serious or critical violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group
from django.core.management import call_command

from cases.models import Decision
from regimens.roles import CASE_EDITOR

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/",
    "/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3",  # within one randomised trial
    "/compare/?regimens=ISA-KD,DKD,DPD",  # across trials: banner and fingerprints
    "/algorithm/?step=3&len_status=refractory&anti_cd38_status=refractory"
    "&anti_cd38_agent_last=daratumumab&prior_lines=2",
    "/regimens/",
    "/trials/KARMMA-3/",
    "/trials/CANDOR/",  # results with quotes beside their sources
]


def _serious_violations(page, live_server, paths) -> dict[str, list[str]]:
    axe = Axe()  # runs axe through the DevTools protocol, which the page's CSP does not restrict
    found = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")  # charts drawn
        response = axe.run(page).response
        assert response["passes"], f"axe checked nothing on {path}"
        violations = response["violations"]
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    return found


def test_board_pages_have_no_serious_accessibility_violation(logged_in_page, live_server, knowledge_base):
    assert _serious_violations(logged_in_page, live_server, PAGES) == {}


def test_outcomes_and_follow_up_have_no_serious_accessibility_violation(
    logged_in_page, live_server, board_member, knowledge_base
):
    call_command("load_demo", verbosity=0)
    board_member.groups.add(Group.objects.get(name=CASE_EDITOR))
    decision = Decision.objects.get(case__code="MM-DEMO-009", option_key="TECLISTAMAB")
    paths = [
        "/outcomes/",
        "/outcomes/?regimen=TECLISTAMAB",
        f"/decisions/{decision.pk}/follow-up/",
        "/cases/MM-DEMO-004/",
    ]

    assert _serious_violations(logged_in_page, live_server, paths) == {}
