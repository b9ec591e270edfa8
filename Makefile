# Two commands a new user needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_TMP ?= $(or $(TMPDIR),/tmp)/practice-tests-$(shell id -u)

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

# Each run has its own pytest temporary folder and its own Redis database, so the two
# never share state, also when they run at the same time.
test-sqlite: install
	mkdir -p $(TEST_TMP)
	PRACTICE_TEST_DATABASE=sqlite PRACTICE_TEST_REDIS_DB=14 \
		$(BIN)/pytest --basetemp=$(TEST_TMP)/sqlite

test-postgres: install
	mkdir -p $(TEST_TMP)
	PRACTICE_TEST_DATABASE=postgresql PRACTICE_TEST_PG_ADMIN_URL=$(PG_ADMIN_URL) \
		PRACTICE_TEST_REDIS_DB=15 $(BIN)/pytest --basetemp=$(TEST_TMP)/postgresql

# The whole suite on both databases, plus lint. A missing PostgreSQL fails the run. The
# two runs go side by side (one per core: alone, each keeps one core busy); each run's
# output is printed whole when it ends.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# Benchmarks (not part of the test run); each appends its numbers to bench/RESULTS.md.
bench: install
	$(BIN)/python -m bench.crypto
	$(BIN)/python -m bench.notes_write
	$(BIN)/python -m bench.themes
	$(BIN)/python -m bench.scheduling

clean:
	rm -rf $(VENV) instance *.egg-info
