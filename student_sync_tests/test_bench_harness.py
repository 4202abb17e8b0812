"""Smoke test of the benchmark harness on a tiny size: correctness of the harness, never time.

Runs ``benchmarks.run`` end to end against the local PostgreSQL (skipped only when it does not
answer and CI is not 'true'). The dlt reference runs only when dlt is installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from benchmarks.report import targets as report_targets
from student_sync_tests.conftest import PG_ADMIN_URL, require_postgres

SIZE = 2_000
HAS_DLT = importlib.util.find_spec("dlt") is not None

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    require_postgres()
    from benchmarks import run as bench

    out = tmp_path_factory.mktemp("bench")
    argv = [
        "--sizes", str(SIZE), "--batch-sizes", "1000", "--baseline-rows", "200",
        "--cache-rows", "500", "--profile-sizes", str(SIZE), "--out-dir", str(out),
        "--pg-url", PG_ADMIN_URL, "--dlt", "auto" if HAS_DLT else "off", "--quiet",
        "--timeout", "120", "--profile-upto", "no_change",
    ]  # fmt: skip
    return bench.main(argv), out


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _run(results: dict, scenario: str) -> dict:
    found = [r for r in results["runs"] if r["scenario"] == scenario]
    assert len(found) == 1, f"{scenario}: {len(found)} entries"
    assert "error" not in found[0], found[0]["error"]
    return found[0]


def test_results_files_written_and_checks_pass(bench_out: tuple[int, Path]) -> None:
    code, out = bench_out
    results = _results(out)
    failed = [c for c in results["checks"] if not c["ok"]]
    assert code == 0 and not failed, failed
    md = (out / "results.md").read_text(encoding="utf-8")
    assert "## Machine" in md and "PostgreSQL" in md and "Python" in md
    assert f"| {SIZE:,} | initial | 1000 |" in md
    assert results["machine"]["cores"] and results["machine"]["postgresql"]


def test_every_scenario_present_with_sane_counts(bench_out: tuple[int, Path]) -> None:
    _, out = bench_out
    results = _results(out)
    expected = ["load", "raw_copy", "row_by_row_initial", "row_by_row_rerun", "initial",
                "no_change", "edits", "changed_1pct", "force_update"]  # fmt: skip
    if HAS_DLT:
        expected += ["dlt_merge_initial", "dlt_merge_rerun"]
    runs = {s: _run(results, s) for s in expected}
    for name, r in runs.items():
        assert r["seconds"] > 0 and r["peak_rss_mb"] > 0, name
        assert r["size"] == SIZE

    initial = runs["initial"]["counters"]
    assert initial["records_processed"] == SIZE
    assert initial["classes"]["create"] > 0
    no_change = runs["no_change"]["counters"]["classes"]
    assert no_change["create"] == 0 and no_change["update"] == 0 and no_change["delete"] == 0
    changed = runs["changed_1pct"]["counters"]["classes"]
    edits = runs["edits"]["edit_counts"]
    assert changed["create"] == edits["new_students"] > 0
    assert changed["delete"] == edits["deletions"]
    assert changed["update"] > 0
    forced = runs["force_update"]["counters"]["classes"]
    assert forced["create"] == 0 and forced["update"] > 0

    for name in ("initial", "no_change", "changed_1pct", "force_update"):
        phases = runs[name]["phases"]
        assert {"extract", "transform", "plan", "apply", "other"} <= set(phases), name
    assert runs["raw_copy"]["rows"] == SIZE
    rbr = runs["row_by_row_initial"]
    assert rbr["extrapolated"] and rbr["measured_rows"] == 200
    assert rbr["baseline"]["created"] > 0
    if HAS_DLT:
        dlt_run = runs["dlt_merge_initial"]
        assert dlt_run["loaded_rows"] == dlt_run["records"] > 0


def test_write_floor_copies_back_what_the_first_load_wrote(bench_out: tuple[int, Path]) -> None:
    """The floor is the first load's own output: every table it filled, row for row."""
    _, out = bench_out
    results = _results(out)
    floor, initial = _run(results, "write_floor"), _run(results, "initial")
    tables = floor["tables"]
    created = initial["counters"]["classes"]["create"]
    assert tables["people_person"]["rows"] == tables["people_studentprofile"]["rows"] == created
    # The sync's own bookkeeping is part of what a first load must write.
    assert {"student_sync_state", "student_sync_change_log"} <= set(tables)
    assert tables["student_sync_change_log"]["rows"] >= 2 * created
    assert "legacy_students" not in tables
    assert floor["rows"] == sum(t["rows"] for t in tables.values())
    assert 0 < floor["seconds"] < initial["seconds"]
    targets = {t["target"]: t for t in report_targets(results) if t["size"] == SIZE}
    ratio = targets["initial <= 2x its write floor"]["value"]
    assert ratio == initial["seconds"] / floor["seconds"]
    forced = targets["force_update <= 1.5x initial"]["value"]
    assert forced == _run(results, "force_update")["seconds"] / initial["seconds"]
    md = (out / "results.md").read_text(encoding="utf-8")
    assert f"Write floor at {SIZE:,}:" in md and "| people_person |" in md


def test_profiles_and_hotspots(bench_out: tuple[int, Path]) -> None:
    _, out = bench_out
    results = _results(out)
    scenarios = {p["scenario"]: p for p in results["profiles"]}
    assert set(scenarios) == {"initial", "no_change"}
    for p in scenarios.values():
        assert "error" not in p, p.get("error")
        assert p["hotspots"]["self"] and p["hotspots"]["areas"]
        assert all(Path(f).exists() for f in p["files"])
    assert results["cacheability"][0]["domain_calls"]
    assert "## Where the time goes" in (out / "results.md").read_text(encoding="utf-8")
