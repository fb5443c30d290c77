"""The README's commands work as written in a fresh shell after `make setup`.

`make setup` writes a local `.env` (bin/ensure-env); settings read it, and the
environment wins over it. Each test points ENV_FILE at a file of its own: the
test run itself reads no `.env` (root conftest.py), so a developer's is never touched.
"""

import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
# What the test run itself set; a fresh shell has none of it.
TEST_ONLY = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "STATIC_MANIFEST",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _fresh_shell_env(env_file: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY and not k.startswith("SECURE_")}
    return {**clean, "ENV_FILE": str(env_file), **extra}


def _ensure_env(path: Path) -> str:
    subprocess.run([ROOT / "bin" / "ensure-env", path], check=True, capture_output=True, timeout=30)
    return path.read_text()


def _python(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=180
    )


def test_setup_env_file_has_debug_a_generated_key_and_local_hosts(tmp_path):
    first = _ensure_env(tmp_path / "one.env")
    second = _ensure_env(tmp_path / "two.env")

    assert "\nDEBUG=true\n" in first
    assert "\nALLOWED_HOSTS=127.0.0.1,localhost\n" in first
    key = re.search(r"^SECRET_KEY=(\S+)$", first, re.MULTILINE)[1]
    assert len(key) >= 50
    assert key not in second  # generated, not shipped


def test_setup_keeps_an_existing_env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DEBUG=false\nSECRET_KEY=chosen-by-the-developer\n")

    assert _ensure_env(path) == "DEBUG=false\nSECRET_KEY=chosen-by-the-developer\n"


def test_settings_read_the_env_file_when_the_environment_is_empty(tmp_path):
    env_file = tmp_path / ".env"
    _ensure_env(env_file)

    result = _python(_fresh_shell_env(env_file), "manage.py", "check")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    _ensure_env(env_file)
    show = "from django.conf import settings; print(settings.ALLOWED_HOSTS, settings.DEBUG)"

    result = _python(
        _fresh_shell_env(env_file, ALLOWED_HOSTS="board.example.org", DEBUG="false"),
        "manage.py", "shell", "-c", show,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['board.example.org'] False"


def test_readme_recommend_example_runs_in_a_fresh_shell(tmp_path):
    # make setup: the .env (here with a database of the test's own), migrate, load_evidence.
    env_file = tmp_path / ".env"
    _ensure_env(env_file)
    with env_file.open("a") as handle:
        handle.write(f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n")
    env = _fresh_shell_env(env_file)
    for command in (["migrate", "--noinput"], ["load_evidence"]):
        assert _python(env, "manage.py", *command).returncode == 0

    # The README's example, as written (its .venv python is this interpreter).
    example = _readme_shell_example("manage.py recommend -").replace(
        ".venv/bin/python", shlex.quote(sys.executable)
    )
    result = subprocess.run(
        ["bash", "-c", example], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["settings"][0]["key"] == "len_and_cd38_refractory"
    assert body["options"]


@pytest.mark.django_db
def test_local_admin_names_the_port_make_run_serves():
    out = io.StringIO()

    call_command("ensure_local_admin", url="http://127.0.0.1:8100/", stdout=out)

    assert "Log in at http://127.0.0.1:8100/" in out.getvalue()


def test_make_run_serves_and_announces_the_chosen_port():
    result = subprocess.run(
        ["make", "--dry-run", "run", "PORT=8100"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert "ensure_local_admin --url http://127.0.0.1:8100/" in result.stdout
    assert "runserver 127.0.0.1:8100" in result.stdout


def _readme_shell_example(marker: str) -> str:
    """The README's shell command that contains `marker` (continuation lines joined by the shell)."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL):
        lines = [line for line in block.splitlines() if not line.lstrip().startswith("#")]
        command = "\n".join(lines)
        if marker in command:
            return command
    raise AssertionError(f"no ```sh block of README.md runs {marker!r}")
