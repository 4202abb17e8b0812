"""Issue-level behaviour on realistic demo data: initial run, rerun, a day of edits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from student_sync import demo
from student_sync.domain import parse_name
from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.options import DateWindow
from student_sync_tests.helpers import (
    init_db,
    person_of,
    profile_of,
    run,
    snapshot,
    sponsorships_of,
)

TODAY = date(2026, 3, 10)
NOW = datetime.fromisoformat("2026-03-10T03:00:00+00:00")


@pytest.fixture
def demo_db(db_url: str) -> str:
    init_db(db_url)
    engine = make_engine(normalize_url(db_url))
    demo.write_legacy_table(engine, demo.generate_legacy_rows(600, 11, today=TODAY))
    engine.dispose()
    return db_url


def test_initial_rerun_and_day_of_edits(demo_db: str, tmp_path) -> None:
    first = run(demo_db, tmp_path, now=NOW, batch_size=50)
    c1 = first.counters
    assert c1.records_processed == 600
    assert c1.classes["create"] > 500 and c1.rejected > 0
    assert c1.successful + c1.rejected == 600  # rejections are never successes
    assert c1.emergency_contacts["created"] > 0 and c1.sponsorships["created"] > 0
    tables_after_first = snapshot(demo_db, tables=schema.SIS_TABLES)

    second = run(demo_db, tmp_path, now=NOW + timedelta(hours=1), batch_size=50)
    c2 = second.counters
    assert c2.classes["create"] == 0 and c2.classes["update"] == 0 and c2.classes["delete"] == 0
    assert c2.classes["unchanged"] == c2.successful  # 100% of the non-rejected rows
    assert snapshot(demo_db, tables=schema.SIS_TABLES) == tables_after_first

    engine = make_engine(normalize_url(demo_db))
    edit_day = TODAY
    edits = demo.apply_day_of_edits(engine, seed=5, edit_day=edit_day, fraction=0.03)
    engine.dispose()
    assert all(n >= 1 for n in edits.counts().values())
    before_codes = {}
    for sid in edits.sponsor_removals + edits.sponsor_changes:
        before_codes[sid] = {
            s["code"] for s in sponsorships_of(demo_db, int(sid)) if s["end_date"] is None
        }

    incremental = run(
        demo_db,
        tmp_path,
        now=NOW + timedelta(days=1),
        batch_size=50,
        window=DateWindow(since=datetime.combine(edit_day, datetime.min.time())),
    )
    c3 = incremental.counters
    n = edits.counts()
    assert c3.records_processed == len(edits.updated_rows) + len(edits.new_rows)
    assert c3.classes["create"] == n["new_students"]
    assert c3.classes["delete"] == n["deletions"]
    assert c3.classes["update"] == (
        n["renames"] + n["sponsor_changes"] + n["sponsor_removals"] + n["contact_removals"]
    )
    assert c3.sponsorships["ended"] == n["sponsor_changes"] + n["sponsor_removals"]
    assert c3.emergency_contacts["deleted"] == n["contact_removals"]
    for sid in edits.sponsor_removals:
        rows_ = sponsorships_of(demo_db, int(sid))
        assert rows_ and all(
            r["end_date"] is not None for r in rows_ if r["code"] in before_codes[sid]
        )  # ended, never deleted
    for sid in edits.deletions:
        assert profile_of(demo_db, int(sid))["is_deleted"]
    for sid in edits.renames:
        row = next(r for r in edits.updated_rows if r["id"] == sid)
        expected = parse_name(row["name"])
        person = person_of(demo_db, int(sid))
        assert (person["family_name"], person["personal_name"]) == (
            expected.family_name,
            expected.personal_name,
        )

    # and a full rerun afterwards changes nothing more
    settle = run(demo_db, tmp_path, now=NOW + timedelta(days=1, hours=1), batch_size=50)
    assert settle.counters.classes["update"] == 0 and settle.counters.classes["create"] == 0
