"""The `student-sync` command line: flags, exit codes, console block, report, lock."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from student_sync.cli import main
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.lock import run_lock
from student_sync_tests.helpers import init_db, write_legacy
from student_sync_tests.helpers import legacy_row as row

REPORT_KEYS = {"migration_info", "summary", "detailed_rejections", "conflicts", "recommendations"}


def good_rows(n: int = 30) -> list[dict]:
    return [row(i) for i in range(1, n + 1)]


@pytest.fixture
def db(db_url: str) -> str:
    init_db(db_url)
    write_legacy(db_url, good_rows() + [row(31, name="  "), row("X-1")])
    return db_url


def cli(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "student_sync", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_migrate_prints_block_writes_report_and_exits_0(db: str, tmp_path, capsys) -> None:
    code = main(
        ["migrate", "--database-url", db, "--reports-dir", str(tmp_path / "r"), "--batch-size", "7"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Records processed: 32" in out and "SUCCESS RATE: 93.8% (warning)" in out
    reports = list((tmp_path / "r").glob("student_sync_upsert_*.json"))
    assert len(reports) == 1 and re.match(r"student_sync_upsert_\d{8}_\d{6}\.json", reports[0].name)
    report = json.loads(reports[0].read_text())
    assert set(report) == REPORT_KEYS
    s = report["summary"]
    assert s["input"] == {"total_legacy_records": 32, "records_processed": 32}
    assert s["output"] == {"total_successful": 30, "skipped_unchanged": 0}
    assert s["rejected"] == {"total": 2, "breakdown": {"MISSING_NAME": 1, "INVALID_ID": 1}}
    assert s["persons"] == {"created": 30, "updated": 0, "skipped": 0, "deleted": 0}
    assert set(s["emergency_contacts"]) == {"created", "updated", "deleted"}
    assert set(s["sponsorships"]) == {"created", "updated", "ended"}
    assert (s["success_level"], s["efficiency_level"]) == ("warning", "inefficient")
    assert s["conflicts"] == 0 and report["conflicts"] == []
    info = report["migration_info"]
    assert info["batch_size"] == 7 and info["mode"] == "upsert" and info["dry_run"] is False
    assert {"modified_since", "student_id_range", "limit"} <= set(info["filters"])
    assert {r["reason"] for r in report["detailed_rejections"]} == {"MISSING_NAME", "INVALID_ID"}
    assert all(isinstance(x, str) and x for x in report["recommendations"])


def test_batch_size_above_the_memory_bound_is_clamped_and_said(db: str, tmp_path, capsys) -> None:
    code = main(
        [
            "migrate",
            "--database-url",
            db,
            "--reports-dir",
            str(tmp_path / "r"),
            "--batch-size",
            "50000",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "--batch-size 50000 is above 20000" in captured.err and "using 20000" in captured.err
    report = json.loads(next((tmp_path / "r").glob("student_sync_upsert_*.json")).read_text())
    assert report["migration_info"]["batch_size"] == 20000  # what the run really used
    assert report["summary"]["persons"]["created"] == 30


def test_critical_success_rate_exits_1(db: str, tmp_path, capsys) -> None:
    write_legacy(db, [row(1), row(2, name=""), row(3, name="NULL")])
    code = main(["migrate", "--database-url", db, "--reports-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1 and "critical" in captured.out and "below 90%" in captured.err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--student-id-range", "20:10"], "--student-id-range start 20 is greater than end 10"),
        (["--student-id-range", "abc"], "--student-id-range must be START:END"),
        (["--modified-since", "last week"], "--modified-since must be 'yesterday' or YYYY-MM-DD"),
        (["--batch-size", "0"], "at least 1"),
        (["--mode", "merge"], "invalid choice"),
        (["--limit", "x"], "whole number"),
    ],
)
def test_usage_errors_exit_2_with_one_sentence(sqlite_url, args, fragment, capsys) -> None:
    init_db(sqlite_url)
    with pytest.raises(SystemExit) as exc:
        code = main(["migrate", "--database-url", sqlite_url, *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_engine_errors_name_options_the_engine_way_and_the_cli_names_its_flags() -> None:
    """The engine speaks of ``batch_size``; the command line's stderr says ``--batch-size``."""
    from student_sync.cli import engine_message
    from student_sync.engine.errors import InvalidOption, LegacyTableMissing, MassDeleteRefused
    from student_sync.engine.options import SyncOptions, validate

    with pytest.raises(InvalidOption) as bad:
        validate(SyncOptions(batch_size=0, on_conflict="keep-sis"))
    assert str(bad.value) == "batch_size must be at least 1, got 0"
    assert engine_message(bad.value) == "--batch-size must be at least 1, got 0"
    refused = MassDeleteRefused(59, 97, "the whole table", 0.02)
    assert "then rerun with allow_mass_delete if it is intended" in str(refused)
    assert str(refused).startswith("refusing to soft-delete 59 of 97 students (the whole table)")
    assert "then rerun with --allow-mass-delete if it is intended" in engine_message(refused)
    missing = LegacyTableMissing("legacy_students")
    assert "--" not in str(missing) and "legacy_url" in str(missing)
    assert engine_message(missing) == (
        "legacy table 'legacy_students' not found: load it (student-sync load-legacy-csv "
        "or demo-data) or point --legacy-url at the database that holds it"
    )


def test_missing_tables_is_a_configuration_error(sqlite_url, capsys) -> None:
    assert main(["migrate", "--database-url", sqlite_url]) == 2
    assert "student-sync init" in capsys.readouterr().err


def test_unreachable_database_names_host_not_password(tmp_path) -> None:
    url = "postgresql://sync_user:Sup3rS3cret@127.0.0.1:1/schooldb"
    result = cli("migrate", "--database-url", url, cwd=tmp_path)
    assert result.returncode == 1
    assert "schooldb" in result.stderr and "127.0.0.1" in result.stderr
    assert "Sup3rS3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_second_run_while_locked_exits_3(db: str, tmp_path) -> None:
    engine = make_engine(normalize_url(db))
    with run_lock(engine, what="test"):
        result = cli("migrate", "--database-url", db, "--reports-dir", str(tmp_path))
    engine.dispose()
    assert result.returncode == 3, result.stderr
    assert "another student_sync run holds the lock" in result.stderr


def test_env_var_and_embedded_default(tmp_path, db: str) -> None:
    via_env = cli(
        "migrate",
        "--dry-run",
        "--reports-dir",
        str(tmp_path / "r"),
        env={"STUDENT_SYNC_DATABASE_URL": db},
        cwd=tmp_path,
    )
    assert via_env.returncode == 0, via_env.stderr
    assert "Records processed: 32" in via_env.stdout
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDENT_SYNC_")}
    init = subprocess.run(
        [sys.executable, "-m", "student_sync", "init"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    assert (workdir / "student_sync.sqlite").exists()
    assert "sponsors added: CRST, PLF, PEPY, BFOK, JWOC, LOC, ANJALI" in init.stdout


def test_init_checks_existing_django_tables(sqlite_url, capsys) -> None:
    engine = make_engine(normalize_url(sqlite_url))
    md = MetaData()
    Table(
        "people_person",
        md,
        Column("id", Integer, primary_key=True),
        Column("family_name", String(255)),
    )
    md.create_all(engine)
    engine.dispose()
    assert main(["init", "--database-url", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "people_person" in err and "personal_name" in err
