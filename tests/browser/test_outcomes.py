"""A case editor records what followed a decision; the board sees the patient in the right curve.

The demo's synthetic history gives Teclistamab (Tec) a curve; MM-DEMO-009's decision
for it is still to be followed up. Recording its start, a response and a progression
adds the patient to Tec's curve: one more at risk at month 0, one more event.
"""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from cases.models import Decision
from regimens.roles import CASE_EDITOR

pytestmark = pytest.mark.django_db(transaction=True)


def _tec_row(page):
    """The Tec row of the numbers table under PFS by regimen: {column: text}."""
    table = page.locator("#km-pfs-regimen table.chart-data")
    headers = table.locator("thead th").all_inner_texts()
    cells = table.locator("tbody tr").filter(has=page.locator("th", has_text="Tec")).first
    values = cells.locator("th, td").all_inner_texts()
    return dict(zip(headers, values, strict=True))


def _tec_curve(page) -> dict:
    figure = json.loads(page.locator("#km-pfs-regimen-figure").text_content())
    return next(
        t
        for t in figure["data"]
        if t.get("meta", {}).get("kind") == "km" and t["meta"]["group"] == "TECLISTAMAB"
    )


def test_recorded_follow_up_moves_the_patient_into_the_curve(
    logged_in_page, live_server, board_member, knowledge_base
):
    call_command("load_demo", verbosity=0)
    board_member.groups.add(Group.objects.get(name=CASE_EDITOR))
    decision = Decision.objects.get(case__code="MM-DEMO-009", option_key="TECLISTAMAB")
    start = decision.decided_on + timedelta(days=4)
    page = logged_in_page

    page.goto(f"{live_server.url}/outcomes/")
    before = _tec_row(page)
    before_curve = _tec_curve(page)
    expect(page.locator("#km-pfs-regimen .chart-plot .main-svg").first).to_be_visible()  # drawn by Plotly

    page.goto(f"{live_server.url}/cases/MM-DEMO-009/")
    page.get_by_role("link", name="Record follow-up of Tec").click()
    form = page.locator("#follow-up-form")
    expect(form).to_be_visible()
    form.get_by_label("started", exact=True).check()
    form.get_by_label("Treatment start").fill(start.isoformat())
    form.get_by_label("Date of assessment 1").fill((start + timedelta(days=14)).isoformat())
    form.get_by_label("IMWG response 1").select_option("PR")
    form.get_by_label(re.compile(r"^Progression:?$")).fill((start + timedelta(days=21)).isoformat())
    form.get_by_label("Progression established by").select_option("laboratory")
    form.get_by_role("button", name="Save follow-up").click()
    page.wait_for_url(f"{live_server.url}/cases/MM-DEMO-009/")
    expect(page.locator(f"#decision-{decision.pk}")).to_contain_text("responses: PR")

    page.goto(f"{live_server.url}/outcomes/")
    after = _tec_row(page)
    assert int(after["At risk at 0 mo"]) == int(before["At risk at 0 mo"]) + 1
    assert int(after["Events"]) == int(before["Events"]) + 1
    assert int(after["Patients"]) == int(before["Patients"]) + 1
    assert _tec_curve(page)["meta"]["n"] == before_curve["meta"]["n"] + 1

    # The regimen filter swaps the section (htmx) and keeps the choice in the URL.
    page.get_by_label("Regimen decided").select_option(label="Tec")
    page.wait_for_url(re.compile(r"/outcomes/\?.*regimen=TECLISTAMAB"))
    expect(page.locator(".outcomes-summary")).to_contain_text("decisions in this selection")
    assert _tec_row(page)["At risk at 0 mo"] == after["At risk at 0 mo"]
