# socialaudit: a newcomer needs `make demo` and `make test`; `make airflow` starts Airflow's UI on this machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/plugins
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins

.PHONY: airflow help venv native demo test test-fast test-pg lint bench system-deps simulator clean cluster-test screenshots docs

help:
	@echo "make demo         run the weekly audit for the demo trust (last complete ISO week)"
	@echo "make test         run the whole test suite (store and history tests on SQLite and PostgreSQL)"
	@echo "make test-pg      only the tests that run on PostgreSQL (a throwaway server on loopback)"
	@echo "make lint         ruff and mypy"
	@echo "make native       compile the named_children modules with mypyc (test, demo and bench do it too)"
	@echo "make bench        speed benchmarks (prints figures)"
	@echo "make airflow      Airflow's UI on this machine (http://localhost:8080, prints the login; Ctrl-C stops it)"
	@echo "make simulator    serve the demo platforms on http://127.0.0.1:8765"
	@echo "make cluster-test a real Celery cluster (PostgreSQL, Redis, 2 workers) runs the DAG (no Docker)"

# The virtualenv is rebuilt when requirements or constraints change. requirements.txt is the
# runtime (what the Docker image installs); requirements-dev.txt adds the test and lint tools.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

# Debian packages the tests need (browser, database, SMTP sink...). Idempotent; needs root.
# libreoffice-calc-nogui: the CSV exports read back by a real spreadsheet (tests/test_csv_in_libreoffice.py;
# 65 packages, about 94 MB of .debs, 49 s to install here from apt's cache; the test skips without it).
# gcc, python3-dev: mypyc compiles the named_children modules (make native; plain Python without them).
SYSTEM_PACKAGES := chromium docker-compose libreoffice-calc-nogui postgresql redis-server gcc python3-dev
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run 'sudo make system-deps')"; fi; \
	fi
	@command -v npm >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm is missing (run 'sudo make system-deps')"; fi; }

# axe-core for the browser tests' accessibility check (test-only; pinned in package-lock.json)
node_modules/.installed: package.json package-lock.json | system-deps
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm is missing: the accessibility test will skip (run 'sudo make system-deps')"; fi

# The named_children modules compiled with mypyc into build/native/<digest of their sources>/ (git-ignored;
# plugins/checks/_native.py loads them only while the sources are unchanged). A no-op when built; without a
# C compiler a warning, and the check runs as plain Python (SOCIALAUDIT_REQUIRE_NATIVE=1: an error).
native: venv
	@$(PY) scripts/build_native.py

demo: venv native
	$(PY) -m socialaudit run

# Airflow standalone (scheduler, dag-processor, api-server, triggerer) with the project's settings: the
# database migrated and the pools created, example DAGs off, the reports page under Browse.
airflow: venv
	$(PY) scripts/airflow_ui.py

simulator: venv
	$(PY) -m socialaudit.simulator

# SOCIALAUDIT_REQUIRE_PG=1: the PostgreSQL cases fail instead of skipping when no server can be started
# (tests/pg.py starts one from Debian's postgresql; SOCIALAUDIT_TEST_PG_URL points at an existing one).
# The suite runs on the compiled named_children modules where they build; tests/checks/test_native.py and the
# second line run them as plain Python too.
test: venv system-deps node_modules/.installed native
	SOCIALAUDIT_REQUIRE_PG=1 $(PY) -m pytest
	SOCIALAUDIT_PURE_PYTHON=1 $(PY) -m pytest -q tests/checks/test_named_children.py tests/checks/test_named_children_speed.py

test-pg: venv system-deps
	SOCIALAUDIT_REQUIRE_PG=1 $(PY) -m pytest -q -k "postgresql or pg_" -m "not slow"

test-fast: venv native
	$(PY) -m pytest -x -q -m "not slow"

lint: venv
	$(VENV)/bin/ruff check dags plugins tests
	$(VENV)/bin/mypy plugins

# PostgreSQL, Redis, the api-server, scheduler, dag-processor, triggerer and two Celery workers on
# loopback, started from scripts/cluster_test.py and stopped by pid; prints its timings.
cluster-test: venv system-deps
	$(PY) scripts/cluster_test.py

bench: venv native
	$(PY) bench/run.py

# The checks reference's generated block (docs/checks.md) from the checks' docstrings and settings.
docs: venv
	$(PY) scripts/checks_doc.py

# The README's screenshots of the demo's Trust report and a school report (run make demo first).
screenshots: venv system-deps
	$(PY) scripts/screenshots.py

clean:
	rm -rf output .airflow .pytest-airflow .pytest_cache build
