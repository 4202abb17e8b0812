"""Run the benchmark: ``python -m benchmarks.run --sizes 50000 1000000``.

For each size: one base database (N synthetic legacy students, fixed seed, target tables
initialized), then every scenario on a fresh template copy of it, each in its own
subprocess (wall time, phase split, peak RSS via ``os.wait4``). Writes
``<out-dir>/<name>.json`` and ``<out-dir>/<name>.md``; ``--merge`` keeps the other sizes
already in the JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from benchmarks import pg
from benchmarks.report import engine_revision, machine_info, render_markdown
from benchmarks.scenarios import NOW, TODAY

ROOT = Path(__file__).resolve().parent.parent
SKIPPABLE = (
    "raw_copy",
    "write_floor",
    "row_by_row",
    "dlt",
    "changed_1pct",
    "force_update",
    "profile",
    "cacheability",
)


class Harness:
    """Orchestrates the subprocesses of one benchmark invocation."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.run_tag = uuid.uuid4().hex[:8]
        self.runs: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.profiles: list[dict[str, Any]] = []
        self.cacheability: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.databases: list[str] = []
        self.unmeasured: set[str] = set()
        self.engine_sha = ""
        self.log: Callable[[str], None] = (
            (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
        )

    # ----------------------------------------------------------------- processes
    def spawn(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run one scenario in a subprocess; its result plus peak RSS and process wall time."""
        self.engine_sha = engine_revision()["engine_sha256"]  # what this subprocess imports
        key = uuid.uuid4().hex[:8]
        spec_path = self.workdir / f"{key}.spec.json"
        out_path = self.workdir / f"{key}.out.json"
        spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        t0 = perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", str(spec_path), str(out_path)],
            cwd=ROOT,
            env=env,
        )
        timer = None
        if self.args.timeout:
            timer = threading.Timer(self.args.timeout, proc.kill)
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = perf_counter() - t0
        if out_path.exists():
            result = json.loads(out_path.read_text(encoding="utf-8"))
        else:
            result = {"error": f"worker exited with {proc.returncode} and no result"}
        if proc.returncode and "error" not in result:
            result["error"] = f"worker exited with {proc.returncode}"
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
        result["process_seconds"] = round(wall, 3)
        return result

    def clone(self, base: str, label: str) -> tuple[str, str]:
        name = f"bench_{self.run_tag}_{label}"
        self.databases.append(name)
        return name, pg.create_database(self.args.pg_url, name, template=base)

    def drop(self, name: str) -> None:
        if not self.args.keep_databases:
            pg.drop_database(self.args.pg_url, name)
            if name in self.databases:
                self.databases.remove(name)

    # ----------------------------------------------------------------- bookkeeping
    def record(
        self,
        size: int,
        scenario: str,
        result: dict[str, Any],
        *,
        batch_size: int | None = None,
        kind: str = "engine",
        measured_rows: int | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "size": size,
            "scenario": scenario,
            "batch_size": batch_size,
            "kind": kind,
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": self.engine_sha,
        }
        entry.update({k: v for k, v in result.items() if k not in ("self_maxrss_mb",)})
        entry["self_maxrss_mb"] = result.get("self_maxrss_mb")
        entry["workers_maxrss_mb"] = result.get("workers_maxrss_mb")
        for target in result.get("unmeasured") or ():
            if target not in self.unmeasured:
                self.unmeasured.add(target)
                self.notes.append(f"engine function {target} not found: its phase reads 0.")
        if "error" in result:
            self.log(f"  [{size:,}] {scenario}: ERROR {result['error']}")
            self.check(size, scenario, "scenario ran", False, result["error"])
            entry.pop("seconds", None)
        else:
            measured = measured_rows or result.get("rows") or 0
            if measured_rows and measured_rows < size:
                entry["extrapolated"] = True
                entry["measured_rows"] = measured_rows
                entry["measured_seconds"] = result["seconds"]
                entry["seconds"] = result["seconds"] * size / measured_rows
                if result.get("phases"):  # scaled like the total
                    entry["phases"] = {
                        k: v * size / measured_rows for k, v in result["phases"].items()
                    }
            rows = size if entry.get("extrapolated") else (result.get("rows") or measured)
            entry["rows_per_s"] = rows / entry["seconds"] if entry["seconds"] else None
            label = f"{scenario}" + (f" b={batch_size}" if batch_size else "")
            extra = " (extrapolated)" if entry.get("extrapolated") else ""
            self.log(
                f"  [{size:,}] {label}: {entry['seconds']:.2f} s{extra}, "
                f"{entry['rows_per_s'] or 0:,.0f} rows/s, peak RSS "
                f"{entry['peak_rss_mb']:.0f} MB"
            )
        self.runs.append(entry)
        return entry

    def check(self, size: int, scenario: str, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(
            {"size": size, "scenario": scenario, "check": name, "ok": bool(ok), "detail": detail}
        )
        if not ok:
            self.log(f"  CHECK FAILED [{size:,}] {scenario}: {name} {detail}")

    # ----------------------------------------------------------------- one size
    def bench_size(self, size: int) -> None:
        a = self.args
        self.log(f"== {size:,} students ==")
        base = f"bench_{self.run_tag}_{size}_base"
        self.databases.append(base)
        base_url = pg.create_database(a.pg_url, base)
        loaded = self.spawn({"scenario": "load", "url": base_url, "size": size, "seed": a.seed})
        self.record(size, "load", loaded, kind="setup")
        if "error" in loaded:
            self.drop(base)
            return
        try:
            self._references(size, base)
            for batch in a.batch_sizes:
                self._engine_chain(size, base, batch)
            if size in self.profile_sizes:
                self._profile(size, base, a.batch_sizes[0])
        finally:
            self.drop(base)

    def _references(self, size: int, base: str) -> None:
        a = self.args
        if "raw_copy" not in a.skip:
            name, url = self.clone(base, f"{size}_copy")
            self.record(
                size, "raw_copy", self.spawn({"scenario": "raw_copy", "url": url}), kind="reference"
            )
            self.drop(name)
        if "row_by_row" not in a.skip:
            limit = min(size, a.baseline_rows)
            name, url = self.clone(base, f"{size}_rbr")
            for offset, step in enumerate(("initial", "rerun")):
                now = NOW + timedelta(hours=offset)
                result = self.spawn(
                    {
                        "scenario": "row_by_row",
                        "url": url,
                        "limit": limit,
                        "pass": step,
                        "now": now.isoformat(),
                    }
                )
                entry = self.record(
                    size, f"row_by_row_{step}", result, kind="reference", measured_rows=limit
                )
                stats = result.get("baseline") or {}
                if "error" not in result:
                    want = "created" if step == "initial" else "updated"
                    self.check(
                        size,
                        entry["scenario"],
                        f"{want} > 0",
                        stats.get(want, 0) > 0,
                        json.dumps(stats),
                    )
            self.drop(name)
        if self.use_dlt:
            name, url = self.clone(base, f"{size}_dlt")
            dlt_dir = self.workdir / f"dlt_{size}"
            for step in ("initial", "rerun"):
                result = self.spawn(
                    {"scenario": "dlt_merge", "url": url, "pass": step, "dlt_dir": str(dlt_dir)}
                )
                entry = self.record(size, f"dlt_merge_{step}", result, kind="reference")
                if "error" not in result:
                    self.check(
                        size,
                        entry["scenario"],
                        "loaded rows == records",
                        result.get("loaded_rows") == result.get("records"),
                        f"{result.get('loaded_rows')} vs {result.get('records')}",
                    )
            self.drop(name)
            shutil.rmtree(dlt_dir, ignore_errors=True)

    def _sync_spec(self, url: str, batch: int, hours: int, force: bool = False) -> dict:
        return {
            "scenario": "sync",
            "url": url,
            "batch_size": batch,
            "force_update": force,
            "now": (NOW + timedelta(hours=hours)).isoformat(),
            "reports_dir": str(self.workdir / "reports"),
            "page_size": self.args.page_size,
        }

    def _engine_chain(self, size: int, base: str, batch: int) -> None:
        a = self.args
        name, url = self.clone(base, f"{size}_b{batch}")
        try:
            first = self.record(
                size, "initial", self.spawn(self._sync_spec(url, batch, 0)), batch_size=batch
            )
            c = first.get("counters")
            if not c:
                return
            if "write_floor" not in a.skip and _ref_missing(self.runs, size, "write_floor"):
                self._write_floor(size, base, url)
            self.check(
                size, "initial", "creates > 0", c["classes"]["create"] > 0, json.dumps(c["classes"])
            )
            self.check(
                size,
                "initial",
                "every row processed",
                c["records_processed"] == size,
                f"{c['records_processed']} of {size}",
            )
            second = self.record(
                size, "no_change", self.spawn(self._sync_spec(url, batch, 1)), batch_size=batch
            )
            c2 = second.get("counters")
            if c2:
                k = c2["classes"]
                self.check(
                    size,
                    "no_change",
                    "creates 0, updates 0, deletes 0",
                    k["create"] == 0 and k["update"] == 0 and k["delete"] == 0,
                    json.dumps(k),
                )
            if "changed_1pct" not in a.skip:
                edits = self.spawn(
                    {"scenario": "edits", "url": url, "seed": a.edit_seed, "fraction": a.fraction}
                )
                self.record(size, "edits", edits, batch_size=batch, kind="setup")
                third = self.record(
                    size,
                    "changed_1pct",
                    self.spawn(self._sync_spec(url, batch, 2)),
                    batch_size=batch,
                )
                if third.get("counters") and edits.get("edit_counts"):
                    self._check_edits(size, third["counters"]["classes"], edits["edit_counts"])
            if "force_update" not in a.skip:
                fourth = self.record(
                    size,
                    "force_update",
                    self.spawn(self._sync_spec(url, batch, 3, force=True)),
                    batch_size=batch,
                )
                c4 = fourth.get("counters")
                if c4:
                    k = c4["classes"]
                    self.check(
                        size,
                        "force_update",
                        "creates 0, updates > 90% of rows",
                        k["create"] == 0
                        and k["update"] > 0.9 * c4["records_processed"] - k["reject"],
                        json.dumps(k),
                    )
        finally:
            self.drop(name)

    def _write_floor(self, size: int, base: str, loaded_url: str) -> None:
        """The first load's own output COPYed back into a fresh copy (once per size)."""
        name, url = self.clone(base, f"{size}_floor")
        spec = {
            "scenario": "write_floor",
            "source": loaded_url,
            "url": url,
            "dump_dir": str(self.workdir / f"floor_{size}"),
        }
        try:
            self.record(size, "write_floor", self.spawn(spec), kind="reference")
        finally:
            self.drop(name)
            shutil.rmtree(spec["dump_dir"], ignore_errors=True)

    def _check_edits(self, size: int, k: dict[str, int], n: dict[str, int]) -> None:
        updates = (
            n["renames"] + n["sponsor_changes"] + n["sponsor_removals"] + n["contact_removals"]
        )
        ok = (
            k["create"] == n["new_students"]
            and k["delete"] == n["deletions"]
            and k["update"] == updates
        )
        self.check(
            size,
            "changed_1pct",
            "classes match the day of edits",
            ok,
            f"classes {json.dumps(k)} vs edits {json.dumps(n)}",
        )

    def _profile(self, size: int, base: str, batch: int) -> None:
        a = self.args
        if "profile" not in a.skip:
            name, url = self.clone(base, f"{size}_prof")
            try:
                chain = ("initial", "no_change", "force_update")
                for hours, scenario in enumerate(chain[: 1 + chain.index(a.profile_upto)]):
                    spec = self._sync_spec(url, batch, hours, force=scenario == "force_update")
                    spec.update(
                        scenario="profile",
                        profile_path=str(self.profiles_dir / f"{scenario}_{size}"),
                        html=a.profile_html,
                    )
                    result = self.spawn(spec)
                    self.log(
                        f"  [{size:,}] profile {scenario}: "
                        f"{result.get('seconds', float('nan')):.2f} s under pyinstrument"
                        + (f" ERROR {result['error']}" if "error" in result else "")
                    )
                    self.profiles.append(
                        {"size": size, "scenario": scenario, "batch_size": batch, **result}
                    )
            finally:
                self.drop(name)
        if "cacheability" not in a.skip:
            result = self.spawn(
                {
                    "scenario": "cacheability",
                    "url": pg.sqlalchemy_url(a.pg_url, base),
                    "limit": min(size, a.cache_rows),
                }
            )
            if "error" not in result:
                self.cacheability.append({"size": size, **result})

    # ----------------------------------------------------------------- all
    @property
    def use_dlt(self) -> bool:
        return "dlt" not in self.args.skip and self.args.dlt != "off" and self.dlt_available

    def execute(self) -> dict[str, Any]:
        a = self.args
        self.dlt_available = importlib.util.find_spec("dlt") is not None
        if a.dlt == "on" and not self.dlt_available:
            raise SystemExit("dlt is not installed: make bench installs requirements-bench.lock")
        if a.dlt == "auto" and not self.dlt_available and "dlt" not in a.skip:
            self.notes.append("dlt not installed: the dlt reference was skipped.")
        if a.profile_sizes is None:
            self.profile_sizes = {50_000} & set(a.sizes) or {min(a.sizes)}
        else:
            self.profile_sizes = set(a.profile_sizes)
        self.profiles_dir = a.out_dir / "profiles"
        started = datetime.now(UTC)
        load_start = os.getloadavg()
        engine_before = engine_revision()
        try:
            for size in a.sizes:
                self.bench_size(size)
        finally:
            for name in list(self.databases):
                self.drop(name)
        engine_after = engine_revision()
        if engine_after["engine_sha256"] != engine_before["engine_sha256"]:
            self.notes.append(
                f"The engine sources changed during the run of sizes {a.sizes} (sha256 "
                f"{engine_before['engine_sha256']} -> {engine_after['engine_sha256']}): "
                "scenarios may have measured different versions; rerun for clean numbers."
            )
        return {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "config": {
                "sizes": a.sizes,
                "batch_sizes": a.batch_sizes,
                "seed": a.seed,
                "edit_seed": a.edit_seed,
                "fraction": a.fraction,
                "today": TODAY.isoformat(),
                "now": NOW.isoformat(),
                "baseline_rows": a.baseline_rows,
                "page_size": a.page_size,
                "dlt": self.use_dlt,
                "skip": a.skip,
            },
            "engine": engine_before,
            "machine": machine_info(pg.server_info(a.pg_url)),
            "runs": self.runs,
            "checks": self.checks,
            "profiles": self.profiles,
            "profiles_dir": str(self.profiles_dir),
            "cacheability": self.cacheability,
            "notes": self.notes,
        }


def _ref_missing(runs: list[dict[str, Any]], size: int, scenario: str) -> bool:
    return not any(r["size"] == size and r["scenario"] == scenario for r in runs)


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """New sizes replace old entries of the same size; other sizes are kept."""
    sizes = set(new["config"]["sizes"])

    def keep(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if i.get("size") not in sizes]

    merged = dict(new)
    for key in ("runs", "checks", "profiles", "cacheability"):
        merged[key] = keep(old.get(key, [])) + new.get(key, [])
    merged["config"] = {
        **new["config"],
        "sizes": sorted(sizes | {r["size"] for r in merged["runs"]}),
    }
    merged["notes"] = list(dict.fromkeys((old.get("notes") or []) + (new.get("notes") or [])))
    return merged


def write_markdown(results: dict[str, Any], out_dir: Path, name: str) -> Path:
    """``<name>.md`` from the results, with ``<name>-analysis.md`` included when present."""
    analysis_path = out_dir / f"{name}-analysis.md"
    analysis = analysis_path.read_text(encoding="utf-8") if analysis_path.exists() else None
    md_path = out_dir / f"{name}.md"
    md_path.write_text(render_markdown(results, analysis), encoding="utf-8")
    return md_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    p.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[5_000, 20_000],
        help="engine --batch-size values; the first is the primary one",
    )
    p.add_argument(
        "--page-size", type=int, default=None, help="engine page size (default: the engine's)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--edit-seed", type=int, default=8)
    p.add_argument("--fraction", type=float, default=0.01, help="share of rows edited")
    p.add_argument(
        "--baseline-rows",
        type=int,
        default=50_000,
        help="row-by-row is measured on this many rows and extrapolated",
    )
    p.add_argument("--cache-rows", type=int, default=50_000)
    p.add_argument("--dlt", choices=("auto", "on", "off"), default="auto")
    p.add_argument(
        "--profile-sizes",
        type=int,
        nargs="*",
        default=None,
        help="sizes profiled with pyinstrument (default 50000 if run, else the "
        "smallest; give none to skip)",
    )
    p.add_argument(
        "--profile-upto",
        choices=("initial", "no_change", "force_update"),
        default="force_update",
        help="profile the chain initial -> no_change -> force_update up to this run",
    )
    p.add_argument(
        "--profile-html",
        action="store_true",
        help="also write pyinstrument HTML profiles (tens of MB each; git-ignored)",
    )
    p.add_argument("--skip", nargs="*", default=[], choices=SKIPPABLE)
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks")
    p.add_argument("--name", default="results", help="file stem of the .json and .md")
    p.add_argument("--merge", action="store_true", help="keep other sizes already in the JSON")
    p.add_argument("--pg-url", default=pg.DEFAULT_ADMIN_URL, help="admin URL of the server")
    p.add_argument("--timeout", type=float, default=None, help="seconds per subprocess")
    p.add_argument("--keep-databases", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite <name>.md from <name>.json without running anything",
    )
    args = p.parse_args(argv)
    args.out_dir = args.out_dir.resolve()
    args.skip = list(args.skip)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    json_path = args.out_dir / f"{args.name}.json"
    if args.render_only:
        results = json.loads(json_path.read_text(encoding="utf-8"))
        print(f"wrote {write_markdown(results, args.out_dir, args.name)}")
        return 0
    if not pg.reachable(args.pg_url):
        print(
            f"PostgreSQL is not reachable at {pg.libpq_url(args.pg_url).split('@')[-1]}",
            file=sys.stderr,
        )
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="student_sync_bench_") as tmp:
        results = Harness(args, Path(tmp)).execute()
    if args.merge and json_path.exists():
        results = merge_results(json.loads(json_path.read_text(encoding="utf-8")), results)
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    md_path = write_markdown(results, args.out_dir, args.name)
    failed = [c for c in results["checks"] if not c["ok"]]
    if not args.quiet:
        print(
            f"wrote {md_path} and {json_path}"
            + (f"; {len(failed)} check(s) FAILED" if failed else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
