"""`student-sync rejections`: the guide's weekly "clean up rejected records", on both databases.

Open rejections with how many runs saw them, the filters, the registrar's CSV (the legacy
columns behind each rejection, never the login/password columns), what got fixed, and the
overview the Dagster report shows.
"""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from sqlalchemy import MetaData

from student_sync.cli import main
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.rejections import overview_markdown, rejection_overview
from student_sync_tests.helpers import FIXED_NOW, init_db, run, update_legacy
from student_sync_tests.helpers import legacy_row as row

SECRET = "pw-never-exported"


def _write_legacy_with_login(url: str) -> None:
    """The legacy table plus the export's login/password columns (a careless hand load)."""
    table = schema.legacy_students_table(MetaData(), extra_columns=("ui", "pw"))
    legacy = [
        row(1),
        row(2, name="NULL"),  # MISSING_NAME
        row("A0123"),  # INVALID_ID
        row(4, ipk="12ab"),  # INVALID_IPK
        row(5, school_email="shared@school.edu"),
        row(6, school_email="shared@school.edu"),  # DUPLICATE_SCHOOL_EMAIL
        row(2000, name="$$ <CRST>"),  # MISSING_NAME, outside 1:10
    ]
    engine = make_engine(normalize_url(url))
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(
            table.insert(), [{**r, "ui": f"user{i}", "pw": SECRET} for i, r in enumerate(legacy)]
        )
    engine.dispose()


@pytest.fixture
def db(db_url: str, tmp_path) -> str:
    init_db(db_url)
    _write_legacy_with_login(db_url)
    run(db_url, tmp_path)
    run(db_url, tmp_path, now=FIXED_NOW + timedelta(days=1))  # the same rows rejected again
    return db_url


def _listed(capsys) -> tuple[str, list[str]]:
    out = capsys.readouterr().out.splitlines()
    return out[0], out[2:]  # the count line, the header, the rows


def test_lists_open_rejections_with_runs_seen(db: str, capsys) -> None:
    assert main(["rejections", "--database-url", db]) == 0
    summary, lines = _listed(capsys)
    assert summary.startswith("5 open rejection(s)")
    assert "MISSING_NAME: 2" in summary and "DUPLICATE_SCHOOL_EMAIL: 1" in summary
    by_id = {line.split()[1]: line.split() for line in lines}
    assert set(by_id) == {"00002", "02000", "A0123", "00004", "00006"}
    first_seen, last_seen, runs = by_id["00004"][3:5], by_id["00004"][5:7], by_id["00004"][7]
    assert first_seen == ["2026-03-10", "10:00"] and last_seen == ["2026-03-11", "10:00"]
    assert runs == "2"
    assert by_id["00004"][2] == "12ab" and by_id["00004"][0] == "INVALID_IPK"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--reason", "MISSING_NAME"], {"00002", "02000"}),
        (["--reason", "invalid_id,INVALID_IPK"], {"A0123", "00004"}),
        (["--student-id-range", "1:10"], {"00002", "00004", "00006"}),
        (["--since", "2026-03-11"], {"00002", "02000", "A0123", "00004", "00006"}),
        (["--since", "2026-03-12"], set()),
    ],
)
def test_filters(db: str, capsys, flags: list[str], expected: set[str]) -> None:
    assert main(["rejections", "--database-url", db, *flags]) == 0
    _, lines = _listed(capsys)
    assert {line.split()[1] for line in lines} == expected


def test_csv_has_the_legacy_columns_behind_each_rejection(db: str, tmp_path, capsys) -> None:
    target = tmp_path / "out" / "rejections.csv"
    assert main(["rejections", "--database-url", db, "--csv", str(target)]) == 0
    assert f"Wrote {target}" in capsys.readouterr().out
    text = target.read_text(encoding="utf-8-sig")
    assert SECRET not in text and "user1" not in text  # no UI/PW column values
    records = {r["student_id"]: r for r in csv.DictReader(text.splitlines())}
    assert set(records) == {"00002", "02000", "A0123", "00004", "00006"}
    assert records["00002"]["cause_columns"] == "name"
    assert records["00002"]["legacy_name"] == "NULL" and records["00002"]["runs_seen"] == "2"
    assert records["02000"]["legacy_name"] == "$$ <CRST>"
    assert records["00004"]["cause_columns"] == "ipk" and records["00004"]["legacy_ipk"] == "12ab"
    email = records["00006"]
    assert email["reason"] == "DUPLICATE_SCHOOL_EMAIL"
    assert email["legacy_school_email"] == "shared@school.edu"
    assert records["A0123"]["legacy_id"] == "A0123"
    assert records["A0123"]["legacy_school_email"] == ""  # not what caused it
    assert records["00004"]["first_seen"] == "2026-03-10 10:00"
    assert all(r["resolved"] == "" for r in records.values())


def test_resolved_shows_what_got_fixed(db: str, tmp_path, capsys) -> None:
    update_legacy(db, "00002", name="SOKHA Fixed")
    update_legacy(db, "00004", ipk="100004")
    run(db, tmp_path, now=FIXED_NOW + timedelta(days=2))
    assert main(["rejections", "--database-url", db, "--resolved"]) == 0
    summary, lines = _listed(capsys)
    assert summary.startswith("2 resolved rejection(s)")
    assert {line.split()[1] for line in lines} == {"00002", "00004"}
    assert all("2026-03-12 10:00" in line for line in lines)  # the RESOLVED column
    assert main(["rejections", "--database-url", db]) == 0
    summary, lines = _listed(capsys)
    assert summary.startswith("3 open rejection(s)")
    assert {line.split()[3] for line in lines if "A0123" in line} == {"2026-03-10"}
    # a rejection that keeps failing keeps counting its runs
    assert {line.split()[7] for line in lines if line.split()[1] == "A0123"} == {"3"}


def test_overview_for_the_report_asset(db: str) -> None:
    engine = make_engine(normalize_url(db))
    with engine.connect() as conn:
        overview = rejection_overview(conn, top=2, oldest=3)
    engine.dispose()
    assert overview.open_total == 5
    assert overview.top_reasons == [("MISSING_NAME", 2), ("DUPLICATE_SCHOOL_EMAIL", 1)]
    assert len(overview.oldest) == 3 and all(r.runs_seen == 2 for r in overview.oldest)
    text = overview_markdown(overview)
    assert "**5 open rejection(s)**" in text and "| MISSING_NAME | 2 |" in text


def test_bad_flags_and_outdated_schema_exit_2(db: str, tmp_path, capsys) -> None:
    assert main(["rejections", "--database-url", db, "--since", "last week"]) == 2
    assert "--since must be" in capsys.readouterr().err
    assert main(["rejections", "--database-url", db, "--student-id-range", "9:1"]) == 2
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert main(["rejections", "--database-url", empty]) == 2
    assert "student-sync init" in capsys.readouterr().err


def test_runs_seen_counts_on_the_bulk_path(db_url: str, tmp_path) -> None:
    """A batch of 500+ rejections is merged through a COPY staging table on PostgreSQL: the
    run counter adds up there too."""
    from student_sync.engine.bulk import STAGE_MIN_ROWS
    from student_sync_tests.helpers import rows, write_legacy

    init_db(db_url)
    write_legacy(db_url, [row(n, name="NULL") for n in range(1, STAGE_MIN_ROWS + 2)])
    for day in range(3):
        run(db_url, tmp_path, batch_size=1000, now=FIXED_NOW + timedelta(days=day))
    stored = rows(db_url, schema.rejection)
    assert len(stored) == STAGE_MIN_ROWS + 1
    assert {r["seen_count"] for r in stored} == {3}
