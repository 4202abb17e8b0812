"""Dagster at school scale: a real instance (webserver + daemon), driven as an operator would.

For each instance storage (SQLite files under DAGSTER_HOME, and PostgreSQL through
dagster-postgres in a database of its own on the local server) this script:

1. seeds a SIS database on the local PostgreSQL once: ``init``, 18,999 demo students (19 ID
   ranges of 1,000), an initial ``migrate``, then a day of edits stamped yesterday;
2. builds the partition history of three years synthetically: ``STUDENT_SYNC_FIRST_DAY``
   three years back, the 19 ranges registered, and one materialization per cell for each of the
   seven 2-D assets (what three years of daily runs leave behind), written in batches through
   the instance's event storage;
3. starts ``dagster-webserver`` and ``dagster-daemon`` on the project's ``dagster.yaml``;
4. measures through the webserver's GraphQL, using the real schedules' run requests
   (``scheduleDryRun``, then ``launchMultipleRuns``, as the UI's "Test schedule" does):
   - one cell of all seven assets, launch -> success;
   - the daily schedule for 19 ranges, launch -> last run's success;
   - the weekly full refresh of 19 ranges, launch -> last success, and the events it wrote;
5. times the partitions page of ``student_profiles`` in headless Chromium (DevTools protocol):
   navigation start -> the partition bar's counts on screen.

Results go to ``benchmarks/results-dagster.json`` and ``.md`` with the machine's load
(``uptime``) before and after each storage, since the machine may be shared.

    .venv/bin/python -m benchmarks.dagster_scale [--storages sqlite postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.pg import DEFAULT_ADMIN_URL, create_database, drop_database, libpq_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCHOOL = ZoneInfo("Asia/Phnom_Penh")
CELL_ASSETS = (
    "legacy_students",
    "student_change_set",
    "persons",
    "student_profiles",
    "emergency_contacts",
    "sponsorships",
    "sync_report",
)
# ids 1..18900, plus ~0.2% new students from the day of edits: 19 ranges of 1,000
# (0-999 .. 18000-18999), as at the school.
STUDENTS = 18_900
RANGES = [f"{k * 1000}-{k * 1000 + 999}" for k in range(19)]
SIS_DB = "student_sync_bench_dagster_sis"
DAGSTER_DB = "student_sync_bench_dagster_storage"
TARGETS = {
    "one_cell_s": 5.0,
    "daily_19_ranges_s": 120.0,
    "weekly_19_ranges_s": 600.0,
    "partitions_page_s": 3.0,
}


# --------------------------------------------------------------------------- helpers
def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(BIN / "student-sync"), *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def school_yesterday() -> date:
    return datetime.now(UTC).astimezone(SCHOOL).date() - timedelta(days=1)


class GraphQL:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            data = json.loads(exc.read() or b"{}") or {"errors": [str(exc)]}
        if data.get("errors"):
            raise RuntimeError(json.dumps(data["errors"])[:2000])
        return data["data"]


DRY_RUN = """mutation($s: ScheduleSelector!, $t: Float) { scheduleDryRun(selectorData: $s,
  timestamp: $t) { __typename ... on DryRunInstigationTick { evaluationResult {
  skipReason error { message } runRequests { runKey jobName runConfigYaml
  tags { key value } } } } ... on PythonError { message } } }"""
LAUNCH = """mutation($p: [ExecutionParams!]!) { launchMultipleRuns(executionParamsList: $p) {
  __typename ... on LaunchMultipleRunsResult { launchMultipleRunsResult { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
  ... on PythonError { message } } }"""
RUNS = """query($ids: [String!]) { runsOrError(filter: {runIds: $ids}) { ... on Runs {
  results { runId status startTime endTime } } } }"""


def schedule_requests(gql: GraphQL, name: str, job: str, when: datetime) -> list[dict[str, Any]]:
    """The run requests the schedule's tick at ``when`` makes (the UI's "Test schedule")."""
    selector = {
        "repositoryLocationName": "student_sync",
        "repositoryName": "__repository__",
        "scheduleName": name,
    }
    result = gql(DRY_RUN, {"s": selector, "t": when.timestamp()})["scheduleDryRun"]
    evaluation = result["evaluationResult"]
    if evaluation["error"] or not evaluation["runRequests"]:
        raise RuntimeError(f"{name}: {evaluation}")
    # A request that names no job runs the schedule's own job.
    return [{**r, "jobName": r["jobName"] or job} for r in evaluation["runRequests"]]


def one_cell(request: dict[str, Any], id_range: str, day: date) -> dict[str, Any]:
    """The daily run request narrowed to one cell, tagged as the UI tags a one-cell launch."""
    tags = [t for t in request["tags"] if not t["key"].startswith("dagster/asset_partition_range")]
    tags += [
        {"key": "dagster/partition", "value": f"{id_range}|{day.isoformat()}"},
        {"key": "dagster/partition/id_range", "value": id_range},
        {"key": "dagster/partition/modified_date", "value": day.isoformat()},
    ]
    return {**request, "tags": tags}


def launch(gql: GraphQL, requests: Sequence[dict[str, Any]]) -> list[str]:
    params = [
        {
            "selector": {
                "repositoryLocationName": "student_sync",
                "repositoryName": "__repository__",
                "jobName": r["jobName"],
            },
            "runConfigData": r["runConfigYaml"],
            "executionMetadata": {"tags": r["tags"]},
        }
        for r in requests
    ]
    results = gql(LAUNCH, {"p": params})["launchMultipleRuns"]["launchMultipleRunsResult"]
    ids = [r["run"]["runId"] for r in results if r["__typename"] == "LaunchRunSuccess"]
    if len(ids) != len(requests):
        raise RuntimeError(f"launch failed: {results}")
    return ids


def wait_runs(gql: GraphQL, ids: Sequence[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        runs = gql(RUNS, {"ids": list(ids)})["runsOrError"]["results"]
        done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        if len(done) == len(ids):
            return runs
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(done)} of {len(ids)} runs finished in {timeout:.0f} s")
        time.sleep(0.2)


def timed_launch(
    gql: GraphQL, requests: Sequence[dict[str, Any]], timeout: float
) -> dict[str, Any]:
    started = time.monotonic()
    ids = launch(gql, requests)
    runs = wait_runs(gql, ids, timeout)
    wall = time.monotonic() - started
    failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
    in_run = [r["endTime"] - r["startTime"] for r in runs if r["startTime"] and r["endTime"]]
    return {
        "wall_s": round(wall, 2),
        "runs": len(ids),
        "failed": failed,
        "run_ids": ids,
        "median_in_run_s": round(statistics.median(in_run), 2) if in_run else None,
    }


# --------------------------------------------------------------------------- set-up
def seed_sis(env: dict[str, str]) -> None:
    cli(env, "init")
    cli(env, "demo-data", "--students", str(STUDENTS), "--seed", "7")
    cli(env, "migrate", "--batch-size", "5000", "--quiet")
    cli(env, "demo-data", "--apply-edits", "--seed", "8")


def instance_yaml(storage: str) -> str:
    text = (ROOT / "dagster.yaml").read_text(encoding="utf-8")
    if storage == "postgres":
        text += "\nstorage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"
    return text


@contextmanager
def bench_instance(home: Path, env: dict[str, str]) -> Iterator[Any]:
    """The instance of ``home`` opened in this process (its yaml may read DAGSTER_PG_URL)."""
    import dagster as dg

    saved = os.environ.get("DAGSTER_PG_URL")
    if "DAGSTER_PG_URL" in env:
        os.environ["DAGSTER_PG_URL"] = env["DAGSTER_PG_URL"]
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_PG_URL", None)
        else:
            os.environ["DAGSTER_PG_URL"] = saved


@contextmanager
def sqlite_without_fsync() -> Iterator[None]:
    """``PRAGMA synchronous=OFF`` on every SQLite connection opened meanwhile (seeding only)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def no_fsync(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.execute("PRAGMA synchronous=OFF")

    event.listen(Engine, "connect", no_fsync)
    try:
        yield
    finally:
        event.remove(Engine, "connect", no_fsync)


def synthetic_history(
    home: Path, env: dict[str, str], first_day: date, last_day: date, assets: Sequence[str]
) -> dict[str, Any]:
    """Register the ranges and record one materialization per cell of ``assets``, in batches.

    What three years of daily runs leave in the event log (minus the runs' other events),
    written straight through the event storage. Dagster stores ~40 such events a second on
    SQLite here, so all seven assets (~146,000 events) would take an hour to seed; by
    default only ``student_profiles``, whose partitions page is timed, gets its history.
    """
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    days = [(first_day + timedelta(n)).isoformat() for n in range((last_day - first_day).days + 1)]

    def entry(asset: str, id_range: str, day: str) -> EventLogEntry:
        key = dg.MultiPartitionKey({"id_range": id_range, "modified_date": day})
        materialization = dg.AssetMaterialization(asset_key=asset, partition=key)
        event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=RUNLESS_JOB_NAME,
            event_specific_data=StepMaterializationData(materialization),
        )
        return EventLogEntry(
            user_message="",
            level=20,
            job_name=RUNLESS_JOB_NAME,
            run_id=RUNLESS_RUN_ID,
            error_info=None,
            timestamp=time.time(),
            step_key=None,
            dagster_event=event,
        )

    started, total = time.monotonic(), 0
    with bench_instance(home, env) as instance, sqlite_without_fsync():
        instance.add_dynamic_partitions("id_ranges", RANGES)
        for asset in assets:
            for id_range in RANGES:
                batch = [entry(asset, id_range, day) for day in days]
                instance.event_log_storage.store_event_batch(batch)
                total += len(batch)
    return {
        "cells": len(RANGES) * len(days),
        "assets": list(assets),
        "events": total,
        "seconds": round(time.monotonic() - started, 1),
    }


@contextmanager
def dagster_services(env: dict[str, str], port: int, logs: Path) -> Iterator[GraphQL]:
    procs = []
    try:
        for name, args in (
            (
                "webserver",
                [
                    str(BIN / "dagster-webserver"),
                    "-w",
                    "workspace.yaml",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
            ),
            ("daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]),
        ):
            out = (logs / f"{name}.log").open("w")
            procs.append(
                subprocess.Popen(
                    args,
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        gql = GraphQL(port)
        deadline = time.monotonic() + 180
        while True:
            try:
                gql("{ version }")
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        time.sleep(5)  # the daemon loads the code location too
        gql("mutation { setNuxSeen }")  # no "join the community" dialog over the pages
        yield gql
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- partitions page
def page_render_times(
    port: int, url_path: str, marker_js: str, loads: int, tmp: Path
) -> list[float]:
    """Seconds from navigation start to ``marker_js`` being true, per load (the first is cold)."""
    from websockets.sync.client import connect

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("chromium not found: apt-get install -y chromium")
    debug_port = free_port()
    proc = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp / 'chromium'}",
            f"--remote-debugging-port={debug_port}",
            "--window-size=1600,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/list") as r:
                    pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        counter = iter(range(1, 10**6))

        def call(ws: Any, method: str, **params: Any) -> dict[str, Any]:
            message_id = next(counter)
            ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
            while True:
                reply = json.loads(ws.recv())
                if reply.get("id") == message_id:
                    return reply.get("result", {})

        times = []
        with connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as ws:
            call(ws, "Page.enable")
            for _ in range(loads):
                call(ws, "Page.navigate", url="about:blank")
                started = time.monotonic()
                call(ws, "Page.navigate", url=f"http://127.0.0.1:{port}{url_path}")
                while True:
                    value = call(ws, "Runtime.evaluate", expression=marker_js, returnByValue=True)[
                        "result"
                    ].get("value")
                    if value:
                        break
                    if time.monotonic() - started > 120:
                        text = call(
                            ws,
                            "Runtime.evaluate",
                            returnByValue=True,
                            expression="document.body.innerText",
                        )["result"]
                        raise TimeoutError(
                            "the partitions page did not render in 120 s; "
                            f"it shows: {str(text.get('value'))[:1500]!r}"
                        )
                    time.sleep(0.05)
                times.append(round(time.monotonic() - started, 2))
            call(ws, "Page.captureScreenshot")  # proves the page is drawable
        return times
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# The partitions view is drawn once its legend counts the cells ("Materialized (20,824)") and
# the ID-range rows are listed; both come from the partition health query.
PARTITIONS_MARKER = (
    "(() => { const t = document.body ? document.body.innerText : '';"
    " return /Materialized \\(\\d/.test(t) && /Partitions Selected/.test(t)"
    " && t.includes('18000-18999'); })()"
)


def count_events(home: Path, env: dict[str, str], run_ids: Sequence[str]) -> dict[str, int]:
    """Events and materializations the runs wrote to the instance's event log."""
    with bench_instance(home, env) as instance:
        logs = [e for run_id in run_ids for e in instance.all_logs(run_id)]
    materializations = [
        e for e in logs if e.dagster_event and e.dagster_event.is_step_materialization
    ]
    return {"events": len(logs), "materializations": len(materializations)}


# --------------------------------------------------------------------------- one storage
def measure(
    storage: str, sis_url: str, repeat: int, work: Path, years: int, history_assets: Sequence[str]
) -> dict[str, Any]:
    home = work / f"home_{storage}"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(instance_yaml(storage), encoding="utf-8")
    yesterday = school_yesterday()
    first_day = (
        yesterday.replace(year=yesterday.year - years) if years else yesterday - timedelta(days=6)
    ) + timedelta(days=1)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STUDENT_SYNC_DATABASE_URL": sis_url,
        "STUDENT_SYNC_FIRST_DAY": first_day.isoformat(),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    if storage == "postgres":
        env["DAGSTER_PG_URL"] = libpq_url(create_database(DEFAULT_ADMIN_URL, DAGSTER_DB))
    out: dict[str, Any] = {
        "storage": storage,
        "first_day": first_day.isoformat(),
        "last_day": yesterday.isoformat(),
        "load_before": load(),
    }
    out["history"] = synthetic_history(home, env, first_day, yesterday, history_assets)
    print(f"[{storage}] history: {out['history']}", flush=True)
    port = free_port()
    with dagster_services(env, port, home) as gql:
        today_2am = datetime.combine(
            yesterday + timedelta(days=1), datetime.min.time(), SCHOOL
        ).replace(hour=2)
        daily = schedule_requests(gql, "student_sync_daily_schedule", "student_sync_job", today_2am)
        cell = one_cell(daily[0], RANGES[0], yesterday)
        cells = [timed_launch(gql, [cell], timeout=300) for _ in range(repeat)]
        out["one_cell"] = {
            "wall_s": [c["wall_s"] for c in cells],
            "in_run_s": [c["median_in_run_s"] for c in cells],
            "median_wall_s": statistics.median(c["wall_s"] for c in cells),
            "failed": sum(len(c["failed"]) for c in cells),
        }
        out["one_cell"].update(count_events(home, env, cells[-1]["run_ids"]))
        print(f"[{storage}] one cell: {out['one_cell']}", flush=True)
        out["daily"] = timed_launch(gql, daily, timeout=1800)
        out["daily"].update(count_events(home, env, out["daily"].pop("run_ids")))
        print(f"[{storage}] daily: {out['daily']}", flush=True)
        sunday = today_2am + timedelta(days=(6 - today_2am.weekday()) % 7)
        weekly = schedule_requests(
            gql,
            "student_sync_weekly_full_refresh",
            "student_sync_full_refresh_job",
            sunday.replace(hour=3),
        )
        out["weekly"] = timed_launch(gql, weekly, timeout=3600)
        out["weekly"].update(count_events(home, env, out["weekly"].pop("run_ids")))
        print(f"[{storage}] weekly: {out['weekly']}", flush=True)
        path = "/assets/student_profiles?view=partitions"
        out["partitions_page_s"] = page_render_times(
            port, path, PARTITIONS_MARKER, loads=repeat + 1, tmp=home
        )
        print(f"[{storage}] partitions page: {out['partitions_page_s']}", flush=True)
    out["load_after"] = load()
    if storage == "postgres":
        drop_database(DEFAULT_ADMIN_URL, DAGSTER_DB)
    return out


# --------------------------------------------------------------------------- report
def verdicts(run: dict[str, Any]) -> dict[str, tuple[float, bool]]:
    figures = {
        "one_cell_s": run["one_cell"]["median_wall_s"],
        "daily_19_ranges_s": run["daily"]["wall_s"],
        "weekly_19_ranges_s": run["weekly"]["wall_s"],
        "partitions_page_s": statistics.median(
            run["partitions_page_s"][1:] or run["partitions_page_s"]
        ),
    }
    return {k: (v, v <= TARGETS[k]) for k, v in figures.items()}


def render_markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Dagster at school scale: measured results",
        "",
        f"Run {results['started_at']} by `python -m benchmarks.dagster_scale` on "
        f"{results['machine']}. {STUDENTS:,} demo students in a PostgreSQL SIS database, "
        "19 ID ranges x 3 years of daily partitions (history built synthetically: one "
        "materialization per cell of the asset whose page is timed), real webserver + "
        "daemon on the project's dagster.yaml, runs launched through GraphQL from the "
        "schedules' own run requests.",
        "",
        "| what | target | " + " | ".join(r["storage"] for r in results["runs"]) + " |",
        "|---|---:|" + "---:|" * len(results["runs"]),
    ]
    names = {
        "one_cell_s": "one cell, all 7 assets, launch -> success (median)",
        "daily_19_ranges_s": "daily schedule, 19 ranges (one run of 19 cells)",
        "weekly_19_ranges_s": "weekly full refresh, 19 ranges x 3 years (19 runs)",
        "partitions_page_s": "partitions page, 3 years of cells (warm, median)",
    }
    judged = [verdicts(r) for r in results["runs"]]
    for key, label in names.items():
        cells = [f"{v[key][0]:.1f} s {'ok' if v[key][1] else '**miss**'}" for v in judged]
        lines.append(f"| {label} | <= {TARGETS[key]:.0f} s | " + " | ".join(cells) + " |")
    lines += ["", "Details per storage:", ""]
    for r in results["runs"]:
        lines += [
            f"## {r['storage']}",
            "",
            f"- load before: `{r['load_before']}`; after: `{r['load_after']}`",
            f"- synthetic history: {r['history']['events']:,} materializations "
            f"({r['history']['cells']:,} cells of {', '.join(r['history']['assets'])}) written "
            f"in {r['history']['seconds']} s",
            f"- one cell: wall {r['one_cell']['wall_s']} s, in-run {r['one_cell']['in_run_s']} s, "
            f"{r['one_cell']['events']} events ({r['one_cell']['materializations']} "
            "materializations) per run",
            f"- daily: {r['daily']['runs']} runs in {r['daily']['wall_s']} s (median in-run "
            f"{r['daily']['median_in_run_s']} s), {r['daily']['events']:,} events, "
            f"{r['daily']['materializations']} materializations, failed: {r['daily']['failed']}",
            f"- weekly: {r['weekly']['runs']} runs in {r['weekly']['wall_s']} s (median in-run "
            f"{r['weekly']['median_in_run_s']} s), {r['weekly']['events']:,} events, "
            f"{r['weekly']['materializations']} materializations, failed: "
            f"{r['weekly']['failed']}",
            f"- partitions page loads (first cold): {r['partitions_page_s']} s",
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    # A kill (timeout, Ctrl-C) still stops the webserver and daemon and drops the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--storages", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--years",
        type=int,
        default=3,
        help="partition history in years (0: one week, a smoke test)",
    )
    parser.add_argument(
        "--history-assets",
        nargs="+",
        default=["student_profiles"],
        choices=CELL_ASSETS,
        help="2-D assets that get a synthetic history",
    )
    parser.add_argument("--name", default="results-dagster")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="student_sync_dagster_bench_"))
    sis_url = create_database(DEFAULT_ADMIN_URL, SIS_DB)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        seed_env = {**os.environ, "STUDENT_SYNC_DATABASE_URL": sis_url}
        seeding = time.monotonic()
        seed_sis(seed_env)
        print(f"seeded the SIS in {time.monotonic() - seeding:.0f} s", flush=True)
        runs = [
            measure(s, sis_url, args.repeat, work, args.years, args.history_assets)
            for s in args.storages
        ]
    finally:
        drop_database(DEFAULT_ADMIN_URL, SIS_DB)
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "started_at": started,
        "machine": f"{os.cpu_count()} cores, {load()}",
        "targets": TARGETS,
        "runs": runs,
    }
    out = Path(__file__).with_name(f"{args.name}.json")
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(render_markdown(results), encoding="utf-8")
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
