# mmboard. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# A local development environment, stated explicitly (production sets its own).
DEV_ENV := DEBUG=true ALLOWED_HOSTS=127.0.0.1,localhost

.PHONY: run setup test lint fmt venv clean bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@PYBIN=$$(bin/find-python) && echo "Using $$PYBIN" && \
	  { [ -x $(PY) ] || "$$PYBIN" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

setup: venv
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py load_evidence
	$(DEV_ENV) $(PY) manage.py load_demo
	$(DEV_ENV) $(PY) manage.py ensure_local_admin

# The task worker (impact runs of algorithm drafts) in the background, in its own process group, and
# the web server in the foreground; Ctrl-C (or the server stopping) stops the worker too.
run: setup
	@set -m; $(DEV_ENV) $(PY) manage.py db_worker & worker=$$!; set +m; \
	trap 'kill -TERM -- -$$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: venv
	bin/ensure-chromium
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest

# Page times, query counts and throughput at 100 and 10,000 synthetic cases (bench/README.md).
# Never part of `make test`; builds its own databases under bench/.data/.
bench: venv
	$(PY) -m pip install --quiet -r bench/requirements.txt
	bin/ensure-wrk
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles bench/.data
