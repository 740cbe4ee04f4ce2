# The two commands a newcomer needs:  make run  and  make test.
# Everything else here is what those two install and start.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app ruilkring
PYTHON ?= python3

.PHONY: run test install translations translations-update clean

## Install everything, create the SQLite database with demo data, start on http://127.0.0.1:5000
run: install
	RUILKRING_ENV=development $(FLASK) db upgrade
	RUILKRING_ENV=development $(FLASK) demo --if-empty
	RUILKRING_ENV=development $(FLASK) run --host 127.0.0.1 --port 5000

## Install everything the tests need (PostgreSQL, Chromium) and run the whole suite
test: install
	scripts/test.sh

install: $(VENV)/.installed static/vendor/htmx.min.js translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Front-end packages come from the npm registry; nothing third-party is committed.
static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d ruilkring/translations -D messages --statistics 2>&1 | tail -n 1

# For developers after changing texts: extract and merge the catalogue, then translate.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --project ruilkring -o ruilkring/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i ruilkring/translations/messages.pot -d ruilkring/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
