"""The /algorithm/ wizard in a real browser: the double-refractory path, with and without JavaScript."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _double_refractory_path(page: Page) -> None:
    expect(page.get_by_role("heading", name="Step 1: History and refractoriness")).to_be_visible()
    page.get_by_label("Lenalidomide status").select_option("refractory")
    page.get_by_label("Anti-CD38 antibody status").select_option("refractory")
    page.get_by_label("Anti-CD38 antibody given last").select_option("daratumumab")
    page.get_by_label("Prior lines of therapy").fill("1")
    page.get_by_role("button", name="Next: patient factors").click()

    expect(page.get_by_role("heading", name="Step 2: Patient factors")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?step=2&len_status=refractory&"))
    page.get_by_label("Peripheral neuropathy grade (CTCAE)").select_option("1")
    page.get_by_role("group", name="Eligible for CAR-T").get_by_label("Yes").check()
    page.get_by_role("button", name="Show options").click()

    expect(page.get_by_role("heading", name="Step 3: Options for the board to weigh")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?step=3&.*car_t_eligible=true"))


def _assert_double_refractory_options(page: Page) -> None:
    expect(page.get_by_text("Double refractory", exact=False).first).to_be_visible()
    option = page.locator("#option-SVD")
    expect(option.locator(":scope > summary")).to_contain_text("BOSTON: median PFS")  # the key figure, closed
    option.locator(":scope > summary").click()  # details open in place
    expect(option.get_by_role("link", name="SVd", exact=True)).to_be_visible()
    not_recommended = page.get_by_role("region", name="Not recommended here, and why")
    expect(not_recommended).to_contain_text("anti-CD38-refractory")
    expect(not_recommended).to_contain_text("retreatment")
    expect(page.locator("p.version")).to_contain_text("Algorithm version 2026.1")


def test_wizard_double_refractory_path_with_htmx(logged_in_page, live_server, knowledge_base):
    page = logged_in_page
    page.goto(f"{live_server.url}/algorithm/")
    page.evaluate("window.__marker = 'same document'")

    _double_refractory_path(page)

    _assert_double_refractory_options(page)
    # HTMX swapped the step partials: still the same document
    assert page.evaluate("window.__marker") == "same document"
    # back goes to step 2 as its URL has it (the step-1 facts), forward returns to the options
    page.go_back()
    expect(page.get_by_role("heading", name="Step 2: Patient factors")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?step=2&len_status=refractory&"))
    page.go_forward()
    expect(page.locator("#option-SVD")).to_be_visible()
    # reload keeps the state (it is in the URL)
    page.reload()
    _assert_double_refractory_options(page)


def test_wizard_future_toggle_and_error_swap(logged_in_page, live_server, knowledge_base):
    page = logged_in_page
    page.goto(f"{live_server.url}/algorithm/?step=3&len_status=refractory&anti_cd38_status=refractory"
              "&anti_cd38_agent_last=daratumumab&prior_lines=1")  # fmt: skip
    page.get_by_role("link", name=re.compile(r"Show \d+ future option")).click()
    expect(page).to_have_url(re.compile("future=1"))
    expect(page.get_by_role("heading", name=re.compile("^Future"))).to_be_visible()

    page.get_by_text("Facts entered").click()
    page.get_by_role("link", name="Change the history").click()
    page.get_by_label("Prior lines of therapy").fill("0")
    page.get_by_role("button", name="Next: patient factors").click()
    expect(page.get_by_role("alert").filter(has_text="whole number from 1 to 30")).to_be_visible()


def test_wizard_double_refractory_path_without_javascript(browser, live_server, board_member, knowledge_base):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(board_member.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/algorithm/")

        _double_refractory_path(page)

        _assert_double_refractory_options(page)
    finally:
        context.close()
