"""The access log: who viewed which case or meeting, append-only, for administrators only."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AccessRecord, Kind
from cases.models import AgendaItem, Meeting
from tests.integration.factories import make_case, vrd_asct_r

pytestmark = pytest.mark.django_db


def access_log(*args: str) -> str:
    out = io.StringIO()
    call_command("access_log", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_case(drugs):
    case = make_case(code="MM-DEMO-004")
    vrd_asct_r(case)
    return case


@pytest.fixture
def meeting(demo_case):
    meeting = Meeting.objects.create(date=timezone.now() + timedelta(days=3), title="Board")
    item = AgendaItem.objects.create(meeting=meeting, case=demo_case, position=1)
    return meeting, item


def test_access_log_case_view_is_listed_by_the_command_a_moment_later(board_client, board_member, demo_case):
    assert board_client.get("/cases/MM-DEMO-004/").status_code == 200

    records = json.loads(access_log("--case", "MM-DEMO-004", "--format", "json"))

    assert len(records) == 1
    record = records[0]
    assert record["username"] == board_member.username
    assert record["kind"] == "case"
    assert record["case_code"] == "MM-DEMO-004"
    assert record["path"] == "/cases/MM-DEMO-004/"
    assert record["ip_address"] == "127.0.0.1"
    assert timezone.now() - timezone.datetime.fromisoformat(record["at"]) < timedelta(minutes=1)


def test_access_log_meeting_walk_through_and_minutes_are_recorded(board_client, meeting, algorithm):
    meeting, item = meeting
    for url in [
        f"/meetings/{meeting.pk}/",
        f"/meetings/{meeting.pk}/cases/{item.pk}/",
        f"/meetings/{meeting.pk}/minutes/",
        f"/meetings/{meeting.pk}/minutes.pdf",
    ]:
        assert board_client.get(url).status_code == 200, url

    records = list(AccessRecord.objects.order_by("pk").values_list("kind", "meeting_id", "case_code"))
    assert records == [
        (Kind.MEETING, meeting.pk, ""),
        (Kind.MEETING_CASE, meeting.pk, "MM-DEMO-004"),
        (Kind.MINUTES, meeting.pk, ""),
        (Kind.MINUTES_PDF, meeting.pk, ""),
    ]


def test_access_log_records_no_failed_view_and_no_list(board_client, outsider_client, demo_case):
    board_client.get("/cases/")
    board_client.get("/cases/MM-NOPE-1/")  # 404
    outsider_client.get("/cases/MM-DEMO-004/")  # 403

    assert not AccessRecord.objects.exists()


def test_access_log_command_filters_by_user_and_date_and_writes_csv(board_client, case_editor, demo_case):
    editor_client = Client()
    editor_client.force_login(case_editor)
    board_client.get("/cases/MM-DEMO-004/")
    editor_client.get("/cases/MM-DEMO-004/")

    rows = list(csv.DictReader(io.StringIO(access_log("--user", "editor", "--format", "csv"))))
    assert [(row["username"], row["case_code"], row["kind"]) for row in rows] == [
        ("editor", "MM-DEMO-004", "case")
    ]
    assert json.loads(access_log("--since", str(timezone.localdate() + timedelta(days=1)))) == []
    assert len(json.loads(access_log("--since", str(timezone.localdate())))) == 2


def test_access_log_records_are_append_only(board_client, demo_case):
    board_client.get("/cases/MM-DEMO-004/")
    record = AccessRecord.objects.get()

    record.username = "someone else"
    with pytest.raises(PermissionDenied):
        record.save()
    with pytest.raises(PermissionDenied):
        record.delete()
    with pytest.raises(PermissionDenied):
        AccessRecord.objects.update(username="someone else")
    with pytest.raises(PermissionDenied):
        AccessRecord.objects.all().delete()
    assert AccessRecord.objects.get().username == "board"


def test_access_log_admin_has_no_add_change_or_delete(admin_client, board_client, demo_case):
    board_client.get("/cases/MM-DEMO-004/")
    record = AccessRecord.objects.get()

    assert admin_client.get("/admin/audit/accessrecord/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/audit/accessrecord/{record.pk}/change/", {"username": "x"}).status_code
        == 403
    )
    assert (
        admin_client.post(f"/admin/audit/accessrecord/{record.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    page = admin_client.get(f"/admin/audit/accessrecord/{record.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read-only view
    assert AccessRecord.objects.get().username == "board"


def test_access_log_admin_finds_a_case_and_exports_csv(admin_client, board_client, demo_case):
    board_client.get("/cases/MM-DEMO-004/")
    record = AccessRecord.objects.get()

    page = admin_client.get("/admin/audit/accessrecord/", {"q": "MM-DEMO-004"})
    assert page.status_code == 200 and b"MM-DEMO-004" in page.content
    assert b"MM-DEMO-004" not in admin_client.get("/admin/audit/accessrecord/", {"q": "MM-OTHER"}).content
    export = admin_client.post(
        "/admin/audit/accessrecord/", {"action": "export_csv", "_selected_action": [record.pk]}
    )
    assert export["Content-Type"].startswith("text/csv")
    assert "MM-DEMO-004" in export.content.decode()


def test_access_log_board_member_gets_403_in_the_admin(board_client, demo_case):
    response = board_client.get("/admin/audit/accessrecord/", follow=True)
    assert response.status_code == 403


def test_access_log_staff_without_the_permission_gets_403(curator_client):
    assert curator_client.get("/admin/audit/accessrecord/").status_code == 403
