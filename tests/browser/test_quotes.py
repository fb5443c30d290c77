"""A fact's verbatim quote beside its source link, in a real browser on the shipped knowledge base:
hidden until the link is focused (keyboard) or hovered (mouse), and the link's accessible description."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

QUOTE = "patients refractory to lenalidomide (KdD, not reached vs Kd, 38.2 months; HR, 0.69 [0.43-1.11])"


def _width(locator) -> float:
    box = locator.bounding_box()
    return box["width"] if box else 0.0


def test_quote_shows_on_keyboard_focus_and_on_hover(logged_in_page, live_server, knowledge_base):
    page = logged_in_page
    page.goto(f"{live_server.url}/trials/CANDOR/")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="38.2 months", exact=True))
    link = row.get_by_role("link")
    tip = page.locator(f"#{link.get_attribute('aria-describedby')}")
    expect(link).to_have_accessible_description(f"Quoted from the source: “{QUOTE}”")
    assert _width(tip) <= 1  # clipped until asked for

    link.focus()
    expect(tip).to_contain_text(QUOTE)
    assert _width(tip) > 100

    page.locator("h1").click()  # focus leaves the link
    assert _width(tip) <= 1
    link.hover()
    assert _width(tip) > 100
