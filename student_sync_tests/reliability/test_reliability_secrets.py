"""A database password never leaks: not to stdout/stderr, reports, the ledger, or Dagster.

A real PostgreSQL role with a password full of URL-special characters owns the test database
(the server trusts local connections, so any password connects; what matters is that it is in
the URL). Every command runs with that URL, in success and in every failure mode the CLI has;
then every output, every file the runs wrote, every text cell of the SIS and sync tables and
the whole Dagster instance directory are searched for the password and for a fragment of it
(a half-masked password is a leak too).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, select, text

from student_sync.engine import schema
from student_sync.engine.db import normalize_url
from student_sync.engine.lock import ADVISORY_LOCK_KEY
from student_sync_tests.conftest import require_postgres
from student_sync_tests.reliability.support import (
    admin_execute,
    cli_env,
    migrate_args,
    run_cli,
    start_cli,
    terminate_sync_backends,
    text_values,
    wait_for,
)

pytestmark = pytest.mark.postgres


@dataclass
class Secret:
    url: str
    database: str
    password: str
    fragment: str  # a distinctive piece: a half-masked password still contains it

    def forms(self) -> list[str]:
        return [self.password, quote(self.password, safe=""), self.fragment]

    def with_database(self, name: str, port: int = 5432) -> str:
        return self.url.replace(f":5432/{self.database}", f":{port}/{name}")


@pytest.fixture
def secret() -> Iterator[Secret]:
    require_postgres()
    tag = uuid.uuid4().hex[:10]
    role, database = f"sync_secret_{tag}", f"ss_test_secret_{tag}"
    fragment = f"Zq{tag}Kx"
    password = f"{fragment}@:/%#?&p w"  # every character a URL or a log line could trip on
    admin_execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    admin_execute(f'CREATE DATABASE "{database}" OWNER {role}')
    url = f"postgresql://{role}:{quote(password, safe='')}@127.0.0.1:5432/{database}"
    try:
        yield Secret(url, database, password, fragment)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin_execute(f"DROP ROLE IF EXISTS {role}")


def test_password_never_leaks(secret: Secret, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outputs: list[tuple[str, str]] = []

    def cli(name: str, *args: str, expect: int, env: dict | None = None) -> None:
        result = run_cli(*args, cwd=work, env=env, timeout=300)
        outputs.append((name, result.stdout + result.stderr))
        assert result.returncode == expect, (name, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, (name, result.stderr)

    db = ("--database-url", secret.url)
    cli("init", "init", *db, expect=0)
    cli("demo-data", "demo-data", "--students", "300", *db, "--csv", str(work / "x.csv"), expect=0)
    cli("load-legacy-csv", "load-legacy-csv", str(work / "x.csv"), *db, expect=0)
    cli("migrate", *migrate_args(secret.url, work), expect=0)
    cli(
        "dry-run via env",
        "migrate",
        "--dry-run",
        "--reports-dir",
        str(work / "reports"),
        expect=0,
        env=cli_env(STUDENT_SYNC_DATABASE_URL=secret.url),
    )
    cli("legacy-url", *migrate_args(secret.url, work, "--legacy-url", secret.url), expect=0)

    # Failures: lock held, unreachable server, missing database, bad URL, usage error.
    engine = create_engine(normalize_url(secret.url))
    with engine.connect() as conn:
        conn.execute(select(text(f"pg_advisory_lock({ADVISORY_LOCK_KEY})")))
        cli("lock held", *migrate_args(secret.url, work), expect=3)
    engine.dispose()
    cli("unreachable", "migrate", "--database-url", secret.with_database("x", 1), expect=1)
    cli("no database", "migrate", "--database-url", secret.with_database("ss_nope"), expect=1)
    cli("init unreachable", "init", "--database-url", secret.with_database("x", 1), expect=1)
    bad_port = secret.url.replace(":5432/", ":notaport/")
    cli("bad url", "migrate", "--database-url", bad_port, expect=2)
    cli("usage", *migrate_args(secret.url, work, "--student-id-range", "9:1"), expect=2)

    # A refused run (truncated legacy table) and a run whose connections are killed.
    engine = create_engine(normalize_url(secret.url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy_backup AS SELECT * FROM legacy_students"))
        conn.execute(text("DELETE FROM legacy_students"))
    cli("mass delete refused", *migrate_args(secret.url, work), expect=1)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO legacy_students SELECT * FROM legacy_backup"))
        conn.execute(text("UPDATE legacy_students SET name = name || ' X' WHERE id < '00200'"))
    engine.dispose()
    proc = start_cli(
        *migrate_args(secret.url, work, batch_size=20), cwd=work, fault="pause@batch-start:2"
    )
    wait_for(work / "paused.flag", proc)
    terminate_sync_backends(secret.url)
    (work / "paused.flag").unlink()
    out, err = proc.communicate(timeout=300)
    outputs.append(("outage", out + err))
    assert proc.returncode == 1, err

    # Dagster: the production definitions read the URL from the environment (EnvVar).
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    _materialize_with_dagster(secret, dagster_home, tmp_path, monkeypatch)

    leaks: list[str] = []
    for name, output in outputs:
        leaks += [f"output of {name}" for form in secret.forms() if form in output]
    for path in [*work.rglob("*"), *tmp_path.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            leaks += [str(path) for form in secret.forms() if form.encode() in data]
    tables = (*schema.SIS_TABLES, *schema.SYNC_TABLES)
    for table, column, value in text_values(secret.url, tables):
        leaks += [f"{table}.{column}" for form in secret.forms() if form in value]
    assert not leaks, sorted(set(leaks))

    # The scan saw what it should: ledger rows of every kind, reports, Dagster's event log.
    statuses = {r["status"] for r in _ledger(secret.url)}
    assert {"completed", "refused", "failed"} <= statuses
    assert len(list((work / "reports").glob("*.json"))) >= 3
    assert any(p.is_file() for p in dagster_home.rglob("*"))


def _ledger(url: str) -> list[dict]:
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(schema.run_ledger)).mappings()]
    engine.dispose()
    return rows


def _materialize_with_dagster(secret: Secret, home: Path, tmp: Path, monkeypatch) -> None:
    """Materialize the asset group once, on a persistent instance in ``home``."""
    dg = pytest.importorskip("dagster")
    pytest.importorskip("student_sync.definitions")
    from student_sync.orchestration.assets import ASSETS
    from student_sync.orchestration.checks import CHECKS
    from student_sync.orchestration.definitions import build_resources
    from student_sync.orchestration.partitions import ID_RANGES_NAME, cell_key, partition_last_day
    from student_sync.orchestration.resources import SyncSettings, sis_database_from_env

    monkeypatch.setenv("STUDENT_SYNC_DATABASE_URL", secret.url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    settings = SyncSettings(reports_dir=str(tmp / "work" / "reports"))
    resources = build_resources(sis_database_from_env(), settings)
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions(ID_RANGES_NAME, ["0-999"])
        day = partition_last_day()
        assert day is not None
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            instance=instance,
            partition_key=cell_key("0-999", day.isoformat()),
            resources=resources,
            raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        events = instance.get_records_for_run(result.run_id).records
        text_of_events = "\n".join(str(r.event_log_entry) for r in events)
        assert "student_profiles" in text_of_events
        for form in secret.forms():
            assert form not in text_of_events, "password in the Dagster event log"
    assert os.environ.get("STUDENT_SYNC_DATABASE_URL") == secret.url
