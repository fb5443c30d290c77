"""python manage.py recommend [FILE|-]: facts JSON in, recommendation JSON out; exit 2 on bad input."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DOUBLE_REFRACTORY = {
    "len_status": "refractory",
    "anti_cd38_status": "refractory",
    "anti_cd38_agent_last": "daratumumab",
    "prior_lines": 2,
}


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("recommend", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_recommend_file_prints_options_settings_exclusions_and_version(knowledge_base, tmp_path):
    facts = tmp_path / "case.json"
    facts.write_text(json.dumps(DOUBLE_REFRACTORY))

    out, _ = _run(str(facts))

    body = json.loads(out)
    assert body["algorithm_version"] == "2026.1"
    assert {"key", "kind", "category", "cautions", "rationale", "trials"} <= set(body["options"][0])
    assert "SVD" in [o["key"] for o in body["options"]]
    assert {"key", "reason"} <= set(body["not_recommended"][0])
    assert body["settings"][0]["key"] == "len_and_cd38_refractory"
    assert out.startswith("{\n  ")  # indent 2


def test_recommend_stdin_dash_reads_standard_input(knowledge_base, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"len_status": "naive", "prior_lines": 1})))

    out, _ = _run("-")

    assert json.loads(out)["settings"][0]["key"] == "first_relapse_len_not_refractory"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"len_status": "sometimes"}', "len_status: must be one of naive, exposed_sensitive, refractory"),
        ('{"prior_lines": 0}', "prior_lines: must be a whole number from 1 to 30"),
        ('{"colour": "blue"}', "colour: is not a fact the algorithm knows"),
        ("{not json", "facts: not valid JSON"),
        ("[1, 2]", "facts: must be a JSON object of facts"),
    ],
)
def test_recommend_bad_facts_exit_2_with_one_line_naming_the_field(knowledge_base, tmp_path, text, expected):
    facts = tmp_path / "case.json"
    facts.write_text(text)
    err = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("recommend", str(facts), stdout=io.StringIO(), stderr=err)

    assert exit_info.value.code == 2
    line = err.getvalue()
    assert line.startswith(expected), line
    assert line.strip().count("\n") == 0


def test_recommend_subprocess_exit_code_and_stderr(tmp_path):
    # A real process: the exit code and the one-line message as a shell sees them.
    # Validation happens before the database is read, so a fresh SQLite file will do.
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "mmboard.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "recommend", "-"],
        input='{"ecog": 7}',
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["ecog: must be one of 0, 1, 2, 3, 4 (got 7)"]
