# Everything a fresh machine with Python 3.11 needs goes through these targets.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
STAMP := $(VENV)/.installed

.PHONY: install demo test lint ui bench bench-quick clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || $(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

## Run the main job on embedded demo data (SQLite file, no server needed).
demo: install
	@mkdir -p $(DAGSTER_HOME) demo
	cd demo && ../$(BIN)/student-sync init && ../$(BIN)/student-sync demo-data --students 2000 --seed 7 \
	  && ../$(BIN)/student-sync migrate && ../$(BIN)/student-sync demo-data --apply-edits --seed 8 \
	  && ../$(BIN)/student-sync migrate --modified-since yesterday

## The whole test suite (PostgreSQL tests run when the server answers; under CI=true they must).
test: install
	$(BIN)/ruff check student_sync student_sync_tests benchmarks
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check student_sync student_sync_tests benchmarks

clean:
	rm -rf $(VENV) demo .dagster_home
