"""A first load (no sync state yet) skips the per-row state lookups it cannot need.

Pages come in key order and the state is empty when the run starts, so a page can only have
a state for a key that ties with the previous page's last key; every other lookup is an
index probe for nothing. A later run, with state, must look every key up again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from student_sync.engine import plan, schema, target
from student_sync.engine.db import make_engine, normalize_url
from student_sync_tests.helpers import (
    FIXED_NOW,
    SIS_WRITTEN,
    empty_tables,
    init_db,
    legacy_row,
    rows,
    run,
    write_legacy,
)


@pytest.fixture
def asked(monkeypatch) -> list[str]:
    """Every key the planner asks the sync state for."""
    keys: list[str] = []
    original = target.load_states

    def recording(conn, wanted):  # noqa: ANN001, ANN202
        wanted = list(wanted)
        keys.extend(wanted)
        return original(conn, wanted)

    monkeypatch.setattr(target, "load_states", recording)
    return keys


def test_first_load_asks_only_for_keys_that_tie_across_pages(db_url, tmp_path, asked) -> None:
    init_db(db_url)
    # 00007 and 7 share key "7" and straddle the first page boundary (page size 7).
    rows = [legacy_row(n) for n in range(1, 8)] + [legacy_row("7")]
    rows += [legacy_row(n) for n in range(8, 20)]
    write_legacy(db_url, rows)

    first = run(db_url, tmp_path, page_size=7, batch_size=7)
    assert first.counters.classes["create"] == 18
    assert first.counters.rejections["DUPLICATE_ID"] == 2
    assert asked == ["7"]  # the tie; no other key had any chance of a state

    asked.clear()
    # A forced rewrite reads every row again: with state now, every key is looked up.
    second = run(db_url, tmp_path, page_size=7, batch_size=7, force_update=True)
    assert second.counters.classes["create"] == 0
    assert second.counters.classes["update"] == 18
    assert sorted(set(asked), key=plan.key_order) == [str(n) for n in range(1, 20)]


def test_key_order_is_the_keyset_order() -> None:
    keys = ["10", "9", "100", "abc", "11", "٣"]
    assert sorted(keys, key=plan.key_order) == ["9", "٣", "10", "11", "100", "abc"]


def test_a_first_load_meeting_digests_left_behind_merges_them(pg_url, tmp_path) -> None:
    """A first load COPYs its sync-state and last-written-digest rows straight in, believing
    them new. Digests left behind (an operator cleared the SIS and the sync state, not the
    digests) do not fail its batches: they are merged, as an upsert would, and the load
    leaves what a clean first load leaves."""
    init_db(pg_url)
    write_legacy(pg_url, [legacy_row(i) for i in range(1, 1201)])
    batch = 600  # above bulk.STAGE_MIN_ROWS: the COPY path, which the digests left make fail
    first = run(pg_url, tmp_path, batch_size=batch)
    assert first.counters.classes["create"] == 1200
    clean = {r["student_id"]: r for r in rows(pg_url, schema.last_written)}
    assert len(clean) == 1200
    empty_tables(pg_url, *SIS_WRITTEN, schema.sync_state)
    engine = make_engine(normalize_url(pg_url))
    with engine.begin() as conn:
        stale = update(schema.last_written).where(schema.last_written.c.student_id % 2 == 0)
        conn.execute(stale.values(person="stale", profile=None))
    engine.dispose()
    again = run(pg_url, tmp_path, batch_size=batch, now=FIXED_NOW + timedelta(hours=1))
    assert again.summary.status == "completed"
    assert again.counters.classes["create"] == 1200 and again.counters.classes["reject"] == 0
    assert {r["student_id"]: r for r in rows(pg_url, schema.last_written)} == clean
    assert len(rows(pg_url, schema.sync_state)) == 1200
