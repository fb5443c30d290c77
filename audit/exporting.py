"""One shape for the access log outside the database: the admin's CSV and `manage.py access_log`."""

from collections.abc import Iterable, Iterator

from audit.models import AccessRecord

FIELDS = ["at", "username", "kind", "case_code", "meeting_id", "path", "ip_address", "api_token"]


def rows(records: Iterable[AccessRecord]) -> Iterator[dict]:
    for record in records:
        yield {
            "at": record.at.isoformat(),
            "username": record.username,
            "kind": record.kind,
            "case_code": record.case_code,
            "meeting_id": record.meeting_id,
            "path": record.path,
            "ip_address": record.ip_address,
            "api_token": record.api_token,
        }
