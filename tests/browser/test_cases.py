"""A board prepares, holds and documents a meeting in the browser.

Create a case with VRd -> ASCT -> lenalidomide maintenance progressing on 10 mg,
see "lenalidomide: refractory", run the algorithm, record a decision in a
meeting, open the minutes and their PDF.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, Decision, Meeting
from regimens.roles import CASE_EDITOR

pytestmark = pytest.mark.django_db(transaction=True)


def _algorithm_page_exists() -> bool:
    try:
        resolve("/algorithm/")
    except Resolver404:
        return False
    return True


def test_case_from_history_to_minutes_pdf(logged_in_page, live_server, board_member, knowledge_base):
    page = logged_in_page
    # The presenting haematologist both prepares cases and sits on the board.
    board_member.groups.add(Group.objects.get(name=CASE_EDITOR))
    meeting = Meeting.objects.create(date=timezone.now() + timedelta(days=2), title="Browser board")

    # A new case.
    page.goto(f"{live_server.url}/cases/new/")
    page.get_by_label("Code").fill("MM-BR-001")
    page.get_by_label("Age at diagnosis").fill("61")
    page.get_by_label("Sex").select_option("M")
    page.get_by_label("Diagnosis (month)").fill("2021-01")
    page.get_by_role("button", name="Save case").click()
    page.wait_for_url(f"{live_server.url}/cases/MM-BR-001/")
    expect(page.get_by_role("heading", name="Case MM-BR-001")).to_be_visible()

    # Line 1: VRd, ASCT, lenalidomide maintenance, progression on 10 mg.
    page.get_by_role("link", name="Add a line").click()
    form = page.locator("#line-form")
    expect(form).to_be_visible()
    form.get_by_label("Other regimen").fill("VRd")
    drugs = form.locator("#id_drug_keys")
    for name in ("bortezomib", "lenalidomide", "dexamethasone"):
        drugs.get_by_label(name, exact=True).check()
    form.get_by_label(re.compile(r"^Start")).fill("2021-02")
    form.get_by_label(re.compile(r"^Last dose")).fill("2025-03")
    form.get_by_label(re.compile(r"^ASCT:?$")).check()
    form.get_by_label("ASCT month").fill("2021-07")
    form.locator("#id_maintenance_drug_keys").get_by_label("lenalidomide", exact=True).check()
    form.get_by_label("Maintenance start").fill("2021-10")
    form.get_by_label("Lenalidomide dose at progression").fill("10")
    form.get_by_label("Best response").select_option("VGPR")
    form.get_by_label("How the line ended").select_option("progression_on_therapy")
    form.get_by_label(re.compile(r"^Progression")).fill("2025-03")
    form.get_by_role("button", name="Save line").click()

    chip = page.locator(".key-facts li", has_text="Lenalidomide")
    expect(chip).to_have_text(re.compile(r"Lenalidomide status:\s*refractory"))
    expect(page.locator("#fact-len_status")).to_contain_text(
        "refractory: progressed on line 1 maintenance, lenalidomide 10 mg, 03/2025"
    )
    expect(page.locator("#timeline .chart-plot svg").first).to_be_visible()

    # Run the algorithm: the wizard opens prefilled from the case.
    run = page.get_by_role("link", name="Run the algorithm")
    href = run.get_attribute("href") or ""
    assert "/algorithm/" in href
    assert "len_status=refractory" in href
    if _algorithm_page_exists():
        run.click()
        page.wait_for_url(re.compile(r"/algorithm/"))
        page.wait_for_load_state("networkidle")
        expect(page.get_by_text("Lenalidomide-refractory", exact=False).first).to_be_visible()

    # The meeting: put the case on the agenda, walk to it, record the decision.
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    page.get_by_label("Case code").fill("MM-BR-001")
    page.get_by_role("button", name="Add to agenda").click()
    page.locator("#agenda").get_by_role("link", name="MM-BR-001").click()
    page.wait_for_url(re.compile(r"/meetings/\d+/cases/\d+/$"))
    decision_form = page.locator("#decision-form")
    choices = decision_form.get_by_label(re.compile(r"^Decision")).locator("option").all_inner_texts()
    options = [c for c in choices if c not in ("— choose —", "Other (describe)")]
    if options:
        decision_form.get_by_label(re.compile(r"^Decision")).select_option(label=options[0])
    else:
        decision_form.get_by_label(re.compile(r"^Decision")).select_option("OTHER")
        decision_form.get_by_label("Other decision").fill("Clinical trial screening")
    decision_form.get_by_label("Rationale").fill("Switch drug classes after lenalidomide refractoriness.")
    decision_form.get_by_label("Dissent").fill("None.")
    decision_form.get_by_role("button", name="Record decision").click()
    page.wait_for_url(f"{live_server.url}/meetings/{meeting.pk}/")
    expect(page.locator("#agenda")).to_contain_text("decided:")

    decision = Decision.objects.get(case=Case.objects.get(code="MM-BR-001"))
    assert decision.snapshot["facts"]["len_status"]["value"] == "refractory"

    # Minutes: the printable page, then the PDF.
    page.get_by_role("link", name="Minutes", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Minutes"))).to_be_visible()
    expect(page.locator(".minutes")).to_contain_text("Switch drug classes after lenalidomide refractoriness.")
    pdf_url = page.get_by_role("link", name="Download PDF").get_attribute("href")
    response = page.request.get(f"{live_server.url}{pdf_url}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
