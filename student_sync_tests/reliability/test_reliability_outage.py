"""The database goes away mid-run: one clear message, exit 1, whole batches, the rerun converges.

The outage is made by terminating the run's server connections (``pg_terminate_backend`` on
``application_name = 'student_sync'`` for the test database only), never by stopping the shared
server. The run is paused at a precise point by the test-only fault hook while that happens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from student_sync_tests.helpers import init_db
from student_sync_tests.reliability.support import (
    clone_database,
    consistency_problems,
    drop_database,
    ledger,
    lock_is_free,
    migrate_args,
    postgres_database,
    run_cli,
    seed_legacy,
    start_cli,
    sync_content,
    terminate_sync_backends,
    wait_for,
)

pytestmark = pytest.mark.postgres

STUDENTS = 1_200
BATCH = 200


@pytest.fixture(scope="module")
def fresh_and_reference(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    workdir = tmp_path_factory.mktemp("outage-reference")
    with postgres_database() as fresh:
        init_db(fresh)
        seed_legacy(fresh, STUDENTS)
        ref = clone_database(fresh)
        try:
            done = run_cli(*migrate_args(ref, workdir, batch_size=BATCH), cwd=workdir)
            assert done.returncode == 0, done.stderr
            yield fresh, sync_content(ref)
        finally:
            drop_database(ref)


def _one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one message, got:\n{stderr}"
    return lines[0]


@pytest.mark.parametrize(
    "point",
    [
        "count",  # during the extract, before anything was applied
        "batch-start:3",  # between batches: two committed, the pool's connections killed
        "batch-end:3",  # inside a batch's open transaction, before COMMIT
    ],
)
def test_connections_terminated_mid_run(fresh_and_reference, point: str, tmp_path: Path) -> None:
    fresh, reference = fresh_and_reference
    url = clone_database(fresh)
    try:
        proc = start_cli(
            *migrate_args(url, tmp_path, batch_size=BATCH), cwd=tmp_path, fault=f"pause@{point}"
        )
        flag = tmp_path / "paused.flag"
        wait_for(flag, proc)
        assert terminate_sync_backends(url) >= 1
        flag.unlink()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, f"exit {proc.returncode}\n{out[-2000:]}\n{err}"
        message = _one_clear_line(err)
        assert re.search(r"connection|terminat|server closed", message, re.I), message
        assert "rerun" in message, message
        assert lock_is_free(url)
        assert consistency_problems(url) == []
        runs = ledger(url)
        assert [r["status"] for r in runs] == ["failed"], runs
        assert runs[0]["error"]

        rerun = run_cli(*migrate_args(url, tmp_path, batch_size=BATCH), cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert sync_content(url) == reference
        assert [r["status"] for r in ledger(url)] == ["failed", "completed"]
    finally:
        drop_database(url)


def test_terminated_lock_connection_stops_the_run(fresh_and_reference, tmp_path: Path) -> None:
    """Only the connection holding the advisory lock dies: the run must not go on unlocked."""
    from student_sync_tests.reliability.support import admin_execute

    fresh, reference = fresh_and_reference
    url = clone_database(fresh)
    try:
        proc = start_cli(
            *migrate_args(url, tmp_path, batch_size=BATCH),
            cwd=tmp_path,
            fault="pause@batch-start:2",
        )
        flag = tmp_path / "paused.flag"
        wait_for(flag, proc)
        killed = admin_execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
            "JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = :db",
            db=url.rsplit("/", 1)[1],
        )
        assert killed == [(True,)]
        flag.unlink()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, f"exit {proc.returncode}: the run went on without its lock"
        message = _one_clear_line(err)
        assert "lock" in message, message
        assert consistency_problems(url) == []
        rerun = run_cli(*migrate_args(url, tmp_path, batch_size=BATCH), cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert sync_content(url) == reference
    finally:
        drop_database(url)


@pytest.mark.parametrize(
    "url, host, database",
    [
        ("postgresql://sync_user:Outage_Pw_41@127.0.0.1:1/schooldb", "127.0.0.1", "schooldb"),
        (
            "postgresql://sync_user:Outage_Pw_41@127.0.0.1:5432/ss_no_such_database",
            "127.0.0.1",
            "ss_no_such_database",
        ),
        ("postgresql://sync_user:Outage_Pw_41@db.invalid:5432/schooldb", "db.invalid", "schooldb"),
    ],
)
def test_unreachable_database_at_start(url: str, host: str, database: str, tmp_path) -> None:
    for command in (["init"], ["migrate"], ["migrate", "--dry-run"]):
        result = run_cli(*command, "--database-url", url, cwd=tmp_path, timeout=120)
        assert result.returncode == 1, (command, result.returncode, result.stderr)
        message = _one_clear_line(result.stderr)
        assert host in message and database in message, message
        assert "Outage_Pw_41" not in result.stdout + result.stderr
