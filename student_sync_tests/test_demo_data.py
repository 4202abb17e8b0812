"""Demo data: deterministic synthetic legacy rows with every quirk, table writing, day of edits.

Database tests run on a SQLite file and, when the local server answers, on PostgreSQL with a
unique table per test (dropped afterwards). Under ``CI=true`` an unreachable server fails.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, MetaData, Table, func, select

from student_sync import demo, domain
from student_sync.demo import (
    DATE_NULL_SPELLINGS,
    KNOWN_CODES,
    NULL_SPELLINGS,
    ROW_COLUMNS,
    DayOfEdits,
    bare_name,
    generate_legacy_rows,
    is_valid_row,
    plan_day_of_edits,
    write_legacy_table,
)
from student_sync.demo.vocabulary import KHMER_FAMILY_NAMES, KHMER_PERSONAL_NAMES
from student_sync.domain import is_null as is_null_marker
from student_sync.engine.db import make_engine
from student_sync.engine.schema import LEGACY_COLUMNS
from student_sync_tests.helpers import legacy_postgres_engine

TODAY = date(2026, 3, 10)
DATE_COLUMNS = ("birth_date", "lastenroll", "admission_date")
LIMON_FAMILIES = {limon for limon, _ in KHMER_FAMILY_NAMES}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def legacy_db(request, tmp_path) -> Iterator[tuple[Engine, str]]:
    """(engine, table name): a SQLite file, or a unique table on the PostgreSQL test server."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'legacy.sqlite'}")
        yield engine, "legacy_students"
        engine.dispose()
        return
    engine = legacy_postgres_engine()
    name = f"legacy_t_{uuid.uuid4().hex[:12]}"
    try:
        yield engine, name
    finally:
        with engine.begin() as conn:
            Table(name, MetaData()).drop(conn, checkfirst=True)
        engine.dispose()


def read_table(engine: Engine, table_name: str) -> list[dict[str, str | None]]:
    with engine.connect() as conn:
        table = Table(table_name, MetaData(), autoload_with=conn)
        result = conn.execute(select(table).order_by(table.c.ipk))
        return [dict(r) for r in result.mappings()]


@pytest.fixture(scope="module")
def sample() -> list[dict[str, str | None]]:
    return list(generate_legacy_rows(2000, seed=7, today=TODAY))


# --------------------------------------------------------------------------- generator
def test_deterministic_for_arguments() -> None:
    a = list(generate_legacy_rows(300, seed=3, today=TODAY))
    assert a == list(generate_legacy_rows(300, seed=3, today=TODAY))
    assert a != list(generate_legacy_rows(300, seed=4, today=TODAY))
    shifted = list(generate_legacy_rows(5, seed=3, start_id=501, today=TODAY))
    assert [r["id"] for r in shifted if r["id"].strip().isdigit()][0] >= "00501"


def test_streams_without_materializing() -> None:
    rows = generate_legacy_rows(1_000_000, seed=1, today=TODAY)
    assert inspect.isgenerator(rows)  # lazy: a million-row request holds no list
    first = next(rows)
    assert first["id"] in ("00001", "A0001", "0-01", " ")


def test_shape_ids_and_ipks(sample) -> None:
    for row in sample:
        assert tuple(row) == ROW_COLUMNS
        assert set(LEGACY_COLUMNS) <= set(row)
        assert all(v is None or isinstance(v, str) for v in row.values())
        assert row["deleted"] in ("0", "1")
        assert row["ipk"].isdigit()
    numeric = [(i, r["id"]) for i, r in enumerate(sample, start=1) if r["id"].isdigit()]
    assert all(sid == f"{i:05d}" for i, sid in numeric)
    assert len({r["ipk"] for r in sample}) == len(sample)


def first_word(text: str) -> str:
    return (text.split() or [""])[0]


def _has(sample, column: str, predicate: Callable[[str | None], bool]) -> int:
    return sum(1 for r in sample if predicate(r[column]))


def test_every_quirk_is_present(sample) -> None:
    names = [r["name"] for r in sample]
    all_values = [v for r in sample for k, v in r.items() if k not in ("id", "ipk")]
    date_values = [r[c] for r in sample for c in DATE_COLUMNS]
    limon_re = re.compile(r"^[\x20-\xff\u2018]+$")

    def count(values, predicate) -> int:
        return sum(1 for v in values if predicate(v))

    quirks: dict[str, int] = {
        # null markers
        **{f"null marker {m!r}": all_values.count(m) for m in (None, "NULL", "null", "NA", "")},
        "null marker '  '": all_values.count("  "),
        "date null '0000-00-00'": date_values.count("0000-00-00"),
        # date formats
        "date Mon dd yyyy 12:00AM": count(
            date_values,
            lambda v: bool(v and re.fullmatch(r"[A-Z][a-z]{2} [ \d]\d \d{4} 12:00AM", v)),
        ),
        "date with space-padded day": count(
            date_values, lambda v: bool(v and re.fullmatch(r"[A-Z][a-z]{2}  \d \d{4} 12:.*", v))
        ),
        "date 12:00:00:000AM": count(
            date_values,
            lambda v: bool(v and re.fullmatch(r"[A-Z][a-z]{2} [ \d]\d \d{4} 12:00:00:000AM", v)),
        ),
        "date ISO with .000": count(
            date_values, lambda v: bool(v and re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00\.000", v))
        ),
        "date m/d/Y": count(
            date_values,
            lambda v: bool(v and re.fullmatch(r"\d\d/\d\d/\d{4}", v) and int(v[:2]) <= 12),
        ),
        "date d/m/Y day>12": count(
            date_values,
            lambda v: bool(v and re.fullmatch(r"\d\d/\d\d/\d{4}", v) and int(v[:2]) > 12),
        ),
        # name markers
        "$$ prefix": count(names, lambda v: v.startswith("$$") and bool(bare_name(v))),
        "$$ suffix": count(names, lambda v: v.rstrip().endswith("$$") and bool(bare_name(v))),
        **{f"code <{c}>": count(names, lambda v, c=c: f"<{c}>" in v) for c in KNOWN_CODES},
        "two codes": count(names, lambda v: bool(re.search(r"<[A-Z0-9]+>\s?<[A-Z0-9]+>", v))),
        "unknown code": count(
            names, lambda v: any(c not in KNOWN_CODES for c in re.findall(r"<([^<>]*)>", v))
        ),
        "{AF}": count(names, lambda v: "{AF}" in v),
        "(ST)": count(names, lambda v: "(ST)" in v),
        "[remark]": count(names, lambda v: bool(re.search(r"\[[^\]]+\]", v))),
        "hyphen in name": count(names, lambda v: "-" in bare_name(v)),
        "apostrophe in name": count(names, lambda v: "'" in bare_name(v)),
        # Khmer names
        "kname Limon": _has(
            sample,
            "kname",
            lambda v: bool(v and limon_re.match(v) and first_word(v) in LIMON_FAMILIES),
        ),
        "kname Khmer Unicode": _has(
            sample, "kname", lambda v: bool(v and any("\u1780" <= ch <= "\u17ff" for ch in v))
        ),
        "kname Latin": _has(
            sample,
            "kname",
            lambda v: bool(
                v
                and re.fullmatch(r"[A-Za-z' -]+", v)
                and first_word(v) not in LIMON_FAMILIES
                and not is_null_marker(v)
            ),
        ),
        "kname 'NULL'": _has(sample, "kname", lambda v: v == "NULL"),
        "kname2 set": _has(sample, "kname2", lambda v: not is_null_marker(v)),
        # categorical free text
        **{
            f"birth_place {p!r}": _has(sample, "birth_place", lambda v, p=p: v == p)
            for p in (
                "Phnom Penh",
                "phnompenh",
                "PP",
                "Sihanoukville",
                "Kg Cham",
                "Kompong Speu",
                "Siemreap",
                "Takeo",
                "Mondolkiri",
                "Ratanakkiri",
            )
        },
        "birth_place foreign": _has(sample, "birth_place", lambda v: v in ("Bangkok", "Tokyo")),
        **{
            f"nationality {n!r}": _has(sample, "nationality", lambda v, n=n: v == n)
            for n in ("Cambodian", "CAMBODIA", "Khmer", "KH", "American", "Japanese", "Thai", None)
        },
        **{
            f"gender {g!r}": _has(sample, "gender", lambda v, g=g: v == g)
            for g in ("M", "F", "Male", "Female", "Monk", "m", "f", "male", "female")
        },
        # e-mails
        "email mixed case": _has(
            sample, "email", lambda v: bool(v and "@" in v and v != v.lower())
        ),
        "email invalid": _has(
            sample,
            "email",
            lambda v: bool(
                v and not is_null_marker(v) and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]+", v)
            ),
        ),
        "school_email duplicated": sum(
            c - 1
            for e, c in Counter(
                (r["school_email"] or "").lower()
                for r in sample
                if not is_null_marker(r["school_email"])
            ).items()
            if c > 1
        ),
        # transfer, contacts, phones
        **{
            f"transfer {t!r}": _has(sample, "transfer", lambda v, t=t: v == t)
            for t in ("", "Yes", "No", "N", "From RUPP")
        },
        "phone with two numbers": _has(
            sample,
            "contact_person_phone",
            lambda v: bool(v and re.search(r"\d\s*(/|,| or )\s*[+\d]", v)),
        ),
        "phone word 'none'": _has(sample, "contact_person_phone", lambda v: v == "none"),
        "blank emergency contact": sum(
            1
            for r in sample
            if all(
                is_null_marker(r[c])
                for c in (
                    "emg_contact_person",
                    "contact_person_phone",
                    "relationship",
                    "contact_person_address",
                )
            )
        ),
        **{
            f"relationship {x!r}": _has(sample, "relationship", lambda v, x=x: v == x)
            for x in ("Father", "mother", "Brother", "Aunt", "Guardian")
        },
        # lifecycle
        "deleted '1'": _has(sample, "deleted", lambda v: v == "1"),
        "modified_date NULL, created set": sum(
            1 for r in sample if r["modified_date"] is None and r["created_date"] is not None
        ),
        "modified and created NULL": sum(
            1 for r in sample if r["modified_date"] is None and r["created_date"] is None
        ),
        **{
            f"status {s!r}": _has(sample, "status", lambda v, s=s: v == s)
            for s in ("Active", "Inactive", "Graduated", "Dropped", "Suspended", None)
        },
        # rows a correct sync rejects
        "reject: missing name": count(names, lambda v: is_null_marker(v)),
        "reject: marker-only name": count(
            names, lambda v: not is_null_marker(v) and not bare_name(v)
        ),
        "reject: id like A0123": _has(sample, "id", lambda v: bool(re.fullmatch(r"A\d{4}", v))),
        "reject: id like 12-34": _has(sample, "id", lambda v: bool(re.fullmatch(r"\d+-\d+", v))),
        "reject: blank id": _has(sample, "id", lambda v: v == " "),
    }
    missing = [name for name, n in quirks.items() if n == 0]
    assert not missing, f"quirks absent from 2000 rows: {missing}"


def test_shares_are_realistic(sample) -> None:
    n = len(sample)
    rejected = sum(1 for r in sample if not is_valid_row(r)) / n
    assert 0.01 <= rejected <= 0.03
    assert 0.002 <= sum(r["deleted"] == "1" for r in sample) / n <= 0.02
    assert 0.10 <= sum(r["modified_date"] is None for r in sample) / n <= 0.20


def test_school_email_only_late_ids_and_dates_in_window(sample) -> None:
    late = int(len(sample) * 0.6)
    assert all(r["school_email"] is None for r in sample[:late])
    assert sum(not is_null_marker(r["school_email"]) for r in sample[late:]) > 0.8 * len(
        sample[late:]
    )
    earliest = datetime.combine(TODAY - timedelta(days=3 * 366), datetime.min.time())
    latest = datetime.combine(TODAY - timedelta(days=1), datetime.min.time())
    for r in sample:
        for c in ("created_date", "modified_date"):
            if r[c] is not None:
                assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", r[c])
                assert earliest <= datetime.fromisoformat(r[c]) < latest
        if r["modified_date"] and r["created_date"]:
            assert r["created_date"] <= r["modified_date"]


def test_null_spellings_are_the_domains_nulls() -> None:
    """The generator writes only spellings the sync's one null definition recognizes."""
    assert all(is_null_marker(value) for value in (*NULL_SPELLINGS, *DATE_NULL_SPELLINGS))


def _has_two_known_sponsors(name: str | None) -> bool:
    codes = re.findall(r"<([^<>]*)>", name or "")
    return len(codes) == 2 and all(code in KNOWN_CODES for code in codes)


def test_rows_with_two_sponsors_are_as_varied_as_all_rows() -> None:
    """Regression: the two-sponsor branch once overwrote the row's shared random draw, so every
    such row came out male, born in Phnom Penh, Cambodian, with the same Khmer name.

    For each column, the most common value among two-sponsor rows must not be much more
    common there than the most common value is among all rows.
    """
    rows = list(generate_legacy_rows(20_000, seed=7, today=TODAY))
    two = [row for row in rows if _has_two_known_sponsors(row["name"])]
    assert 100 <= len(two) <= 400  # ~1% of the rows

    def top_share(group: list[dict[str, str | None]], column: str) -> float:
        return Counter(row[column] for row in group).most_common(1)[0][1] / len(group)

    skewed = {
        column: (round(top_share(two, column), 2), round(top_share(rows, column), 2))
        for column in ROW_COLUMNS
        if column != "name" and top_share(two, column) > top_share(rows, column) + 0.15
    }
    assert not skewed, f"(two-sponsor share, all-rows share) of the top value: {skewed}"
    genders = {domain.parse_gender(row["gender"]).value[0] for row in two}
    assert {"M", "F"} <= genders
    assert len({row["birth_place"] for row in two}) >= 5
    assert len({row["nationality"] for row in two}) >= 3
    assert len({row["kname"] for row in two}) >= len(two) // 2


def test_limon_syllables_match_their_unicode() -> None:
    """The hand-written (Limon, Unicode) pairs agree with the domain converter when present."""
    limon = pytest.importorskip("student_sync.domain.limon")
    convert = getattr(limon, "limon_to_unicode", None)
    if convert is None:
        pytest.skip("no limon_to_unicode in student_sync.domain.limon")
    for keys, expected in KHMER_FAMILY_NAMES + KHMER_PERSONAL_NAMES:
        assert all("\u1780" <= ch <= "\u17ff" for ch in expected)
        assert convert(keys) == expected, keys


# --------------------------------------------------------------------------- write table
def test_write_legacy_table(legacy_db) -> None:
    engine, table_name = legacy_db
    rows = list(generate_legacy_rows(700, seed=2, today=TODAY))
    assert write_legacy_table(engine, iter(rows), table_name=table_name, chunk_size=128) == 700
    stored = read_table(engine, table_name)
    assert stored == sorted(rows, key=lambda r: r["ipk"])
    with engine.connect() as conn:
        table = Table(table_name, MetaData(), autoload_with=conn)
        assert [c.name for c in table.columns] == list(ROW_COLUMNS)
        assert all("TEXT" in str(c.type).upper() for c in table.columns)
    # replace drops and recreates; append adds rows (and any new column)
    write_legacy_table(engine, rows[:10], table_name=table_name)
    assert len(read_table(engine, table_name)) == 10
    extra = [
        {**r, "id": f"9{r['ipk']}", "ipk": f"9{r['ipk']}", "paid_term": "T1"} for r in rows[:3]
    ]
    write_legacy_table(engine, extra, table_name=table_name, replace=False)
    stored = read_table(engine, table_name)
    assert len(stored) == 13 and sum(r["paid_term"] == "T1" for r in stored) == 3


def test_write_rejects_unknown_late_column(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    rows = list(generate_legacy_rows(5, today=TODAY))
    rows[4] = {**rows[4], "surprise": "x"}
    with pytest.raises(ValueError, match="surprise"):
        write_legacy_table(engine, rows, chunk_size=2)
    engine.dispose()


# --------------------------------------------------------------------------- day of edits
def _plan(rows, **kw) -> DayOfEdits:
    defaults = dict(seed=5, edit_day=TODAY, fraction=0.03, next_id=10_000, next_ipk=900_000)
    return plan_day_of_edits(rows, **{**defaults, **kw})


def test_plan_day_of_edits_is_pure_disjoint_and_complete(sample) -> None:
    snapshot = [dict(r) for r in sample]
    plan = _plan(sample)
    assert sample == snapshot  # input untouched
    assert plan == _plan(sample)  # deterministic
    assert plan == _plan(list(reversed(sample)))  # whatever order the database returns
    cats = plan.by_category()
    assert all(len(ids) >= 1 for ids in cats.values()), plan.counts()
    flat = [sid for ids in cats.values() for sid in ids]
    assert len(flat) == len(set(flat))  # disjoint
    assert plan.total == round(0.03 * len(sample))

    before = {r["id"]: r for r in sample}
    after = {r["id"]: r for r in plan.updated_rows}
    assert set(after) == set(flat) - set(plan.new_students) == plan.edited_ids
    for sid, row in after.items():
        old = before[sid]
        assert is_valid_row(old) and old["deleted"] == "0"
        assert row["ipk"] == old["ipk"]
        assert row["modified_date"].startswith(TODAY.isoformat())
    codes = re.compile(r"<([A-Z0-9]+)>")
    for sid in plan.renames:
        old, new = before[sid]["name"], after[sid]["name"]
        assert bare_name(old).upper() != bare_name(new).upper()
        assert codes.findall(old) == codes.findall(new)
        assert re.findall(r"\$\$|\{AF\}|\(ST\)", old) == re.findall(r"\$\$|\{AF\}|\(ST\)", new)
        assert bare_name(old).split()[0] == bare_name(new).split()[0]  # family name kept
    for sid in plan.sponsor_changes:
        old, new = codes.findall(before[sid]["name"]), codes.findall(after[sid]["name"])
        assert len(old) == len(new) and len(set(old) - set(new)) == 1
        assert (set(new) - set(old)) <= set(KNOWN_CODES)
        assert bare_name(before[sid]["name"]) == bare_name(after[sid]["name"])
    for sid in plan.sponsor_removals:
        old, new = codes.findall(before[sid]["name"]), codes.findall(after[sid]["name"])
        assert len(new) == len(old) - 1 and set(new) < set(old)
        assert bare_name(before[sid]["name"]) == bare_name(after[sid]["name"])
    for sid in plan.contact_removals:
        assert not is_null_marker(before[sid]["emg_contact_person"])
        assert all(
            after[sid][c] is None
            for c in (
                "emg_contact_person",
                "contact_person_phone",
                "relationship",
                "contact_person_address",
            )
        )
    for sid in plan.deletions:
        assert after[sid]["deleted"] == "1"
    others = set(ROW_COLUMNS) - {
        "name",
        "modified_date",
        "deleted",
        "emg_contact_person",
        "contact_person_phone",
        "relationship",
        "contact_person_address",
    }
    for sid, row in after.items():
        assert all(row[c] == before[sid][c] for c in others)
    new = plan.new_rows
    assert [r["id"] for r in new] == [f"{10_000 + k:05d}" for k in range(len(new))]
    assert [r["ipk"] for r in new] == [str(900_000 + k) for k in range(len(new))]
    assert all(is_valid_row(r) and r["deleted"] == "0" for r in new)
    assert all(r["created_date"].startswith(TODAY.isoformat()) for r in new)


def test_plan_small_budgets() -> None:
    rows = list(generate_legacy_rows(300, seed=9, today=TODAY))
    assert _plan(rows, fraction=0.0).total == 0
    tiny = _plan(rows, fraction=3 / 300)
    assert tiny.total == 3 and sum(1 for n in tiny.counts().values() if n) == 3
    six = _plan(rows, fraction=6 / 300)
    assert all(n == 1 for n in six.counts().values())


def test_apply_day_of_edits(legacy_db) -> None:
    engine, table_name = legacy_db
    rows = list(generate_legacy_rows(800, seed=4, today=TODAY))
    write_legacy_table(engine, rows, table_name=table_name)
    edit_day = TODAY - timedelta(days=1)
    plan = demo.apply_day_of_edits(
        engine, seed=8, edit_day=edit_day, fraction=0.02, table_name=table_name
    )
    assert all(n >= 1 for n in plan.counts().values())
    stored = {(r["id"], r["ipk"]): r for r in read_table(engine, table_name)}
    assert len(stored) == len(rows) + len(plan.new_rows)
    changed = {(r["id"], r["ipk"]): r for r in (*plan.updated_rows, *plan.new_rows)}
    for key, row in stored.items():
        expected = changed.get(key)
        if expected is None:
            original = next(r for r in rows if (r["id"], r["ipk"]) == key)
            assert row == original
        else:
            assert row == {c: expected.get(c) for c in row}
    max_old = max(int(r["id"]) for r in rows if r["id"].isdigit())
    assert all(int(sid) > max_old for sid in plan.new_students)
    with engine.connect() as conn:
        table = Table(table_name, MetaData(), autoload_with=conn)
        since = edit_day.isoformat()
        touched = (
            conn.execute(
                select(table.c.id).where(
                    (table.c.modified_date >= since) | (table.c.created_date >= since)
                )
            )
            .scalars()
            .all()
        )
    assert set(touched) == plan.edited_ids | set(plan.new_students)


@pytest.mark.postgres
def test_postgres_copy_writes_every_row() -> None:
    """The COPY path writes all 50,000 rows (its speed is measured in benchmarks/, not here)."""
    engine = legacy_postgres_engine()
    name = f"legacy_t_{uuid.uuid4().hex[:12]}"
    try:
        assert (
            write_legacy_table(engine, generate_legacy_rows(50_000, today=TODAY), table_name=name)
            == 50_000
        )
        with engine.connect() as conn:
            table = Table(name, MetaData(), autoload_with=conn)
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 50_000
    finally:
        with engine.begin() as conn:
            Table(name, MetaData()).drop(conn, checkfirst=True)
        engine.dispose()
