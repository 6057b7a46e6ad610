# dlrhub — `make help` lists the targets. CI runs `make ci`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install dlrhub with its development tools

run: $(STAMP) ## start API, worker and sweeper on the embedded default (SQLite, file broker)
	$(BIN)/dlrhub serve

test: $(STAMP) ## run the whole test suite (PostgreSQL and Redis tests skip if absent)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

ci: lint test ## what CI runs

bench: $(STAMP) ## run the ingest benchmark (needs PostgreSQL and Redis; see bench/README.md)
	$(BIN)/python bench/ingest

clean: ## remove the virtualenv, caches and the embedded data folder
	rm -rf $(VENV) .venv-3.* data .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install run test lint ci bench clean
