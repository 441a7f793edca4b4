# The README's two commands: `make run` (demo service on SQLite) and `make test` (whole suite).
# Both set everything up on a fresh machine; CI (.ci/run) calls the same targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# Re-install only when the dependencies change; the package itself is installed editable.
STAMP := $(VENV)/.installed-from-pyproject
PYTEST_ARGS ?=
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint format venv system-packages

run: venv
	$(VENV)/bin/lifeline demo --serve

test: venv system-packages lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# ruff: lint (pycodestyle, pyflakes, import order, bugbear, pyupgrade) and formatting, as configured in
# pyproject.toml. `make format` rewrites the tree; `make lint` only checks (make test runs it first).
lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check

format: venv
	$(VENV)/bin/ruff check --fix
	$(VENV)/bin/ruff format

# The same suite on PostgreSQL (see README: the tests recreate the schema of that database).
test-postgres: venv system-packages
	LIFELINE_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

venv: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --disable-pip-version-check --quiet -e '.[test]'
	touch $@

# Debian's chromium and Japanese fonts for the browser tests (installed when missing).
system-packages:
	bash scripts/ensure-system-packages.sh
