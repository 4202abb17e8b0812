"""A first load (no sync state yet) skips the per-row state lookups it cannot need.

Pages come in key order and the state is empty when the run starts, so a page can only have
a state for a key that ties with the previous page's last key; every other lookup is an
index probe for nothing. A later run, with state, must look every key up again.
"""

from __future__ import annotations

import pytest

from student_sync.engine import plan, target
from student_sync_tests.helpers import init_db, legacy_row, run, write_legacy


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
