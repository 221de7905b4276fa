# govchat — the targets the README uses. Python 3.11 on Debian/Ubuntu; no GPU needed.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: install run serve test lint typecheck unit eval bench services browser clean

$(BIN)/govchat: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# A pinned CPU build first: an unpinned torch pulls several GB of CUDA packages.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/govchat

# One command: install, load the sample knowledge base, serve the assistant on embedded defaults.
run: install
	$(BIN)/govchat ingest --sample
	$(BIN)/govchat serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/govchat serve --host $(HOST) --port $(PORT)

# Headless Chromium for the end-to-end tests (Debian's package; Playwright drives it).
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver)

# Local Redis / PostgreSQL for the integration tests, started only if they are not answering.
services:
	@bash .ci/services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -m unit -q

# The test command: lint, types, then every tier (unit, integration, e2e).
test: install browser services lint typecheck
	$(BIN)/pytest -q

eval: install
	$(BIN)/govchat eval --out eval-reports/latest

bench: install
	$(BIN)/python -m evals.bench_crud_news

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
