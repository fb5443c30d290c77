"""The board in Italian, in a real browser: the wizard from step 1 to the options, the compare
page's charts, the minutes (page and PDF), the language switcher without JavaScript, and axe-core."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import Page, expect

from cases.models import Meeting
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def italian_page(browser, live_server, board_member):
    """A board member signed in through the Italian log-in form of an Italian browser."""
    context = browser.new_context(locale="it-IT")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    page.get_by_label("Nome utente").fill(board_member.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()
    assert errors == [], f"console errors: {errors}"


def test_wizard_in_italian_from_history_to_options(italian_page: Page, live_server, knowledge_base):
    page = italian_page
    page.goto(f"{live_server.url}/algorithm/")

    expect(page.get_by_role("heading", name="Passo 1: Storia e refrattarietà")).to_be_visible()
    page.get_by_label("Stato rispetto alla lenalidomide").select_option("refractory")
    page.get_by_label("Stato rispetto all'anticorpo anti-CD38").select_option("refractory")
    page.get_by_label("Ultimo anticorpo anti-CD38 somministrato").select_option("daratumumab")
    page.get_by_label("Linee di terapia precedenti").fill("1")
    page.get_by_role("button", name="Avanti: fattori del paziente").click()

    expect(page.get_by_role("heading", name="Passo 2: Fattori del paziente")).to_be_visible()
    page.get_by_role("group", name="Candidabile a CAR-T").get_by_label("Sì").check()
    page.get_by_role("button", name="Mostra le opzioni").click()

    expect(page.get_by_role("heading", name="Passo 3: opzioni da valutare per il board")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?step=3&.*car_t_eligible=true"))
    expect(page.get_by_role("heading", name="Dove si colloca il caso")).to_be_visible()
    expect(page.get_by_text("Doppio refrattario", exact=False).first).to_be_visible()
    expect(page.get_by_role("region", name="Non raccomandate qui, e perché")).to_be_visible()
    expect(page.locator("p.version")).to_contain_text("Versione dell'algoritmo 2026.1")
    expect(page.locator("p.rationale").first).to_have_attribute("lang", "en")


def test_compare_in_italian_draws_italian_axis_titles(italian_page: Page, live_server, knowledge_base):
    page = italian_page
    page.goto(f"{live_server.url}/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3")
    page.wait_for_load_state("networkidle")

    pfs = page.locator("#chart-pfs")
    expect(pfs.locator("svg.main-svg").first).to_be_visible()
    expect(pfs.locator(".xtitle")).to_have_text("PFS mediana, mesi (con IC 95% ove riportato)")
    expect(page.locator("#chart-response .xtitle")).to_have_text(
        "pazienti con risposta, % (risposta parziale o migliore)"
    )
    expect(page.locator("#chart-hr .xtitle")).to_have_text("hazard ratio (scala logaritmica, IC 95%)")
    expect(pfs.locator(".chart-title")).to_have_text("Sopravvivenza libera da progressione mediana.")
    # numbers with the Italian decimal comma, in the figure's labels as in the table
    expect(pfs.locator("svg .textpoint").first).to_have_text(re.compile(r"^\d+,\d+$"))
    expect(pfs.locator("table.chart-data")).to_contain_text(" mesi")


def test_minutes_in_italian_page_and_pdf(italian_page: Page, live_server, knowledge_base):
    call_command("load_demo", verbosity=0)
    meeting = Meeting.objects.filter(decisions__isnull=False).distinct().first()
    page = italian_page

    page.goto(f"{live_server.url}/meetings/{meeting.pk}/minutes/")
    expect(page.get_by_role("heading", name=re.compile("^Verbale:"))).to_be_visible()
    expect(page.get_by_role("heading", name="Partecipanti")).to_be_visible()
    expect(page.locator("dt", has_text="Motivazione").first).to_be_visible()

    pdf = page.request.get(f"{live_server.url}/meetings/{meeting.pk}/minutes.pdf?lang=it")
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-language"] == "it"
    assert pdf.body().startswith(b"%PDF")


def test_language_switcher_works_without_javascript(browser, live_server, board_member, knowledge_base):
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Language").select_option("it")
        page.get_by_role("button", name="Change").click()
        expect(page.locator("html")).to_have_attribute("lang", "it")
        page.get_by_label("Nome utente").fill(board_member.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Accedi").click()
        page.goto(f"{live_server.url}/algorithm/")
        expect(page.get_by_role("heading", name="Passo 1: Storia e refrattarietà")).to_be_visible()
        page.get_by_label("Lingua").select_option("en")
        page.get_by_role("button", name="Cambia").click()
        expect(page.get_by_role("heading", name="Step 1: History and refractoriness")).to_be_visible()
    finally:
        context.close()


ITALIAN_PAGES = [
    "/",
    "/algorithm/",
    "/algorithm/?step=3&len_status=refractory&anti_cd38_status=refractory"
    "&anti_cd38_agent_last=daratumumab&prior_lines=2",
    "/compare/?regimens=ISA-KD,DKD,DPD",
    "/regimens/",
    "/trials/KARMMA-3/",
]


def test_italian_pages_have_no_serious_accessibility_violation(
    italian_page: Page, live_server, knowledge_base
):
    page = italian_page
    axe = Axe()
    found = {}
    for path in ITALIAN_PAGES:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        response = axe.run(page).response
        assert response["passes"], f"axe checked nothing on {path}"
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    assert found == {}
