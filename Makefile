# Patchbay. `make run` serves a demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo host page ("the company's site" embedding the widget): another origin.
DEMO_HOST_PORT ?= 8001

# Demo settings for `make run` (DEBUG on a laptop, loopback only).
RUN_ENV := DEBUG=true PATCHBAY_DEMO=true PATCHBAY_ALLOW_INSECURE_HTTP=true \
	PATCHBAY_ALLOW_PRIVATE_NETWORKS=true SECURE_SSL_REDIRECT=false \
	PATCHBAY_PUBLIC_URL=http://$(HOST):$(PORT)

.PHONY: run test install install-dev lint typecheck check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py demo
	@echo "Demo host page (embeds the connect widget): http://localhost:$(DEMO_HOST_PORT)/"
	$(RUN_ENV) $(BIN)/python manage.py demo_host --port $(DEMO_HOST_PORT) & host=$$!; \
	trap 'kill $$host 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

check: lint typecheck test

bench: install-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
