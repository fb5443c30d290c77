"""Personas and shared fixtures.

Personas: board member, case editor, curator, outsider (logged in, no role),
and an admin (superuser). `knowledge_base` loads the project's own evidence
files into the test database.
"""

import subprocess

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import translation

from regimens.roles import BOARD_MEMBER, CASE_EDITOR, CURATOR

PASSWORD = "a-long-test-password-9"


def _user(django_user_model, username: str, group: str | None = None, **extra):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def board_member(django_user_model):
    return _user(django_user_model, "board", BOARD_MEMBER)


@pytest.fixture
def case_editor(django_user_model):
    return _user(django_user_model, "editor", CASE_EDITOR)


@pytest.fixture
def curator(django_user_model):
    return _user(django_user_model, "curator", CURATOR, is_staff=True)


@pytest.fixture
def outsider(django_user_model):
    return _user(django_user_model, "outsider")


@pytest.fixture
def board_client(client, board_member):
    client.force_login(board_member)
    return client


@pytest.fixture
def editor_client(client, case_editor):
    client.force_login(case_editor)
    return client


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def knowledge_base(db):
    """The whole shipped knowledge base, as `make setup` loads it."""
    call_command("load_evidence", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _italian_catalogue_compiled():
    """The Italian .mo, compiled from the committed .po when missing or older (`make test` compiles it too)."""
    po = settings.BASE_DIR / "locale" / "it" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True, timeout=60)
        translation.trans_real._translations.clear()  # forget a catalogue read before the compile


@pytest.fixture
def task_worker(db):
    """Run the background tasks waiting in the database queue, as `manage.py db_worker --batch` does.

    It uses the worker's own `run_task` (claim, run, record success or failure), in the test's
    transaction: the worker's loop itself closes the database connection between tasks, which a test
    transaction would not survive on PostgreSQL. Returns how many tasks ran.
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    )  # fmt: skip

    def run() -> int:
        ran = 0
        while (row := DBTaskResult.objects.ready().order_by("enqueued_at").first()) is not None:
            row.claim(worker.worker_id)
            worker.run_task(row)
            ran += 1
        return ran

    return run
