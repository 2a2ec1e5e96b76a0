# One entry point for setting up, running and testing. `make help` lists targets.
# Python comes from .python-version (pyenv) or the first python3.13/python3.12 on PATH;
# dependencies are installed exactly as pinned in uv.lock.

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
# The SQLite pass takes the same pytest arguments unless told otherwise.
SQLITE_PYTEST_ARGS ?= $(PYTEST_ARGS)
BASE_PYTHON := $(shell (command -v pyenv >/dev/null && pyenv which python 2>/dev/null) || command -v python3.13 || command -v python3.12)

.PHONY: help setup setup-app run worker test test-postgres test-sqlite lint format browser-deps haproxy js-deps postgres serve bench-ingest bench-pages load-fault

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(PY):
	$(BASE_PYTHON) -m venv $(VENV)

$(UV): $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)  ## create .venv and install the locked dependencies (app + dev tools)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet --python $(PY)

# The app's dependencies only: a quick look needs no test tools (Playwright, hypothesis).
# --inexact leaves dev tools a previous `make test` installed in place.
setup-app: $(UV)  ## create .venv and install the app's locked dependencies (no dev tools)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet --no-dev --inexact --python $(PY)

# The web server and the worker (emails) together, from the Procfile; Ctrl-C stops both.
run: setup-app  ## run the app and its worker on SQLite with demo data at http://127.0.0.1:8000
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_data
	@echo "Open http://127.0.0.1:$${RUN_PORT:-8000}/ (Ctrl-C stops the server and the worker)"
	@# A quick start on this machine: alert channels may post to a receiver on it.
	ALERTS_ALLOW_PRIVATE_NETWORKS=$${ALERTS_ALLOW_PRIVATE_NETWORKS:-1} $(VENV)/bin/honcho start -f Procfile

worker: setup-app  ## only the background worker (emails), on DATABASE_URL or the SQLite file
	$(PY) manage.py worker

postgres:  ## start the local PostgreSQL if nothing answers on 127.0.0.1:5432
	@scripts/ensure-postgres

browser-deps:  ## Debian's Chromium for the browser tests (apt), when missing
	@scripts/ensure-chromium

haproxy:  ## Debian's HAProxy, the front of `make serve` (apt), when missing
	@scripts/ensure-haproxy

lint: setup  ## ruff check, ruff format --check, import cycles, makemigrations --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check-import-cycles
	$(PY) manage.py makemigrations --check --dry-run

format: setup  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup postgres browser-deps haproxy js-deps lint test-postgres test-sqlite  ## lint, the whole suite on PostgreSQL, then again on SQLite (what CI runs)

test-postgres: setup postgres browser-deps haproxy js-deps  ## the whole test suite on PostgreSQL
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DJANGO_ALLOW_ASYNC_UNSAFE=1 \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

# The quick-start database (`make run`) is SQLite: every page and filter test runs on it
# too. Browser tests and tests marked postgres_only (catalog, plans, row locks) are left
# out; the test database is in memory, so this pass is fast.
test-sqlite: setup  ## the suite on SQLite, without browser and PostgreSQL-only tests
	DATABASE_URL=sqlite:///$(CURDIR)/data/test-sqlite.sqlite3 DJANGO_ALLOW_ASYNC_UNSAFE=1 \
		$(VENV)/bin/pytest $(SQLITE_PYTEST_ARGS) -m "not browser and not postgres_only"

serve: setup haproxy  ## production: HAProxy + pages and ingest gunicorn pools, DEBUG off (needs SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS)
	scripts/serve

bench-ingest: setup postgres  ## ingestion benchmark (docs/benchmarks.md)
	$(PY) bench/ingest.py $(BENCH_ARGS)

bench-pages: setup postgres  ## pages benchmark at volume (docs/benchmarks.md)
	$(PY) bench/pages.py $(BENCH_ARGS)

load-fault: setup postgres  ## load-and-fault test with a server restart (docs/benchmarks.md)
	$(PY) bench/load_fault.py $(BENCH_ARGS)

# The JavaScript SDK tests (tests/js/): Node from Debian when missing, then npm ci, but
# only when the lock file is newer than the installed tree (npm writes
# node_modules/.package-lock.json on every install). `make test` needs them too.
JS_DIR := tests/js
$(JS_DIR)/node_modules/.package-lock.json: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@scripts/ensure-node
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

js-deps: $(JS_DIR)/node_modules/.package-lock.json  ## Node (apt, when missing) and the pinned Sentry JavaScript SDKs (npm ci) for their tests

