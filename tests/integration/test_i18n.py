"""Italiano e English: the language follows Accept-Language or the header's switcher; every page
answers in both, with no English UI word left on an Italian page outside lang="en" texts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command

from cases.models import AgendaItem, Attendee, Case, Decision, Meeting, TherapyLine
from compare.charts import analysis_short
from regimens.models import Result, Trial

pytestmark = pytest.mark.django_db

IT = {"Accept-Language": "it"}
EN = {"Accept-Language": "en"}
# Words of the English interface that Italian never uses (whole words, case-sensitive).
ENGLISH_WORDS = (
    "the", "and", "with", "from", "not", "of", "for", "or", "is", "are", "yes", "none",
    "Show", "Hide", "Next", "Previous", "Back", "Edit", "Save", "Cancel", "Search", "Status", "Source",
    "Sources", "Options", "Cases", "Case", "Meetings", "Meeting", "Trials", "Trial", "Regimens",
    "Regimen", "Algorithm", "Compare", "Decision", "Decisions", "History", "Lines", "Line", "Step",
    "Minutes", "Population", "Analysis", "Value", "reported", "recorded", "known", "refractory",
    "months", "Patients", "Drug", "Cautions", "Caution", "Approvals", "Language", "Log",
)  # fmt: skip
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _VisibleText(HTMLParser):
    """The text a reader sees, less elements marked lang="en" (curated English) and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attributes = dict(attrs)
        skip = (attributes.get("lang") or "").startswith("en") or tag in {"script", "style", "template"}
        self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _skip = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def _user_texts() -> list[str]:
    """What people typed (case notes, meeting titles, rationales), in whatever language they wrote,
    and the curated names and analysis labels that charts' captions quote inside a sentence."""
    texts = list(Trial.objects.values_list("name", flat=True))
    for analysis in Result.objects.values_list("analysis", flat=True).distinct():
        texts += [analysis, analysis_short(analysis)]
    for model, fields in (
        (Case, ["notes", "car_t_notes"]),
        (TherapyLine, ["notes", "regimen_text"]),
        (Meeting, ["title", "location", "notes"]),
        (AgendaItem, ["question"]),
        (Attendee, ["name"]),
        (Decision, ["option_label", "rationale", "dissent", "patient_preference", "deviation_note"]),
    ):
        for row in model.objects.values_list(*fields):
            texts += [t for t in row if t]
    return sorted(set(texts), key=len, reverse=True)


def english_words(html: str, typed: list[str]) -> list[str]:
    text = visible_text(html)
    for typed_text in typed:
        text = text.replace(typed_text, " ")
    words = set(re.findall(r"[A-Za-z][A-Za-z-]*", text))
    return sorted(words & set(ENGLISH_WORDS))


@pytest.fixture
def demo(knowledge_base):
    call_command("load_demo", verbosity=0)


def test_algorithm_answers_in_italian_for_an_italian_browser(board_client, knowledge_base):
    response = board_client.get("/algorithm/", headers=IT)

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="it">' in html
    assert "Storia e refrattarietà" in html
    assert "Stato rispetto alla lenalidomide" in html
    assert "Linee di terapia precedenti" in html
    assert "Avanti: fattori del paziente" in html
    assert response["Content-Language"] == "it"


def test_algorithm_answers_in_english_for_an_english_browser(board_client, knowledge_base):
    response = board_client.get("/algorithm/", headers=EN)

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "History and refractoriness" in html
    assert "Lenalidomide status" in html
    assert "Storia" not in html


def test_no_accept_language_answers_in_english(board_client, knowledge_base):
    html = board_client.get("/algorithm/").content.decode()

    assert '<html lang="en">' in html
    assert "Lenalidomide status" in html


def test_switcher_keeps_the_chosen_language_over_the_browser(board_client, knowledge_base):
    response = board_client.post("/i18n/setlang/", {"language": "it", "next": "/algorithm/"}, headers=EN)

    assert response.status_code == 302
    assert response["Location"] == "/algorithm/"
    html = board_client.get("/algorithm/", headers=EN).content.decode()
    assert '<html lang="it">' in html
    assert "Storia e refrattarietà" in html


def test_switcher_works_before_signing_in(client):
    page = client.get("/accounts/login/", headers=IT).content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert "Accedi" in page

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"}, headers=IT)

    assert response.status_code == 302
    assert "Log in" in client.get("/accounts/login/", headers=IT).content.decode()


def test_options_step_in_italian_with_italian_categories_and_english_rationales(board_client, knowledge_base):
    params = {"step": "3", "len_status": "refractory", "anti_cd38_status": "naive", "prior_lines": "1"}

    html = board_client.get("/algorithm/", params, headers=IT).content.decode()

    assert "Dove si colloca il caso" in html
    assert "Refrattario alla lenalidomide, anti-CD38 naive o ancora sensibile" in html
    assert "Preferita" in html
    assert '<p class="rationale" lang="en">' in html
    # the same options step, kept once per language, answers English after Italian
    english = board_client.get("/algorithm/", params, headers=EN).content.decode()
    assert "Where the case stands" in english
    assert "Dove si colloca" not in english


def test_compare_in_italian_has_italian_axis_titles_and_decimal_commas(board_client, knowledge_base):
    url = "/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3"

    html = board_client.get(url, headers=IT).content.decode()

    assert "PFS mediana, mesi (con IC 95% ove riportato)" in html
    assert '"separators":",."' in html.replace(" ", "")
    assert re.search(r"\d+,\d+ mesi", html)
    english = board_client.get(url, headers=EN).content.decode()
    assert "median PFS, months (with 95% CI where reported)" in english
    assert '"separators":".,"' in english.replace(" ", "")


def test_compare_csv_has_italian_headers(board_client, knowledge_base):
    url = "/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3&format=csv&chart=pfs"

    body = board_client.get(url, headers=IT).content.decode()

    assert (
        body.splitlines()[0]
        == "studio,braccio,misura,valore,ic,popolazione,analisi,fonte,url_fonte,nota,citazione"
    )


def test_minutes_pdf_in_either_language(board_client, demo):
    meeting = Meeting.objects.filter(decisions__isnull=False).distinct().first()

    italian = board_client.get(f"/meetings/{meeting.pk}/minutes.pdf?lang=it", headers=EN)
    english = board_client.get(f"/meetings/{meeting.pk}/minutes.pdf?lang=en", headers=IT)

    assert italian.status_code == english.status_code == 200
    assert italian["Content-Type"] == "application/pdf"
    assert italian.content.startswith(b"%PDF")
    assert italian["Content-Language"] == "it"
    assert english["Content-Language"] == "en"
    assert italian.content != english.content
    page = board_client.get(f"/meetings/{meeting.pk}/minutes/", headers=IT).content.decode()
    assert "Verbale:" in page and "Partecipanti" in page and "Motivazione" in page


def test_main_pages_in_italian_show_no_english_ui_word(board_client, demo):
    case = Case.objects.order_by("code").first()
    meeting = Meeting.objects.filter(decisions__isnull=False).distinct().first()
    item = meeting.agenda.first()
    pages = [
        "/",
        "/algorithm/",
        "/algorithm/?step=2&len_status=refractory",
        "/algorithm/?step=3&len_status=refractory&anti_cd38_status=refractory&prior_lines=2",
        "/regimens/",
        "/regimens/DPD/",
        "/trials/",
        "/trials/KARMMA-3/",
        "/compare/?regimens=IDE-CEL,STANDARD-REGIMENS&trial=KARMMA-3",
        "/compare/?regimens=ISA-KD,DKD,DPD",
        "/cases/",
        f"/cases/{case.code}/",
        "/meetings/",
        f"/meetings/{meeting.pk}/",
        f"/meetings/{meeting.pk}/cases/{item.pk}/",
        f"/meetings/{meeting.pk}/minutes/",
        "/outcomes/",
    ]
    typed = _user_texts()
    found = {}

    for url in pages:
        response = board_client.get(url, headers=IT)
        assert response.status_code == 200, url
        words = english_words(response.content.decode(), typed)
        if words:
            found[url] = words

    assert not found, f"English words on Italian pages: {found}"
