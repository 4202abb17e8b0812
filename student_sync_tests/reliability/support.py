"""Shared tools of the reliability tests: CLI subprocesses, faults, and end-state comparison.

The end state of a sync is compared by content keyed on ``student_id``: generated ids,
``unique_id`` and the audit timestamps differ between two runs that did the same thing, so
they are left out; everything a user could see (values, soft-delete flags, contacts,
sponsorship periods, sync state, open rejections) is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from student_sync import demo
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.lock import ADVISORY_LOCK_KEY
from student_sync_tests.conftest import PG_ADMIN_URL, fresh_postgres_url

FAULT_DIR = Path(__file__).with_name("faults")
DEMO_TODAY = date(2026, 3, 10)
AUDIT = {"id", "unique_id", "created_at", "updated_at", "deleted_at", "person_id"}


# --------------------------------------------------------------------------- subprocesses
def cli_env(fault: str | None = None, workdir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess, with the test-only fault hook when asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDENT_SYNC_")}
    if fault:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(FAULT_DIR), env.get("PYTHONPATH", "")) if p
        )
        env["STUDENT_SYNC_TEST_FAULT"] = fault
        if workdir is not None:
            env["STUDENT_SYNC_TEST_FAULT_LOG"] = str(workdir / "faults.log")
            env["STUDENT_SYNC_TEST_FAULT_FILE"] = str(workdir / "paused.flag")
    env.update(extra)
    return env


def start_cli(
    *args: str, cwd: Path, fault: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "student_sync", *args],
        cwd=cwd,
        env=env if env is not None else cli_env(fault, cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    *args: str,
    cwd: Path,
    fault: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    proc = start_cli(*args, cwd=cwd, fault=fault, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def migrate_args(url: str, workdir: Path, *extra: str, batch_size: int = 500) -> list[str]:
    return [
        "migrate",
        "--database-url",
        url,
        "--batch-size",
        str(batch_size),
        "--reports-dir",
        str(workdir / "reports"),
        "--quiet",
        *extra,
    ]


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until a paused subprocess wrote its flag file (or fail if it ended first)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended before the pause point: {proc.returncode}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError("pause point not reached in time")
        time.sleep(0.02)


# --------------------------------------------------------------------------- databases
@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards), outside pytest fixtures."""
    gen = fresh_postgres_url()
    url = next(gen)
    try:
        yield url
    finally:
        gen.close()


def admin_execute(sql: str, **params: Any) -> list[Any]:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def terminate_sync_backends(url: str) -> int:
    """pg_terminate_backend on every student_sync connection to this database."""
    found = admin_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :db AND application_name = 'student_sync' AND pid <> pg_backend_pid()",
        db=make_url(url).database,
    )
    return sum(1 for (ok,) in found if ok)


def seed_legacy(url: str, n: int, seed: int = 7, *, start_id: int = 1) -> int:
    """A synthetic legacy_students table of ``n`` rows (demo generator, fixed day)."""
    engine = make_engine(normalize_url(url))
    try:
        return demo.write_legacy_table(
            engine, demo.generate_legacy_rows(n, seed, start_id=start_id, today=DEMO_TODAY)
        )
    finally:
        engine.dispose()


def clone_database(source_url: str) -> str:
    """A new PostgreSQL database copied from ``source_url`` (CREATE DATABASE ... TEMPLATE)."""
    import uuid

    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(source_url).database}"')
    return make_url(source_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


# --------------------------------------------------------------------------- end state
def _rows(conn, table) -> list[dict[str, Any]]:  # noqa: ANN001
    return [dict(r) for r in conn.execute(select(table)).mappings()]


def _plain(row: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in drop}
    if "deleted_at" in row:
        out["has_deleted_at"] = row["deleted_at"] is not None
    return out


def sync_content(url: str) -> dict[str, Any]:
    """Everything a user could see of the sync's result, keyed by student_id."""
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        persons = {r["id"]: r for r in _rows(conn, schema.person)}
        profiles = _rows(conn, schema.student_profile)
        contacts: dict[int, list] = defaultdict(list)
        for c in _rows(conn, schema.emergency_contact):
            contacts[c["person_id"]].append(_plain(c, AUDIT))
        codes = {r["id"]: r["code"] for r in _rows(conn, schema.sponsor)}
        sponsorships: dict[int, list] = defaultdict(list)
        for s in _rows(conn, schema.sponsored_student):
            entry = _plain(s, AUDIT | {"student_id", "sponsor_id"})
            sponsorships[s["student_id"]].append({**entry, "code": codes[s["sponsor_id"]]})
        states = {
            r["student_id"]: _plain(
                r,
                {"person_id", "profile_id", "contact_id", "last_run_id", "updated_at"},
            )
            for r in _rows(conn, schema.sync_state)
        }
        rejections = sorted(
            (r["legacy_id"], r["ipk"], r["reason"], r["detail"], r["resolved_at"] is None)
            for r in _rows(conn, schema.rejection)
        )
    engine.dispose()
    students: dict[int, Any] = {}
    for p in profiles:
        sort = lambda xs: sorted(xs, key=lambda d: json.dumps(d, default=str, sort_keys=True))  # noqa: E731
        students[p["student_id"]] = {
            "person": _plain(persons[p["person_id"]], AUDIT),
            "profile": _plain(p, AUDIT),
            "contacts": sort(contacts.get(p["person_id"], [])),
            "sponsorships": sort(sponsorships.get(p["id"], [])),
            "state": states.get(p["student_id"]),
        }
    orphan_states = {k: v for k, v in states.items() if k not in students}
    return {"students": students, "orphan_states": orphan_states, "rejections": rejections}


def checksum(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, default=str, sort_keys=True).encode()).hexdigest()


def describe_difference(a: dict[str, Any], b: dict[str, Any], limit: int = 5) -> str:
    """A short human diff of two ``sync_content`` results (for assertion messages)."""
    lines = []
    sa, sb = a["students"], b["students"]
    lines.append(f"students {len(sa)} vs {len(sb)}")
    only_a, only_b = sorted(set(sa) - set(sb)), sorted(set(sb) - set(sa))
    if only_a or only_b:
        lines.append(f"only in first: {only_a[:limit]}; only in second: {only_b[:limit]}")
    differing = [k for k in sorted(set(sa) & set(sb)) if sa[k] != sb[k]]
    for k in differing[:limit]:
        for part in sa[k]:
            if sa[k][part] != sb[k][part]:
                lines.append(f"student {k} {part}: {sa[k][part]!r} != {sb[k][part]!r}")
    if a["rejections"] != b["rejections"]:
        ra, rb = set(a["rejections"]), set(b["rejections"])
        lines.append(
            f"rejections only first {sorted(ra - rb)[:limit]}, second {sorted(rb - ra)[:limit]}"
        )
    if a["orphan_states"] != b["orphan_states"]:
        lines.append("orphan sync states differ")
    return "\n".join(lines)


_CONSISTENCY_CHECKS: dict[str, str] = {
    "duplicate student_id": "SELECT student_id FROM people_studentprofile "
    "GROUP BY student_id HAVING COUNT(*) > 1",
    "person without exactly one profile": "SELECT p.id FROM people_person p "
    "LEFT JOIN people_studentprofile sp ON sp.person_id = p.id GROUP BY p.id "
    "HAVING COUNT(sp.id) <> 1",
    "two primary contacts": "SELECT person_id FROM people_emergencycontact WHERE is_primary "
    "GROUP BY person_id HAVING COUNT(*) > 1",
    "two open periods with one sponsor": "SELECT student_id FROM scholarships_sponsoredstudent "
    "WHERE end_date IS NULL GROUP BY student_id, sponsor_id HAVING COUNT(*) > 1",
    "profile without sync state": "SELECT sp.student_id FROM people_studentprofile sp "
    "LEFT JOIN student_sync_state s ON s.student_id = sp.student_id WHERE s.student_id IS NULL",
    "state points at other rows": "SELECT s.student_id FROM student_sync_state s "
    "JOIN people_studentprofile sp ON sp.student_id = s.student_id "
    "WHERE s.profile_id <> sp.id OR s.person_id <> sp.person_id",
    "soft-delete flags disagree": "SELECT s.student_id FROM student_sync_state s "
    "JOIN people_studentprofile sp ON sp.student_id = s.student_id "
    "JOIN people_person p ON p.id = sp.person_id "
    "WHERE s.is_deleted <> sp.is_deleted OR sp.is_deleted <> p.is_deleted",
    "state names a missing contact": "SELECT s.student_id FROM student_sync_state s "
    "JOIN people_studentprofile sp ON sp.student_id = s.student_id "
    "WHERE s.contact_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM people_emergencycontact c "
    "WHERE c.id = s.contact_id AND c.person_id = sp.person_id)",
    "contact the state does not know": "SELECT s.student_id FROM student_sync_state s "
    "JOIN people_studentprofile sp ON sp.student_id = s.student_id "
    "WHERE s.contact_id IS NULL AND EXISTS (SELECT 1 FROM people_emergencycontact c "
    "WHERE c.person_id = sp.person_id)",
    "state without its profile": "SELECT s.student_id FROM student_sync_state s "
    "WHERE s.person_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM people_studentprofile sp "
    "WHERE sp.id = s.profile_id AND sp.student_id = s.student_id)",
}


def consistency_problems(url: str) -> list[str]:
    """Duplicates and disagreements between the sync state and the SIS rows (in SQL)."""
    engine = create_engine(normalize_url(url))
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            for name, sql in _CONSISTENCY_CHECKS.items():
                found = [r[0] for r in conn.execute(text(f"{sql} LIMIT 5"))]
                if found:
                    problems.append(f"{name}: {found}")
    finally:
        engine.dispose()
    return problems


def ledger(url: str) -> list[dict[str, Any]]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                select(schema.run_ledger).order_by(schema.run_ledger.c.started_at)
            ).mappings()
        ]
    engine.dispose()
    return rows


def lock_is_free(url: str, timeout: float = 10.0) -> bool:
    """True when the run lock can be taken (and is given back at once)."""
    engine = create_engine(normalize_url(url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                got = conn.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK_KEY))).scalar()
                if got:
                    conn.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
    finally:
        engine.dispose()


def sqlite_lock_is_free(url: str) -> bool:
    import fcntl

    path = Path(make_url(url).database or "").resolve()
    lock = path.with_name(path.name + ".lock")
    if not lock.exists():
        return True
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def text_values(url: str, tables: tuple[Any, ...]) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) for every non-null text cell of the given tables."""
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        for t in tables:
            for row in conn.execute(select(t)).mappings():
                for column, value in row.items():
                    if value is not None:
                        yield t.name, column, str(value)
    engine.dispose()


def heavy_edits(url: str, seed: int = 11) -> None:
    """A big, deterministic day of edits: renames, contact removals and changes, sponsor
    changes and additions, legacy deletions, vanished rows (under the 2% guard), new students."""
    from student_sync.engine.extract import LegacySource

    engine = make_engine(normalize_url(url))
    with engine.connect() as conn:
        table = LegacySource.reflect(conn).table
        rows = [dict(r) for r in conn.execute(select(table)).mappings()]
    rows.sort(key=lambda r: (len(str(r["id"])), str(r["id"])))
    edited: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if i % 150 == 149:
            continue  # vanished from the legacy table
        name = row["name"] or ""
        if i % 6 == 0 and " " in name:
            row["name"] = name.replace(" ", " Ed", 1)
        if i % 9 == 0:
            row["emg_contact_person"] = None
        elif i % 11 == 0:
            row["contact_person_phone"] = "012 999 888"
        if i % 13 == 0:
            row["name"] = (row["name"] or "").replace("<CRST>", "<PLF>").replace("<PEPY>", "<LOC>")
        if i % 17 == 0 and row["name"]:
            row["name"] = f"{row['name']} <JWOC>"
        if i % 40 == 0:
            row["deleted"] = "1"
        edited.append(row)
    new = list(demo.generate_legacy_rows(300, seed, start_id=len(rows) + 1, today=DEMO_TODAY))
    columns = list(table.c.keys())
    edited += [{c: r.get(c) for c in columns} for r in new]
    try:
        demo.write_legacy_table(engine, edited)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- kill scenarios
def killed_run(url: str, workdir: Path, fault: str) -> int:
    """Run ``migrate`` with a kill fault; assert it died by SIGKILL where asked. Returns the pid."""
    import signal

    # Two transform workers whatever the data size: a kill must take them down too.
    proc = start_cli(*migrate_args(url, workdir, *KILLED_WITH), cwd=workdir, fault=fault)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == -signal.SIGKILL, (
        f"{fault}: expected SIGKILL, got exit {proc.returncode}\n{err[-3000:]}"
    )
    point = fault.partition("@")[2]
    log = workdir / "faults.log"
    fired = log.read_text() if log.exists() else ""
    assert f"kill {point} pid={proc.pid}" in fired, f"{fault} fired elsewhere: {fired}"
    return proc.pid


def lock_free(url: str) -> bool:
    return sqlite_lock_is_free(url) if url.startswith("sqlite") else lock_is_free(url)


def externally_killed_run(url: str, workdir: Path, delay: float) -> int | None:
    """Start ``migrate`` and SIGKILL it from outside after ``delay`` seconds.

    Returns its pid, or None when the run had already finished (the delay was too long)."""
    proc = start_cli(*migrate_args(url, workdir, *KILLED_WITH), cwd=workdir)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=60)  # EOF only once no worker holds the pipes any more
        return proc.pid
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return None


KILLED_WITH = ("--workers", "2")


def survivors(workdir: Path) -> list[int]:
    """Live processes started for runs in ``workdir`` (their command line names it)."""
    marker = str(workdir / "reports").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def assert_whole_after_kill(
    url: str, pid: int, fault: str, workdir: Path
) -> tuple[str, str] | None:
    """Right after a kill: no worker left, lock free, state consistent; returns the killed
    run's ledger (run_id, status), or None when it died before writing its ledger row."""
    deadline = time.monotonic() + 10
    while survivors(workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not survivors(workdir), f"{fault}: worker processes outlived the killed run"
    assert lock_free(url), f"{fault}: the run lock outlived the killed process"
    problems = consistency_problems(url)
    assert not problems, f"{fault}: half-applied state after the kill: {problems[:5]}"
    mine = [r for r in ledger(url) if r["pid"] == pid]
    if not mine:
        assert fault.startswith("kill@after:"), f"{fault}: no ledger row for the killed run"
        return None
    status = mine[-1]["status"]
    if fault.startswith("kill@after:"):  # a blind kill may land after the ledger was closed
        assert status in ("running", "completed"), f"{fault}: ledger says {status}"
    else:
        expected = "completed" if fault.endswith("@report") else "running"
        assert status == expected, f"{fault}: ledger says {status}"
    return mine[-1]["run_id"], status


def kill_and_converge(
    url: str,
    workdir: Path,
    faults: list[str],
    reference: dict[str, Any] | Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Kill a run at each fault in turn (each kill interrupting the previous one's recovery),
    then run normally once: the end state must equal ``reference`` (or what it returns)."""
    workdir.mkdir(parents=True, exist_ok=True)
    killed: dict[str, str] = {}  # run_id -> its ledger status right after the kill
    for fault in faults:
        if fault.startswith("external@"):  # SIGKILL from outside after a delay (seconds)
            pid = externally_killed_run(url, workdir, float(fault.partition("@")[2]))
            with (workdir / "external.log").open("a") as log:
                log.write(f"{fault} landed={pid is not None}\n")
            if pid is None:
                continue
            fault = "kill@after:" + fault.partition("@")[2]
        else:
            pid = killed_run(url, workdir, fault)
        found = assert_whole_after_kill(url, pid, fault, workdir)
        if found:
            killed[found[0]] = found[1]
    final = run_cli(*migrate_args(url, workdir), cwd=workdir)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    status = {r["run_id"]: r for r in ledger(url)}
    for run_id, at_kill in killed.items():
        want = "abandoned" if at_kill == "running" else at_kill
        assert status[run_id]["status"] == want, f"{run_id}: ledger {status[run_id]['status']}"
        if want == "abandoned":
            assert "killed or crashed" in (status[run_id]["error"] or "")
    assert not [r for r in status.values() if r["status"] == "running"]
    assert lock_free(url)
    assert consistency_problems(url) == []
    for report in (workdir / "reports").glob("*.json"):
        json.loads(report.read_text(encoding="utf-8"))  # never a torn report under its name
    content = sync_content(url)
    expected = reference() if callable(reference) else reference
    assert content == expected, describe_difference(content, expected)
    return content


class ReferenceRuns:
    """Uninterrupted runs, started in the background so kill scenarios overlap them.

    ``reference()``: the end state of one full run of ``fresh``'s legacy table;
    ``edited()``: a copy of that end state plus ``heavy_edits``, not yet migrated;
    ``reference_edited()``: the end state of the uninterrupted incremental run over it.
    """

    def __init__(self, fresh: str, workdir: Path) -> None:
        self.fresh, self.workdir = fresh, workdir
        self.url = clone_database(fresh)
        self._full: subprocess.Popen | None = start_cli(
            *migrate_args(self.url, workdir), cwd=workdir
        )
        self._incremental: subprocess.Popen | None = None
        self._reference: dict[str, Any] | None = None
        self._edited: str | None = None
        self._reference_edited: dict[str, Any] | None = None

    @staticmethod
    def _wait(proc: subprocess.Popen) -> None:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"reference run failed ({proc.returncode}): {err[-3000:]}"

    def reference(self) -> dict[str, Any]:
        if self._reference is None:
            assert self._full is not None
            self._wait(self._full)
            self._reference = sync_content(self.url)
        return self._reference

    def edited(self) -> str:
        if self._edited is None:
            self.reference()
            heavy_edits(self.url)
            self._edited = clone_database(self.url)
            self._incremental = start_cli(*migrate_args(self.url, self.workdir), cwd=self.workdir)
        return self._edited

    def seconds(self, which: int = 0) -> float:
        """Wall time of reference run ``which`` (0 full, 1 incremental) from its report."""
        reports = sorted((self.workdir / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
        return float(json.loads(reports[which].read_text())["migration_info"]["duration_seconds"])

    def reference_edited(self) -> dict[str, Any]:
        if self._reference_edited is None:
            self.edited()
            assert self._incremental is not None
            self._wait(self._incremental)
            self._reference_edited = sync_content(self.url)
        return self._reference_edited

    def close(self) -> None:
        for proc in (self._full, self._incremental):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
        drop_database(self.url)
        if self._edited:
            drop_database(self._edited)
