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
	PATCHBAY_PUBLIC_URL=http://$(HOST):$(PORT) \
	PATCHBAY_IDP_ISSUER=http://$(HOST):$(PORT)/demo/provider PATCHBAY_IDP_AUDIENCE=patchbay

.PHONY: run test install install-dev check-ports lint typecheck layers check bench clean

# One line per step; pip prints its own progress (a first install takes about a minute).
$(BIN)/python:
	@echo "==> Creating the virtualenv in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> Upgrading pip"
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "==> Installing Patchbay and its dependencies into $(VENV)"
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "==> Installing Patchbay with the dev extras into $(VENV)"
	$(BIN)/pip install -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Before anything is installed, migrated or loaded: a busy port (a `make run` already
# running) is one line and a non-zero exit (demo/ports.py, standard library only).
check-ports:
	@$(PYTHON) -m demo.ports PORT=$(HOST):$(PORT) DEMO_HOST_PORT=127.0.0.1:$(DEMO_HOST_PORT)

run: check-ports install
	@echo "==> Migrating the demo database"
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	@echo "==> Loading the demo"
	@$(RUN_ENV) $(BIN)/python manage.py demo --host-port $(DEMO_HOST_PORT)
	@echo "==> Serving Patchbay on http://$(HOST):$(PORT)/ and the demo host page on http://localhost:$(DEMO_HOST_PORT)/ (Ctrl-C stops both)"
	@$(RUN_ENV) $(BIN)/python manage.py demo_host --port $(DEMO_HOST_PORT) & host=$$!; \
	trap 'kill $$host 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

# Imports point down the layers only (README "Layers"; [tool.importlinter] in pyproject.toml).
layers: install-dev
	$(BIN)/lint-imports

check: lint typecheck layers test

bench: install-dev
	$(BIN)/python bench/run.py --readme README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
