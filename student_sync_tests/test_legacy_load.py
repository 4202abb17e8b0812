"""Loading the school's export CSV: header mapping, secrets dropped, refusals, replace, merge.

Every database test runs on a SQLite file and, when the local server answers, on PostgreSQL
with unique table names (dropped afterwards); under ``CI=true`` an unreachable server fails.
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, select

from student_sync.demo import generate_legacy_rows, write_export_csv, write_legacy_table
from student_sync.engine.db import make_engine
from student_sync.engine.errors import LegacyLoadError
from student_sync.engine.legacy_load import EXPORT_COLUMNS, column_for_header, load_legacy_csv
from student_sync.engine.schema import LEGACY_REQUIRED_COLUMNS
from student_sync_tests.helpers import legacy_postgres_engine

TODAY = date(2026, 3, 10)
CANONICAL_CSV = Path(__file__).resolve().parents[2] / "shared/docs/legacy-export-columns.csv"

Names = Callable[[], str]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def legacy_db(request, tmp_path) -> Iterator[tuple[Engine, Names]]:
    """(engine, new_table_name): every name handed out is dropped after the test."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite'}")
    else:
        engine = legacy_postgres_engine()
    made: list[str] = []

    def new_name() -> str:
        made.append(f"legacy_t_{uuid.uuid4().hex[:12]}")
        return made[-1]

    try:
        yield engine, new_name
    finally:
        with engine.begin() as conn:
            for name in made:
                Table(name, MetaData()).drop(conn, checkfirst=True)
        engine.dispose()


def read_table(engine: Engine, table_name: str) -> list[dict[str, str | None]]:
    with engine.connect() as conn:
        table = Table(table_name, MetaData(), autoload_with=conn)
        result = conn.execute(select(table).order_by(table.c.ipk, table.c.id))
        return [dict(r) for r in result.mappings()]


def table_columns(engine: Engine, table_name: str) -> list[str]:
    with engine.connect() as conn:
        return [c["name"] for c in inspect(conn).get_columns(table_name)]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding="utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def normalized(row: dict[str, str | None]) -> dict[str, str | None]:
    """What the export can carry: ``NULL`` text and None are the same literal in the file."""
    return {
        k: None if v == "NULL" and k not in LEGACY_REQUIRED_COLUMNS else v for k, v in row.items()
    }


def secrets_in(path: Path) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return {row[h] for row in reader for h in ("UI", "PW")}


# --------------------------------------------------------------------------- mapping
def test_export_columns_match_the_shared_document() -> None:
    if not CANONICAL_CSV.exists():
        pytest.skip("shared docs not present")
    with CANONICAL_CSV.open(encoding="utf-8") as fh:
        expected = tuple(
            (r["export_header"], r["legacy_students_column"]) for r in csv.DictReader(fh)
        )
    assert expected == EXPORT_COLUMNS
    assert len(EXPORT_COLUMNS) == 87


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("ID", "id"),
        ("id", "id"),
        (" Name ", "name"),
        ("KNAME2", "kname2"),
        ("Emg_ContactPerson", "emg_contact_person"),
        ("emg_contact_person", "emg_contact_person"),
        ("intGroupID", "int_group_id"),
        ("IPK", "ipk"),
        ("Ui", "ui"),
        ("PreferredPronoun", "preferred_pronoun"),
        ("Scholarship Type", "scholarship_type"),
        ("HTMLNotes2", "html_notes2"),
    ],
)
def test_header_mapping(header: str, column: str) -> None:
    assert column_for_header(header) == column


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("bom", [False, True])
def test_csv_round_trip_equals_direct_write(legacy_db, tmp_path, bom: bool, caplog) -> None:
    engine, new_name = legacy_db
    rows = list(generate_legacy_rows(1500, seed=3, today=TODAY))
    direct, loaded = new_name(), new_name()
    write_legacy_table(engine, rows, table_name=direct)
    path = tmp_path / "export.csv"
    assert write_export_csv(rows, path, seed=1, bom=bom) == 1500
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == bom

    with caplog.at_level(logging.DEBUG):
        result = load_legacy_csv(engine, path, table_name=loaded)
    assert (result.rows_read, result.rows_written, result.mode) == (1500, 1500, "replace")
    assert sorted(result.dropped_columns) == ["pw", "ui"]
    columns = table_columns(engine, loaded)
    assert "ui" not in columns and "pw" not in columns
    assert len(columns) == 85 and set(result.columns) == set(columns)

    expected = [normalized(r) for r in read_table(engine, direct)]
    got = read_table(engine, loaded)
    assert [{k: r[k] for k in expected[0]} for r in got] == expected
    extra = set(columns) - set(expected[0])
    assert extra and all(r[c] is None for r in got for c in extra)

    secrets = secrets_in(path)
    assert len(secrets) > 1000
    cells = {v for r in got for v in r.values()}
    assert not secrets & cells
    assert not any(s in caplog.text for s in secrets)


def test_export_header_order_varies(tmp_path) -> None:
    rows = list(generate_legacy_rows(3, today=TODAY))
    first = write_export_csv(rows, tmp_path / "a.csv", seed=1) and (tmp_path / "a.csv")
    second = write_export_csv(rows, tmp_path / "b.csv", seed=2) and (tmp_path / "b.csv")
    header_a = first.read_bytes().decode("utf-8").split("\r\n")[0].split(",")
    header_b = second.read_bytes().decode("utf-8").split("\r\n")[0].split(",")
    assert sorted(header_a) == sorted(h for h, _ in EXPORT_COLUMNS) == sorted(header_b)
    assert header_a != header_b
    assert "NULL" in first.read_bytes().decode("utf-8").split("\r\n")[1].split(",")


def test_null_literal_and_unknown_headers(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    path = write_csv(
        tmp_path / "small.csv",
        ["ipk", "NAME", "Id", "KName", "ModifiedDate", "Scholarship Type", "PW"],
        [
            ["101", "Sok Dara", "00001", "NULL", "NULL", "FULL", "secret-1"],
            ["102", "NULL", "00002", "null", "", "NULL", "secret-2"],
            ["103", "Chan Vy <CRST>", "NULL", "  ", "2026-03-09 10:00:00.000", "", "secret-3"],
        ],
    )
    result = load_legacy_csv(engine, path, table_name=name)
    assert result.dropped_columns == ("pw",)
    got = read_table(engine, name)
    assert [
        (r["id"], r["name"], r["kname"], r["modified_date"], r["scholarship_type"]) for r in got
    ] == [
        ("00001", "Sok Dara", None, None, "FULL"),
        ("00002", "NULL", "null", "", None),  # NULL stays text in NOT NULL columns only
        ("NULL", "Chan Vy <CRST>", "  ", "2026-03-09 10:00:00.000", ""),
    ]
    assert "pw" not in table_columns(engine, name)


# --------------------------------------------------------------------------- refusals
def _good_file(tmp_path: Path, n: int = 40) -> tuple[Path, list[dict[str, str | None]]]:
    rows = list(generate_legacy_rows(n, seed=6, today=TODAY))
    path = tmp_path / "good.csv"
    write_export_csv(rows, path, seed=4)
    return path, rows


def _broken_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each broken variant of ``good`` and the words its error message must contain."""
    lines = good.read_bytes().decode("utf-8").split("\r\n")
    header = lines[0].split(",")
    files: dict[str, tuple[Path, list[str]]] = {}

    no_ipk = tmp_path / "no_ipk.csv"
    keep = [i for i, h in enumerate(header) if h != "IPK"]
    with (
        good.open(encoding="utf-8", newline="") as src,
        no_ipk.open("w", encoding="utf-8", newline="") as dst,
    ):
        writer = csv.writer(dst, lineterminator="\r\n")
        for record in csv.reader(src):
            writer.writerow([record[i] for i in keep])
    files["missing IPK"] = (no_ipk, ["IPK", "missing"])

    records = list(csv.reader(good.open(encoding="utf-8", newline="")))
    ragged = tmp_path / "ragged.csv"
    with ragged.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\r\n")
        writer.writerow(records[0])
        for k, record in enumerate(records[1:], start=2):
            writer.writerow(record + ["extra"] if k == 5 else record)
    files["ragged row (too many)"] = (ragged, ["line 5", "expected 87", "found 88"])

    short = tmp_path / "short.csv"
    with short.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.writer(dst, lineterminator="\r\n")
        writer.writerow(records[0])
        # a quoted multi-line value first, so the physical line number differs from the record
        writer.writerow(
            [
                ("two\nlines" if h == "Notes" else v)
                for h, v in zip(records[0], records[1], strict=True)
            ]
        )
        for k, record in enumerate(records[2:], start=4):
            writer.writerow(record[:-3] if k == 9 else record)
    files["ragged row (too few)"] = (short, ["line 9", "found 84"])

    raw = good.read_bytes()
    cut = raw.index(b"\r\n", raw.index(b"\r\n", raw.index(b"\r\n") + 2) + 2) + 2  # line 4
    bad_utf8 = tmp_path / "latin1.csv"
    bad_utf8.write_bytes(raw[: cut + 3] + b"\xe9" + raw[cut + 3 :])
    files["not UTF-8"] = (bad_utf8, [f"byte offset {cut + 3}", "line 4", "UTF-8"])

    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(good.read_bytes().decode("utf-8").encode("utf-16"))
    files["UTF-16"] = (utf16, ["UTF-16"])

    nul = tmp_path / "nul.csv"
    nul.write_bytes(raw[:cut] + b"\x00" + raw[cut:])
    files["NUL byte"] = (nul, ["NUL", "line 4"])

    header_only = tmp_path / "header_only.csv"
    header_only.write_text(lines[0] + "\r\n", encoding="utf-8")
    files["no data rows"] = (header_only, ["no data rows"])

    duplicate = write_csv(tmp_path / "dup.csv", ["ID", "Name", "IPK", "id"], [["1", "a", "2", "1"]])
    files["duplicate header"] = (duplicate, ["'ID'", "'id'"])
    return files


def test_refused_files_leave_table_untouched(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    good, _ = _good_file(tmp_path)
    load_legacy_csv(engine, good, table_name=name)
    before = read_table(engine, name)
    columns_before = table_columns(engine, name)
    secrets = secrets_in(good)

    for label, (path, words) in _broken_files(tmp_path, good).items():
        for merge in (False, True):
            if label == "no data rows" and merge:
                continue  # merging nothing is allowed (a no-op)
            with pytest.raises(LegacyLoadError) as info:
                load_legacy_csv(engine, path, table_name=name, merge=merge)
            message = str(info.value)
            for word in words:
                assert word in message, (label, message)
            assert not any(s in message for s in secrets), label
            assert read_table(engine, name) == before, label
            assert table_columns(engine, name) == columns_before, label


def test_refused_file_creates_no_table(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    path = write_csv(tmp_path / "x.csv", ["ID", "Name"], [["1", "Sok Dara"]])
    with pytest.raises(LegacyLoadError, match="IPK"):
        load_legacy_csv(engine, path, table_name=name)
    with engine.connect() as conn:
        assert not inspect(conn).has_table(name)


# --------------------------------------------------------------------------- replace / merge
def test_replace_keeps_table_and_extra_columns(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    old = list(generate_legacy_rows(30, seed=1, today=TODAY))
    write_legacy_table(engine, [{**r, "local_flag": "x"} for r in old], table_name=name)
    good, rows = _good_file(tmp_path, n=25)
    result = load_legacy_csv(engine, good, table_name=name)
    assert result.rows_deleted == 30 and result.rows_written == 25
    got = read_table(engine, name)
    assert len(got) == 25 and all(r["local_flag"] is None for r in got)
    assert {r["ipk"] for r in got} == {r["ipk"] for r in rows}
    assert "paid_term" in table_columns(engine, name)  # new export columns were added


def test_merge_upserts_by_id(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    rows = [r for r in generate_legacy_rows(160, seed=12, today=TODAY) if r["id"].isdigit()]
    base, incoming = rows[:100], rows[50:150]
    write_legacy_table(engine, base, table_name=name)
    edited = [
        {**r, "name": f"{r['name']} [edited]", "ipk": str(int(r["ipk"]) + 1_000_000)}
        if i < 50
        else r
        for i, r in enumerate(incoming)
    ]
    path = tmp_path / "merge.csv"
    write_export_csv(edited, path, seed=9)

    result = load_legacy_csv(engine, path, table_name=name, merge=True)
    assert result.mode == "merge"
    assert (result.rows_read, result.rows_written, result.rows_deleted) == (100, 100, 50)
    got = {r["id"]: r for r in read_table(engine, name)}
    assert len(got) == 150
    for r in base[:50]:  # untouched
        assert {k: got[r["id"]][k] for k in r} == r
    for r in edited:  # replaced or inserted, exactly as in the file
        assert {k: got[r["id"]][k] for k in r} == normalized(r)
    assert "ui" not in got[base[0]["id"]] and "pw" not in got[base[0]["id"]]
    # merging the same file again changes nothing
    load_legacy_csv(engine, path, table_name=name, merge=True)
    assert {r["id"]: r for r in read_table(engine, name)} == got


def test_merge_into_missing_table_creates_it(legacy_db, tmp_path) -> None:
    engine, new_name = legacy_db
    name = new_name()
    good, rows = _good_file(tmp_path, n=12)
    result = load_legacy_csv(engine, good, table_name=name, merge=True)
    assert result.rows_written == 12 and result.rows_deleted == 0
    assert len(read_table(engine, name)) == 12
