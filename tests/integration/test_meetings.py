"""Meetings: agenda, walk-through, decisions with frozen snapshots, minutes (page and PDF), demo data."""

import re
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases.models import AgendaItem, Attendee, Case, Decision, Meeting, TherapyLine
from regimens.models import Endpoint, Result, Unit
from tests.integration.factories import (
    HTMX,
    ResultFactory,
    TrialArmFactory,
    TrialFactory,
    make_case,
    vrd_asct_r,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(drugs):
    meeting = Meeting.objects.create(date=timezone.now() + timedelta(days=3), title="Board")
    Attendee.objects.create(meeting=meeting, name="Haematologist A", specialty="haematology")
    Attendee.objects.create(meeting=meeting, name="Pharmacist B", specialty="pharmacy")
    for position, code in enumerate(["MM-M-001", "MM-M-002", "MM-M-003"], start=1):
        case = make_case(code=code)
        vrd_asct_r(case)
        AgendaItem.objects.create(meeting=meeting, case=case, position=position)
    return meeting


@pytest.fixture
def dpd_evidence():
    """A DPD arm with a PFS figure in the trial the fake recommendation cites."""
    from tests.integration.factories import RegimenFactory

    trial = TrialFactory(key="TRIAL-X", name="Trial-X")
    arm = TrialArmFactory(trial=trial, key="exp", regimen=RegimenFactory(key="DPD", abbreviation="DPd"))
    return ResultFactory(trial=trial, arm=arm, endpoint=Endpoint.PFS_MEDIAN, unit=Unit.MONTHS, value=12.4,
                         ci_low=8.3, ci_high=19.3)  # fmt: skip


def items(meeting):
    return list(meeting.agenda.order_by("position").values_list("case__code", flat=True))


@pytest.mark.parametrize("persona", ["outsider_client", "curator_client"])
def test_meeting_pages_forbidden_without_a_case_role(request, persona, meeting):
    client = request.getfixturevalue(persona)
    item = meeting.agenda.first()
    for url in [
        reverse("cases:meeting_list"),
        reverse("cases:meeting_detail", args=[meeting.pk]),
        reverse("cases:meeting_case", args=[meeting.pk, item.pk]),
        reverse("cases:minutes", args=[meeting.pk]),
        reverse("cases:minutes_pdf", args=[meeting.pk]),
    ]:
        assert client.get(url).status_code == 403, url
        assert client.get(url, **HTMX).status_code == 403, url


def test_meeting_detail_shows_attendees_by_specialty_and_agenda(board_client, meeting):
    html = board_client.get(reverse("cases:meeting_detail", args=[meeting.pk])).content.decode()
    assert "Haematology" in html and "Pharmacist B" in html
    assert html.index("MM-M-001") < html.index("MM-M-002") < html.index("MM-M-003")
    assert "agenda-move" not in html  # board members do not reorder


def test_agenda_move_htmx_returns_agenda_partial(editor_client, meeting):
    third = meeting.agenda.get(case__code="MM-M-003")
    url = reverse("cases:agenda_move", args=[meeting.pk, third.pk])
    response = editor_client.post(url, {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    assert '<section id="agenda"' in response.content.decode()
    assert items(meeting) == ["MM-M-001", "MM-M-003", "MM-M-002"]
    editor_client.post(url, {"direction": "up"})
    editor_client.post(url, {"direction": "up"})  # already first: no change
    assert items(meeting) == ["MM-M-003", "MM-M-001", "MM-M-002"]


def test_agenda_move_forbidden_for_board_member(board_client, meeting):
    item = meeting.agenda.last()
    response = board_client.post(
        reverse("cases:agenda_move", args=[meeting.pk, item.pk]), {"direction": "up"}
    )
    assert response.status_code == 403


def test_walk_shows_options_evidence_and_exclusions(board_client, meeting, dpd_evidence, algorithm):
    item = meeting.agenda.first()
    html = board_client.get(reverse("cases:meeting_case", args=[meeting.pk, item.pk])).content.decode()
    assert "DPd" in html and "synthetic rationale" in html
    assert "12.4 months" in html
    assert "lenalidomide-refractory" in html
    assert "Record decision" in html


def test_walk_without_a_published_algorithm_still_offers_a_decision(board_client, meeting):
    # No algorithm version is loaded in this test database.
    item = meeting.agenda.first()
    response = board_client.get(reverse("cases:meeting_case", args=[meeting.pk, item.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No algorithm version is published yet" in html
    assert "Record decision" in html


def test_decision_snapshot_is_frozen_against_later_knowledge_base_changes(
    board_client,
    board_member,
    meeting,
    dpd_evidence,
    algorithm,
):
    item = meeting.agenda.first()
    url = reverse("cases:decision_create", args=[meeting.pk, item.pk])
    response = board_client.post(url, {"option": "DPD", "rationale": "Switch classes", "status": "planned",
                                       "follow_up": "2026-12-01"}, **HTMX)  # fmt: skip
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse(
        "cases:meeting_case", args=[meeting.pk, meeting.agenda.all()[1].pk]
    )
    decision = Decision.objects.get()
    assert (decision.option_label, decision.category, decision.algorithm_version) == (
        "DPd",
        "preferred",
        "fake-1",
    )
    assert decision.recorded_by == board_member
    snap = decision.snapshot
    assert snap["facts"]["len_status"]["value"] == "refractory"
    assert snap["recommendation"]["options"][0]["key"] == "DPD"
    assert _shown(snap, "DPD")["headlines"][0]["pfs"][0]["value"] == "12.4 months"

    # The knowledge base changes, the case changes: the record does not.
    dpd_evidence.value, dpd_evidence.ci_high = 99.0, 120.0
    dpd_evidence.save()
    TherapyLine.objects.filter(case=item.case).update(
        outcome="completed", progression=None, best_response="CR"
    )
    decision.refresh_from_db()
    assert decision.snapshot == snap
    html = board_client.get(item.case.get_absolute_url()).content.decode()
    assert "12.4 months" in html and "99 months" not in html
    minutes = board_client.get(reverse("cases:minutes", args=[meeting.pk])).content.decode()
    assert "lenalidomide refractory" in minutes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"option": "", "rationale": "x", "status": "planned"}, "This field is required"),
        ({"option": "OTHER", "rationale": "x", "status": "planned"}, "Describe the decision"),
        ({"option": "DPD", "rationale": "x", "status": "not_started"}, "Say why"),
        ({"option": "NOPE", "rationale": "x", "status": "planned"}, "Select a valid choice"),
    ],
)
def test_decision_invalid_rerenders_form_with_200(board_client, meeting, data, message, algorithm):
    item = meeting.agenda.first()
    response = board_client.post(reverse("cases:decision_create", args=[meeting.pk, item.pk]), data, **HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Decision.objects.exists()


def test_decision_forbidden_for_case_editor(editor_client, meeting):
    item = meeting.agenda.first()
    url = reverse("cases:decision_create", args=[meeting.pk, item.pk])
    assert (
        editor_client.post(url, {"option": "DPD", "rationale": "x", "status": "planned"}).status_code == 403
    )


def test_minutes_pdf_is_a_pdf(board_client, board_member, meeting):
    item = meeting.agenda.first()
    Decision.objects.create(case=item.case, meeting=meeting, option_key="DPD", option_label="DPd",
                            rationale="Switch classes", snapshot={}, recorded_by=board_member)  # fmt: skip
    response = board_client.get(reverse("cases:minutes_pdf", args=[meeting.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    page = board_client.get(reverse("cases:minutes", args=[meeting.pk])).content.decode()
    assert "Switch classes" in page and "Pharmacist B" in page


def test_meeting_view_query_count(board_client, meeting, django_assert_max_num_queries):
    for i in range(20):
        case = make_case(code=f"MM-MQ-{i:03d}")
        AgendaItem.objects.create(meeting=meeting, case=case, position=10 + i)
    with django_assert_max_num_queries(9):  # + the access record (audit/)
        response = board_client.get(reverse("cases:meeting_detail", args=[meeting.pk]))
    assert "MM-MQ-019" in response.content.decode()


def test_walk_query_count(board_client, meeting, dpd_evidence, django_assert_max_num_queries, algorithm):
    item = meeting.agenda.first()
    with django_assert_max_num_queries(21):  # the presenter's lookups (as the wizard's) + the access record
        response = board_client.get(reverse("cases:meeting_case", args=[meeting.pk, item.pk]))
    assert response.status_code == 200


def test_load_demo_is_idempotent_and_synthetic(knowledge_base):
    from cases.management.commands.load_demo import PAST_TITLE

    call_command("load_demo", verbosity=0)
    counts = (
        Case.objects.count(),
        Meeting.objects.count(),
        Decision.objects.count(),
        TherapyLine.objects.count(),
    )
    call_command("load_demo", verbosity=0)
    assert (Case.objects.count(), Meeting.objects.count(), Decision.objects.count(),
            TherapyLine.objects.count()) == counts  # fmt: skip
    assert counts[0] >= 8
    assert all(code.startswith("MM-DEMO-") for code in Case.objects.values_list("code", flat=True))
    past = Meeting.objects.get(title=PAST_TITLE)  # the others before it are the outcomes history
    assert past.decisions.count() >= 3
    assert Meeting.objects.filter(date__gte=timezone.now()).get().agenda.count() >= 3
    assert date.today()  # the demo dates are relative to today


def test_demo_case_facts_are_valid_engine_input(knowledge_base):
    """Contract with the algorithm: every derived fact of every demo case is accepted by CaseFacts."""
    from algorithm.engine.facts import CaseFacts
    from cases import derivation, services

    call_command("load_demo", verbosity=0)
    for case in Case.objects.for_detail():
        engine = derivation.engine_facts(services.case_facts(case))
        CaseFacts.from_dict(engine)  # raises FactsError on a bad key or value


def test_decision_status_update_requires_reason_for_not_started(board_client, board_member, meeting):
    item = meeting.agenda.first()
    decision = Decision.objects.create(case=item.case, meeting=meeting, option_key="DPD", option_label="DPd",
                                       rationale="x", snapshot={"frozen": True}, recorded_by=board_member)  # fmt: skip
    url = reverse("cases:decision_status", args=[decision.pk])
    board_client.post(url, {"status": "not_started", "deviation_reason": ""})
    decision.refresh_from_db()
    assert decision.status == "planned"
    response = board_client.post(url, {"status": "not_started", "deviation_reason": "access"})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.status, decision.deviation_reason, decision.snapshot) == (
        "not_started",
        "access",
        {"frozen": True},
    )
    assert decision.history.count() == 2


def _shown(snapshot: dict, key: str) -> dict:
    """The option row the board saw, as the snapshot froze it."""
    return next(o for g in snapshot["presented"]["groups"] for o in g["options"] if o["key"] == key)


def test_walk_and_decision_with_the_real_algorithm(board_client, knowledge_base):
    """Double refractory after D-Rd: SVd among the options, anti-CD38 retreatment excluded, frozen in the decision."""
    call_command("load_demo", verbosity=0)
    meeting = Meeting.objects.filter(date__gte=timezone.now()).get()
    item = meeting.agenda.get(case__code="MM-DEMO-003")
    html = board_client.get(reverse("cases:meeting_case", args=[meeting.pk, item.pk])).content.decode()
    assert "SVd" in html
    assert "anti-CD38 antibody again" in html

    url = reverse("cases:decision_create", args=[meeting.pk, item.pk])
    response = board_client.post(url, {"option": "SVD", "rationale": "Class switch", "status": "planned"})
    assert response.status_code == 302
    decision = Decision.objects.get(meeting=meeting, case=item.case)
    assert decision.option_label == "SVd"
    assert decision.algorithm_version
    assert decision.snapshot["algorithm_version"] == decision.algorithm_version
    keys = [o["key"] for o in decision.snapshot["recommendation"]["options"]]
    assert "SVD" in keys
    shown = _shown(decision.snapshot, "SVD")
    assert shown["key_figure"].startswith("BOSTON: median PFS")
    Result.objects.filter(trial__key="BOSTON", endpoint="pfs_median").update(value=99.0, ci_high=None)
    decision.refresh_from_db()
    assert _shown(decision.snapshot, "SVD") == shown


FIGURES = re.compile(r'<span class="key-figure">(.*?)</span>|<ul class="figures">(.*?)</ul>', re.S)


def test_walk_shows_no_figure_the_wizard_does_not_show_for_the_same_facts(board_client, knowledge_base):
    call_command("load_demo", verbosity=0)
    for meeting in Meeting.objects.all():
        for item in meeting.agenda.select_related("case"):
            walk = board_client.get(
                reverse("cases:meeting_case", args=[meeting.pk, item.pk])
            ).content.decode()
            wizard_link = re.search(r'href="(/algorithm/\?[^"]+)">Open in the algorithm', walk).group(1)
            response = board_client.get(wizard_link.replace("&amp;", "&"))
            assert response.status_code == 200  # the canonical URL: no redirect
            wizard = response.content.decode()
            shown = [a or b for a, b in FIGURES.findall(walk)]
            assert shown or "No matching setting" in walk, item.case.code
            for figure in shown:
                assert figure in wizard, (item.case.code, figure)


def test_run_the_algorithm_from_a_case_answers_the_options_directly(board_client, knowledge_base):
    call_command("load_demo", verbosity=0)
    case = Case.objects.get(code="MM-DEMO-003")
    page = board_client.get(case.get_absolute_url()).content.decode()
    link = re.search(r'<a class="button" href="([^"]+)">Run the algorithm</a>', page).group(1)

    response = board_client.get(link.replace("&amp;", "&"))

    assert response.status_code == 200
    assert "Step 3: Options for the board to weigh" in response.content.decode()
