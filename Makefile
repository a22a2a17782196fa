# Kontor: `make demo` serves a demo, `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-db-stop install lint format messages bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	./scripts/demo.sh

test: $(STAMP)
	./scripts/test.sh $(PYTEST_ARGS)

# The throwaway test cluster keeps running between `make test` runs (it starts in a
# second); this stops it.
test-db-stop:
	./scripts/test-postgres.sh --stop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	DJANGO_DEBUG=true $(BIN)/python manage.py makemessages -l de --ignore=.venv --ignore=bench --ignore=tests --no-obsolete
	DJANGO_DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv

bench: $(STAMP)
	url=$${DATABASE_URL:-}; [ -n "$$url" ] || url=$$(./scripts/test-postgres.sh) || exit 1; \
		DATABASE_URL=$$url $(BIN)/python -m bench pages

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
