"""Print the access log: `manage.py access_log [--case CODE] [--user NAME] [--since DATE] [--format json|csv]`.

JSON is a list of records, newest first, each with at (ISO 8601), username,
kind, case_code, meeting_id, path, ip_address and api_token.
"""

import csv
import json
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.exporting import FIELDS, rows
from audit.models import AccessRecord


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: not a date (YYYY-MM-DD) or date-time: {value!r}")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class Command(BaseCommand):
    help = "Print the access log (who viewed which case or meeting), newest first."

    def add_arguments(self, parser):
        parser.add_argument("--case", help="only views of this case code")
        parser.add_argument("--user", help="only views by this username")
        parser.add_argument("--since", help="only views at or after this date (YYYY-MM-DD) or date-time")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, case=None, user=None, since=None, format="json", **options):
        records = AccessRecord.objects.newest_first()
        if case:
            records = records.filter(case_code=case)
        if user:
            records = records.filter(username=user)
        if since:
            records = records.filter(at__gte=_since(since))
        if format == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows(records.iterator()))
        else:
            self.stdout.write(json.dumps(list(rows(records.iterator())), indent=2))
