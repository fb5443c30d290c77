# mmboard. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# A local development environment, stated explicitly (production sets its own).
DEV_ENV := DEBUG=true ALLOWED_HOSTS=127.0.0.1,localhost

.PHONY: run setup test lint fmt venv clean bench messages compilemessages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@PYBIN=$$(bin/find-python) && echo "Using $$PYBIN" && \
	  { [ -x $(PY) ] || "$$PYBIN" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

setup: venv compilemessages
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py load_evidence
	$(DEV_ENV) $(PY) manage.py load_demo
	$(DEV_ENV) $(PY) manage.py ensure_local_admin

run: setup
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: venv compilemessages
	bin/ensure-chromium
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest

# The Italian catalogue (locale/it/LC_MESSAGES). `make messages` collects every string of the
# templates and Python modules (and of static/js, for JavaScriptCatalog) into the .po files;
# translate the new msgids there (tests/unit/test_catalogue.py names the missing ones).
# The compiled .mo files are build output: setup and test compile them.
MESSAGES_IGNORE := --ignore=.venv --ignore=bench --ignore=tests --ignore=staticfiles --ignore=node_modules
messages: venv
	bin/ensure-gettext
	$(DEV_ENV) $(PY) manage.py makemessages -l it --no-obsolete $(MESSAGES_IGNORE) --add-location=file
	$(DEV_ENV) $(PY) manage.py makemessages -l it -d djangojs --no-obsolete $(MESSAGES_IGNORE) --ignore=static/vendor --add-location=file

compilemessages: venv
	bin/ensure-gettext
	$(DEV_ENV) $(PY) manage.py compilemessages --ignore=.venv --ignore=bench

# Page times, query counts and throughput at 100 and 10,000 synthetic cases (bench/README.md).
# Never part of `make test`; builds its own databases under bench/.data/.
bench: venv
	$(PY) -m pip install --quiet -r bench/requirements.txt
	bin/ensure-wrk
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles bench/.data
