"""The board's home: the next meeting, follow-ups due and the latest decisions, by role."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import AgendaItem, Decision, Meeting
from tests.integration.factories import make_case

pytestmark = pytest.mark.django_db


def decide(case, board_member, meeting=None, **fields):
    values = {
        "option_key": "SVD",
        "option_label": "SVd",
        "category": "preferred",
        "rationale": "r",
        "snapshot": {},
    }
    return Decision.objects.create(case=case, meeting=meeting, recorded_by=board_member, **values | fields)


@pytest.fixture
def board_week(board_member):
    now = timezone.now()
    past = Meeting.objects.create(date=now - timedelta(days=28), title="Last month's board")
    upcoming = Meeting.objects.create(date=now + timedelta(days=6), title="Next week's board")
    Meeting.objects.create(date=now + timedelta(days=34), title="Board after that")
    for n in range(3):
        AgendaItem.objects.create(meeting=upcoming, case=make_case(code=f"MM-H-00{n}"), position=n)
    decide(make_case(code="MM-H-010"), board_member, past, follow_up=timezone.localdate() - timedelta(days=2))
    decide(
        make_case(code="MM-H-011"), board_member, past, follow_up=timezone.localdate() + timedelta(days=60)
    )
    return upcoming


def test_home_shows_next_meeting_follow_ups_and_decisions_to_a_board_member(board_client, board_week):
    response = board_client.get(reverse("home"))

    page = response.content.decode()
    assert "Next week&#x27;s board" in page or "Next week's board" in page
    assert "3 cases on the agenda" in page
    assert "Board after that" not in page
    follow_ups = response.context["follow_ups"]
    assert [d.case.code for d in follow_ups] == ["MM-H-010"]  # the one due in two weeks; the other is later
    assert "overdue" in page
    assert [d.case.code for d in response.context["recent_decisions"]] == ["MM-H-011", "MM-H-010"]


def test_home_shows_no_case_data_to_a_curator(curator_client, board_week):
    page = curator_client.get(reverse("home")).content.decode()

    assert "MM-H-010" not in page
    assert "Next meeting" not in page
    assert "regimens" in page


def test_home_query_count_does_not_grow_with_decisions(board_client, board_member, board_week):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert board_client.get(reverse("home")).status_code == 200
        return len(captured)

    before = queries()
    for n in range(10):
        decide(make_case(code=f"MM-H-1{n:02d}"), board_member, follow_up=timezone.localdate())
    assert queries() == before
