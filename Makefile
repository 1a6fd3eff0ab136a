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

install: $(BIN)/activate
	$(BIN)/pip install -q -e .

dev: $(BIN)/activate
	$(BIN)/pip install -q -e ".[dev]"

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
