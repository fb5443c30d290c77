"""The KarMMa-3 comparison in a real browser, on the shipped knowledge base:
drawn under the CSP, hover with value and source, HTMX selectors and the URL."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3"


@pytest.fixture
def compare_page(logged_in_page, live_server, knowledge_base):
    page = logged_in_page
    page.goto(f"{live_server.url}{URL}")
    return page


def test_compare_draws_both_arms_in_svg(compare_page):
    page = compare_page

    pfs = page.locator("#chart-pfs")
    expect(pfs.locator("svg.main-svg").first).to_be_visible()
    labels = pfs.locator(".ytick text").all_text_contents()
    assert any("ide-cel" in t.lower() for t in labels), labels
    assert any("SR" in t for t in labels), labels
    expect(page.get_by_text("Within-trial comparison (randomised)")).to_be_visible()
    expect(page.locator("#chart-response svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-hr svg.main-svg").first).to_be_visible()


def test_compare_hover_shows_value_and_source(compare_page):
    page = compare_page

    page.select_option("#compare-analysis", "interim")
    expect(page).to_have_url(re.compile("analysis=interim"))
    point = page.locator("#chart-pfs .scatterlayer .points path").first
    expect(point).to_be_visible()
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    hover = page.locator("#chart-pfs .hoverlayer .hovertext")
    expect(hover).to_contain_text("13.3 months")
    expect(hover).to_contain_text("Rodriguez-Ot")


def test_compare_population_switch_swaps_charts_and_url(compare_page):
    page = compare_page

    page.get_by_label("Population").select_option("2 prior lines")

    expect(page).to_have_url(re.compile("population=2"))
    caption = page.locator("#chart-pfs figcaption")
    expect(caption).to_contain_text("16.2 months")
    expect(caption).to_contain_text("4.8 months")
    expect(page.locator("#chart-pfs svg.main-svg").first).to_be_visible()


def test_compare_analysis_switch_survives_reload(compare_page):
    page = compare_page

    page.get_by_label("Analysis").select_option("final")

    expect(page.locator("#chart-pfs figcaption")).to_contain_text("13.8 months")
    page.reload()  # the pushed URL is a plain GET
    expect(page.locator("#chart-pfs figcaption")).to_contain_text("13.8 months")
