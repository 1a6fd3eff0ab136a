# GeoVigie — two entry points: `make chat` (install + sample data + chat UI) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
GEOVIGIE_DATA_DIR ?= ../shared/data
export GEOVIGIE_DATA_DIR

.PHONY: install dev chat ask test lint check

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

# setuptools warns on every editable install that a folder named like the package is in the working
# directory: here that folder is the package (geovigie/ holds the links, see ARCHITECTURE.md), so the
# warning says nothing new and is filtered by its message.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

install: $(BIN)/activate
	$(QUIET_EDITABLE) $(BIN)/pip install -q -e .

dev: $(BIN)/activate
	$(QUIET_EDITABLE) $(BIN)/pip install -q -e ".[dev]"

# Works on a bare clone: without the sample folder, ingest says how to get imagery and the chat still starts.
chat: install
	$(BIN)/geovigie ingest --samples
	$(BIN)/geovigie chat

test: dev
	$(BIN)/pytest -q

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check: lint test
