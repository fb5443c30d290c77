"""After a curator publishes a version, the cases whose options changed carry a review flag until the board
records a new decision or dismisses the flag with a reason.

The draft here takes teclistamab out of every setting: in the demo that changes MM-DEMO-004 and
MM-DEMO-009 (both decided: teclistamab) and MM-DEMO-005 (offered it), none on the upcoming agenda.
"""

import copy
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from algorithm import impact
from algorithm.versions import load_draft
from cases.models import AgendaItem, Case, Decision, Meeting, ReviewFlag, ReviewFlagStatus
from regimens.models import AlgorithmStatus, AlgorithmVersion, ImpactRun

pytestmark = pytest.mark.django_db

FLAGGED = {"MM-DEMO-004", "MM-DEMO-005", "MM-DEMO-009"}
FLAG_TEXT = "Review: algorithm 2026.2 changed this case's options"


@pytest.fixture
def draft(knowledge_base):
    # The demo board's own nine cases (the outcomes history's synthetic patients are left out).
    call_command("load_demo", history=False, stdout=io.StringIO())
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    for setting in data["settings"]:
        setting["options"] = [o for o in setting["options"] if o["regimen"] != "TECLISTAMAB"]
    return load_draft(data, "2026.2", "Teclistamab leaves every setting (test).")


@pytest.fixture
def published(draft, curator):
    run = impact.execute(
        impact.create_run(draft, AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED))
    )
    impact.publish_reviewed(run, curator)
    return draft


def test_publishing_in_the_admin_shows_the_impact_then_flags_exactly_the_changed_cases(
    curator_client, draft, task_worker
):
    url = reverse("admin:regimens_algorithmversion_publish", args=[draft.pk])
    action = curator_client.post(
        reverse("admin:regimens_algorithmversion_changelist"),
        {"action": "publish_draft", "_selected_action": [draft.pk]},
    )
    waiting = curator_client.get(url).content.decode()
    task_worker()
    confirm = curator_client.get(url).content.decode()
    run = ImpactRun.objects.get(draft=draft)
    done = curator_client.post(url, {"publish": "yes", "run": run.pk}, follow=True).content.decode()

    assert action.status_code == 302 and action.headers["Location"] == url
    assert "Waiting for the task worker" in waiting and "Yes, publish" not in waiting
    assert "3 of 7 cases in care change" in confirm
    assert "Publish 2026.2 and flag 3 cases for review?" in confirm
    assert (
        "Published 2026.2; the previous version is retired. 3 cases in care are flagged for review." in done
    )
    draft.refresh_from_db()
    assert draft.status == AlgorithmStatus.PUBLISHED
    flags = ReviewFlag.objects.select_related("case")
    assert {f.case.code for f in flags} == FLAGGED
    assert all(f.is_open and f.raised_by.username == "curator" for f in flags)
    assert flags.get(case__code="MM-DEMO-004").changes == [
        {
            "option": "TECLISTAMAB",
            "before": "alternative",
            "after": None,
            "kind": "chosen_withdrawn",
            "label": "Tec",
        }
    ]


def test_publishing_refuses_an_impact_that_is_out_of_date(curator_client, draft):
    run = impact.execute(
        impact.create_run(draft, AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED))
    )
    case = Case.objects.get(code="MM-DEMO-005")
    case.ecog = 2
    case.save()  # a case changed after the impact was computed

    page = curator_client.post(
        reverse("admin:regimens_algorithmversion_publish", args=[draft.pk]),
        {"publish": "yes", "run": run.pk},
        follow=True,
    ).content.decode()

    assert "2026.2 was not published: The draft or the cases changed since the impact was computed" in page
    assert "is out of date" in page
    draft.refresh_from_db()
    assert draft.status == AlgorithmStatus.DRAFT
    assert not ReviewFlag.objects.exists()


def test_the_case_page_shows_the_flag_and_the_board_dismisses_it_with_a_reason(board_client, published):
    url = reverse("cases:case_detail", args=["MM-DEMO-004"])
    flag = ReviewFlag.objects.get(case__code="MM-DEMO-004")
    dismiss = reverse("cases:review_dismiss", args=["MM-DEMO-004", flag.pk])

    page = board_client.get(url).content.decode()
    without_reason = board_client.post(dismiss, {"reason": " "}, follow=True).content.decode()
    still_open = ReviewFlag.objects.get(pk=flag.pk).status
    board_client.post(dismiss, {"reason": "SVd already started; the board keeps it."})
    after = board_client.get(url).content.decode()

    assert FLAG_TEXT in page
    assert "Tec: alternative → not listed" in page
    assert "Dismiss the review" in page
    assert "Give a reason to dismiss the review" in without_reason
    assert still_open == ReviewFlagStatus.OPEN
    flag.refresh_from_db()
    assert flag.status == ReviewFlagStatus.DISMISSED
    assert flag.closed_by.username == "board"
    assert FLAG_TEXT not in after
    assert "Reviews after algorithm changes" in after
    assert "dismissed by board on" in after and "SVd already started; the board keeps it." in after
    assert flag.history.count() == 2  # raised, dismissed: kept


def test_a_new_decision_clears_the_flag(published, board_member):
    case = Case.objects.get(code="MM-DEMO-005")

    decision = Decision.objects.create(
        case=case, option_key="PVD", option_label="PVd", category="preferred", rationale="After 2026.2.",
        snapshot={}, recorded_by=board_member,
    )  # fmt: skip

    flag = ReviewFlag.objects.get(case=case)
    assert flag.status == ReviewFlagStatus.CLEARED
    assert flag.decision == decision
    assert ReviewFlag.objects.get(case__code="MM-DEMO-004").status == ReviewFlagStatus.OPEN


def test_home_lists_the_flagged_cases_to_the_board_not_to_curators(board_client, curator, published):
    board = board_client.get(reverse("home")).content.decode()
    board_client.force_login(curator)
    curators = board_client.get(reverse("home")).content.decode()

    assert "To review after an algorithm change" in board
    assert all(f'href="/cases/{code}/"' in board for code in FLAGGED)
    assert "MM-DEMO-004" not in curators


def test_the_agenda_form_adds_the_flagged_cases_to_the_next_meeting_in_one_click(editor_client, published):
    meeting = Meeting.objects.get(title__contains="upcoming")
    url = reverse("cases:meeting_detail", args=[meeting.pk])

    before = editor_client.get(url).content.decode()
    editor_client.post(reverse("cases:agenda_add_flagged", args=[meeting.pk]))
    after = editor_client.get(url).content.decode()
    home = editor_client.get(reverse("home")).content.decode()

    # None of the flagged cases is on this agenda yet; MM-DEMO-003 (on it) is not flagged.
    assert "3 cases flagged for review after an algorithm change" in before
    assert "Add MM-DEMO-004" in before and "Add MM-DEMO-003" not in before
    item = AgendaItem.objects.get(meeting=meeting, case__code="MM-DEMO-004")
    assert item.question == "Review: algorithm 2026.2 changed this case's options"
    assert item.position > 4  # after the four cases already there
    assert "flagged for review after an algorithm change" not in after
    assert "Add the flagged cases to the next meeting" not in home  # nothing left to add


def test_the_case_page_adds_its_case_to_the_next_meeting(editor_client, published):
    meeting = Meeting.objects.get(title__contains="upcoming")
    page = editor_client.get(reverse("cases:case_detail", args=["MM-DEMO-004"])).content.decode()

    response = editor_client.post(
        reverse("cases:agenda_add_flagged", args=[meeting.pk]),
        {"case": "MM-DEMO-004", "next": "/cases/MM-DEMO-004/#review"},
    )

    assert "Add to the next meeting" in page
    assert response.headers["Location"] == "/cases/MM-DEMO-004/#review"
    assert AgendaItem.objects.filter(meeting=meeting, case__code="MM-DEMO-004").exists()
    assert (
        not AgendaItem.objects.filter(meeting=meeting, case__code="MM-DEMO-003")
        .exclude(position__lte=4)
        .exists()
    )
