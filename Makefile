# dlrhub — `make help` lists the targets. CI runs `make ci`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The exact versions, with their hashes, that every install uses (`make lock` remakes them).
LOCK_RUNTIME := requirements/runtime.txt
LOCK_DEV     := requirements/dev.txt
LOCK_BUILD   := requirements/build.txt
COMPILE      := $(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The locked dependencies first, each file checked against its hash; then dlrhub itself,
# adding nothing the lock did not (--no-deps) and built with the locked setuptools.
$(STAMP): $(LOCK_DEV) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK_DEV)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv and install dlrhub with its development tools, from the lock

lock: $(STAMP) ## re-resolve requirements/*.txt after a change to pyproject.toml (LOCK_ARGS=--upgrade: newest)
	$(COMPILE) pyproject.toml -o $(LOCK_RUNTIME) $(LOCK_ARGS)
	$(COMPILE) pyproject.toml --extra dev -c $(LOCK_RUNTIME) -o $(LOCK_DEV) $(LOCK_ARGS)
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))\
	['build-system']['requires'], sep='\n')" > requirements/build.in
	$(COMPILE) requirements/build.in -c $(LOCK_DEV) -o $(LOCK_BUILD) $(LOCK_ARGS)

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

vendor: $(STAMP) ## refresh the console's vendored browser files and their MANIFEST (needs npm)
	$(BIN)/python tools/vendor.py

clean: ## remove the virtualenv, caches and the embedded data folder (asks first; FORCE=1 does not)
	@if [ -d data ] && [ "$(FORCE)" != 1 ]; then \
	  echo "make clean deletes data/: the embedded database (every tenant, account, receipt"; \
	  echo "and delivery in it) and the admin token. Copy it first with: dlrhub backup FILE"; \
	  printf "Delete data/? [y/N] "; read answer || answer=; \
	  case "$$answer" in y|Y|yes) ;; *) echo "nothing deleted (FORCE=1 skips this question)"; exit 1;; esac; \
	fi
	rm -rf $(VENV) .venv-3.* data .pytest_cache .mypy_cache .ruff_cache .hypothesis

.PHONY: help install lock run test lint ci bench vendor clean
