"""`manage.py migrate_students_idempotent` behaves as `student-sync migrate` on a twin database:
same stats block, same report, same table counts, same exit codes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from student_sync.cli import main as cli_main
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.lock import run_lock
from student_sync.engine.options import DEFAULT_TIMEZONE, school_zone
from student_sync_tests.django_app.support import (
    COMMAND,
    manage,
    only_report,
    without_report_line,
)
from student_sync_tests.helpers import legacy_row, update_legacy, write_legacy

pytestmark = [pytest.mark.django, pytest.mark.postgres]

PASSWORD = "Dj4ngo-Settings-Pw"  # trust auth ignores it; it must never be printed
RUN_SPECIFIC = {"run_id", "start_time", "end_time", "duration_seconds", "database"}


def legacy_rows() -> list[dict]:
    rows = [legacy_row(i) for i in range(1, 41)]
    rows[2]["name"] = "SOKHA Dara <CRST>"
    rows[3]["name"] = "$$ CHAN Sophea <PLF> {AF}"
    rows[4]["deleted"] = "1"
    rows += [legacy_row(41, name="  "), legacy_row("X-7")]  # MISSING_NAME, INVALID_ID
    return rows


def with_password(url: str) -> str:
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def cli_code(*args: str) -> int:
    """`student-sync ARGS` in this process: its exit code (argparse errors exit by SystemExit)."""
    try:
        return cli_main(list(args))
    except SystemExit as exc:
        return int(exc.code)


def run_both(django_url: str, cli_url: str, tmp_path: Path, step: str, *flags: str, capsys):
    """One step on each face, its own reports folder each; returns (django, cli) results."""
    django_reports, cli_reports = tmp_path / step / "django", tmp_path / step / "cli"
    django = manage(django_url, COMMAND, *flags, "--reports-dir", str(django_reports))
    code = cli_code("migrate", "--database-url", cli_url, *flags, "--reports-dir", str(cli_reports))
    cli_out = capsys.readouterr().out
    return (django, only_report(django_reports)), (code, cli_out, only_report(cli_reports))


def counts(url: str) -> dict[str, int]:
    engine = make_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (*schema.SIS_TABLES, schema.contact, schema.sync_state)
                if inspect(conn).has_table(t.name)
            }
    finally:
        engine.dispose()


def test_guide_sequence_matches_the_cli_on_a_twin_database(
    sis_url: str, twin_sis_url: str, tmp_path: Path, capsys
) -> None:
    django_url = with_password(sis_url)
    for url in (sis_url, twin_sis_url):
        write_legacy(url, legacy_rows())
    yesterday = datetime.now(school_zone(DEFAULT_TIMEZONE)).date() - timedelta(days=1)
    edited = f"{yesterday.isoformat()} 09:30:00.000"

    steps = [
        ("initial", ("--mode", "upsert")),
        # --on-conflict comes from the shared flags: both faces take it.
        (
            "daily",
            (
                "--mode",
                "upsert",
                "--modified-since",
                "yesterday",
                "--batch-size",
                "500",
                "--on-conflict",
                "legacy-wins",
            ),
        ),
        ("dry", ("--dry-run", "--limit", "100")),
    ]
    for step, flags in steps:
        if step == "daily":  # a day of edits, identical on both databases
            for url in (sis_url, twin_sis_url):
                update_legacy(url, "00007", name="SOKHA Renamed", modified_date=edited)
                update_legacy(url, "00008", name="SOKHA Dara <PEPY>", modified_date=edited)
                update_legacy(url, "00009", deleted="1", modified_date=edited)
        (django, django_report), (cli_code, cli_out, cli_report) = run_both(
            django_url, twin_sis_url, tmp_path, step, *flags, capsys=capsys
        )
        assert django.returncode == cli_code == 0, django.stderr
        assert without_report_line(django.stdout) == without_report_line(cli_out)
        assert set(django_report) == set(cli_report)
        assert django_report["summary"] == cli_report["summary"]
        assert django_report["detailed_rejections"] == cli_report["detailed_rejections"]
        assert django_report["recommendations"] == cli_report["recommendations"]
        info = {k: v for k, v in django_report["migration_info"].items() if k not in RUN_SPECIFIC}
        assert info == {
            k: v for k, v in cli_report["migration_info"].items() if k not in RUN_SPECIFIC
        }
        assert counts(sis_url) == counts(twin_sis_url)
        # The project's password is in DATABASES; it is masked everywhere.
        assert PASSWORD not in django.stdout + django.stderr + str(django_report)
        assert ":***@" in django_report["migration_info"]["database"]

        summary = django_report["summary"]
        if step == "initial":
            assert summary["students"]["created"] == 39  # 40 good rows, one legacy-deleted
            assert summary["rejected"]["breakdown"] == {"MISSING_NAME": 1, "INVALID_ID": 1}
        elif step == "daily":
            assert summary["input"]["records_processed"] == 3
            assert summary["students"] == {"created": 0, "updated": 2, "skipped": 0, "deleted": 1}
            assert summary["sponsorships"]["created"] == 1
        else:
            assert django_report["migration_info"]["dry_run"] is True
            assert summary["input"]["records_processed"] == 42
    assert counts(sis_url)["people_studentprofile"] == 39


def test_exit_codes_match_the_cli(sis_url: str, tmp_path: Path, capsys) -> None:
    write_legacy(sis_url, [legacy_row(1), legacy_row(2, name=""), legacy_row(3, name="NULL")])
    reports = ("--reports-dir", str(tmp_path))
    cases = {
        "bad batch size": (2, ("--batch-size", "0")),
        "bad mode": (2, ("--mode", "merge")),
        "bad range": (2, ("--student-id-range", "19000:18000")),
        "bad date": (2, ("--modified-since", "last week")),
        "bad conflict policy": (2, ("--on-conflict", "sis-wins")),
        "critical success rate": (1, ()),
    }
    for case, (expected, flags) in cases.items():
        django = manage(sis_url, COMMAND, *flags, *reports)
        code = cli_code("migrate", "--database-url", sis_url, *flags, *reports)
        capsys.readouterr()
        assert (django.returncode, code) == (expected, expected), (case, django.stderr)
        assert "Traceback" not in django.stderr
    unknown_alias = manage(sis_url, COMMAND, "--database", "school", *reports)
    assert unknown_alias.returncode == 2 and "'school' is not in DATABASES" in unknown_alias.stderr


def test_a_second_run_while_one_holds_the_lock_exits_3(sis_url: str, tmp_path: Path) -> None:
    write_legacy(sis_url, [legacy_row(1)])
    engine = make_engine(normalize_url(sis_url))
    try:
        with run_lock(engine, what="the test"):
            result = manage(sis_url, COMMAND, "--reports-dir", str(tmp_path))
    finally:
        engine.dispose()
    assert result.returncode == 3
    assert "another student_sync run holds the lock" in result.stderr
    assert not list(tmp_path.glob("*.json"))  # nothing ran


def test_missing_legacy_ipk_is_a_configuration_error_naming_the_fix(
    sis_url: str, tmp_path: Path, capsys
) -> None:
    write_legacy(sis_url, [legacy_row(1)])
    engine = make_engine(normalize_url(sis_url))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE people_studentprofile DROP COLUMN legacy_ipk"))
    engine.dispose()
    django = manage(sis_url, COMMAND, "--reports-dir", str(tmp_path))
    code = cli_code("migrate", "--database-url", sis_url, "--reports-dir", str(tmp_path))
    cli_err = capsys.readouterr().err
    assert (django.returncode, code) == (2, 2)
    for err in (django.stderr, cli_err):
        assert "people_studentprofile.legacy_ipk is missing" in err
        assert "0014_add_legacy_ipk_to_student_profile" in err


def test_legacy_table_from_another_database(
    sis_url: str, twin_sis_url: str, tmp_path: Path
) -> None:
    """--legacy-url reads legacy_students elsewhere; the SIS stays the project's database."""
    write_legacy(twin_sis_url, [legacy_row(i) for i in range(1, 6)])
    result = manage(sis_url, COMMAND, "--legacy-url", twin_sis_url, "--reports-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert counts(sis_url)["people_studentprofile"] == 5
    assert counts(twin_sis_url)["people_studentprofile"] == 0
