# The two commands of the README: `make demo` and `make test` (which runs `make lint` and
# `make typecheck` first). All build .venv from pyproject.toml on first use (and again when it
# changes), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-ato: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[examples]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.installed-ato

demo: $(VENV)/.installed-ato
	$(BIN)/python examples/quickstart/run.py
	$(BIN)/python examples/quickstart/search.py

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check src tests benchmarks examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/python -m mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev
	$(PIP) install -e '.[dev,bench]'
	for bench in benchmarks/bench_*.py; do $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
