# Everything a fresh machine with Python 3.11 needs goes through these targets.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
STAMP := $(VENV)/.installed

.PHONY: install demo test lint ui bench bench-quick bench-dagster clean

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
	rm -rf $(VENV) demo .dagster_home
