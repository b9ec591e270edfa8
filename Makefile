# Two commands a new user needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgres lint install bench clean

$(BIN)/activate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/activate

install: $(BIN)/activate

run: install
	$(FLASK) db upgrade
	$(FLASK) practice demo --if-empty  # prints the demo logins, whether new or not
	$(FLASK) run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: install
	PRACTICE_TEST_DATABASE=sqlite $(BIN)/pytest

test-postgres: install
	PRACTICE_TEST_DATABASE=postgresql PRACTICE_TEST_PG_ADMIN_URL=$(PG_ADMIN_URL) $(BIN)/pytest

# The whole suite on both databases, plus lint. A missing PostgreSQL fails the run.
test: lint test-sqlite test-postgres

# Benchmarks (not part of the test run); each appends its numbers to bench/RESULTS.md.
bench: install
	$(BIN)/python -m bench.crypto
	$(BIN)/python -m bench.notes_write
	$(BIN)/python -m bench.themes
	$(BIN)/python -m bench.scheduling

clean:
	rm -rf $(VENV) instance *.egg-info
