# Everything a fresh machine with Python 3.11 needs goes through these targets.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
STAMP := $(VENV)/.installed

.PHONY: install demo test test-django lint ui bench bench-quick bench-dagster clean

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

## The whole test suite (PostgreSQL tests run when the server answers; under CI=true they must),
## then the Django-side tests on Python 3.13 (test-django). The tests run in TEST_WORKERS
## processes (pytest-xdist; every test has its own databases and folders): on the 2-core CI
## machine 3 workers take ~3.5 min where one took ~6-10 (tests wait on PostgreSQL and
## subprocesses). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 3
test: install
	$(BIN)/ruff check student_sync student_sync_tests benchmarks
	$(BIN)/ruff format --check student_sync student_sync_tests benchmarks
	$(BIN)/python -m pytest -q -m "not django" -n $(TEST_WORKERS)
	@$(MAKE) --no-print-directory test-django

## The Django app's tests (marker `django`) on Python 3.13, as the school's SIS runs it: a
## second venv from the same lock, the package installed with its `django` extra (nothing
## fetched: every requirement must already be there from the lock). Without python3.13 it says
## so and passes, except under CI=true, where it fails. PYTHON313=/path/to/python3.13 picks one.
PYTHON313 ?= python3.13
VENV313 ?= .venv313
PY313 = $(shell for c in $(PYTHON313) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13; do \
  "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$c"; break; }; done)
STAMP313 := $(VENV313)/.installed

$(STAMP313): requirements.lock pyproject.toml
	"$(PY313)" -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --require-hashes --no-deps -r requirements.lock
	@touch $(STAMP313)

test-django:
	@py="$(PY313)"; \
	if [ -z "$$py" ]; then \
	  echo "test-django: python3.13 not found (set PYTHON313=/path/to/python3.13): Django-side tests NOT run"; \
	  [ "$$CI" != "true" ]; exit $$?; \
	fi; \
	echo "test-django: Python 3.13 at $$py, venv $(VENV313)"; \
	$(MAKE) --no-print-directory $(STAMP313) PY313="$$py" \
	&& $(VENV313)/bin/python -m pip install -q --no-index --no-build-isolation --force-reinstall --no-deps . \
	&& $(VENV313)/bin/python -m pip install -q --no-index --no-build-isolation ".[django]" \
	&& $(VENV313)/bin/python -m pytest -q -m django student_sync_tests/django_app

## Dagster UI on http://127.0.0.1:3000. With STUDENT_SYNC_DATABASE_URL unset it runs on the
## demo SQLite file (demo/student_sync.sqlite: init, plus 2,000 demo students the first time);
## with it set, nothing is seeded. DAGSTER_YAML=other.yaml picks another instance config.
DAGSTER_YAML ?= dagster.yaml
ui: install
	@mkdir -p $(DAGSTER_HOME) demo
	cp $(DAGSTER_YAML) $(DAGSTER_HOME)/dagster.yaml
	@if [ -z "$$STUDENT_SYNC_DATABASE_URL" ]; then \
	  seeded=1; [ -f demo/student_sync.sqlite ] || seeded=0; \
	  (cd demo && ../$(BIN)/student-sync init) || exit 1; \
	  [ $$seeded = 1 ] || (cd demo && ../$(BIN)/student-sync demo-data --students 2000 --seed 7) \
	    || exit 1; \
	fi
	STUDENT_SYNC_DATABASE_URL="$${STUDENT_SYNC_DATABASE_URL:-sqlite:///$(CURDIR)/demo/student_sync.sqlite}" \
	  $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: install
	$(BIN)/ruff check student_sync student_sync_tests benchmarks
	$(BIN)/ruff format --check student_sync student_sync_tests benchmarks

## Benchmarks against the local PostgreSQL (benchmarks/README.md): the engine beside raw COPY,
## a row-by-row baseline and dlt merge; results in benchmarks/results.md and results.json.
BENCH_INSTALL := $(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements-bench.lock

bench: install
	$(BENCH_INSTALL)
	$(BIN)/python -m benchmarks.run --sizes 50000 --batch-sizes 5000 20000 --dlt on
	$(BIN)/python -m benchmarks.run --sizes 1000000 --batch-sizes 5000 --dlt on --merge --profile-sizes

## A 10,000-student run of the same harness (results-quick.md / .json).
bench-quick: install
	$(BENCH_INSTALL)
	$(BIN)/python -m benchmarks.run --sizes 10000 --dlt on --name results-quick

## Dagster at school scale: webserver + daemon on SQLite and PostgreSQL instance storage, 19 ID
## ranges x 3 years of partitions (results-dagster.md / .json; needs chromium for the page).
bench-dagster: install
	$(BIN)/python -m benchmarks.dagster_scale

clean:
	rm -rf $(VENV) $(VENV313) demo .dagster_home
