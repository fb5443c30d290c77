# mmboard. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run setup test pytest lint fmt venv clean bench messages compilemessages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@PYBIN=$$(bin/find-python) && echo "Using $$PYBIN" && \
	  { [ -x $(PY) ] || "$$PYBIN" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# The local development environment (DEBUG on, a generated SECRET_KEY), written only
# when missing and git-ignored; settings read it, the environment wins over it.
.env:
	bin/ensure-env $@

setup: venv .env compilemessages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_evidence
	$(PY) manage.py load_demo
	$(PY) manage.py ensure_local_admin --url http://127.0.0.1:$(PORT)/

# The task worker (impact runs of algorithm drafts) in the background, in its own process group, and
# the web server in the foreground; Ctrl-C (or the server stopping) stops the worker too.
run: setup
	@set -m; $(PY) manage.py db_worker & worker=$$!; set +m; \
	trap 'kill -TERM -- -$$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: venv compilemessages
	bin/ensure-chromium
	bin/ensure-vnu
	$(MAKE) --no-print-directory lint
	ENV_FILE= SECRET_KEY=migrations-check $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory pytest

# The suite on both cores (pytest-xdist), then the browser tests on their own: their live
# server flushes its database after each test, which later tests in that process must not see.
pytest: venv
	$(VENV)/bin/pytest -n 2 --ignore=tests/browser
	$(VENV)/bin/pytest tests/browser

# The Italian catalogue (locale/it/LC_MESSAGES). `make messages` collects every string of the
# templates and Python modules (and of static/js, for JavaScriptCatalog) into the .po files;
# translate the new msgids there (tests/unit/test_catalogue.py names the missing ones).
# The compiled .mo files are build output: setup and test compile them.
MESSAGES_IGNORE := --ignore=.tools --ignore=.venv --ignore=bench --ignore=tests --ignore=staticfiles --ignore=node_modules
messages: venv
	bin/ensure-gettext
	ENV_FILE= SECRET_KEY=i18n-tools $(PY) manage.py makemessages -l it --no-obsolete $(MESSAGES_IGNORE) --add-location=file
	ENV_FILE= SECRET_KEY=i18n-tools $(PY) manage.py makemessages -l it -d djangojs --no-obsolete $(MESSAGES_IGNORE) --ignore=static/vendor --add-location=file

compilemessages: venv
	bin/ensure-gettext
	ENV_FILE= SECRET_KEY=i18n-tools $(PY) manage.py compilemessages --ignore=.venv --ignore=bench

# Page times, query counts and throughput at 100 and 10,000 synthetic cases (bench/README.md).
# Never part of `make test`; builds its own databases under bench/.data/.
bench: venv
	$(PY) -m pip install --quiet -r bench/requirements.txt
	bin/ensure-wrk
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .tools db.sqlite3 staticfiles bench/.data
