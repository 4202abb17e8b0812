"""Fixtures for the Dagster layer: a temporary instance, test resources, and a twin database.

The twin is a second, identical target database the engine (or the CLI) syncs directly, so a
test can compare what the assets did with what the engine does for the same slice.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# The date dimension starts a week ago in these tests (set before the partitions module is
# imported: partitions are fixed at load time). A run over the whole span materializes every
# day's cell, and Dagster's bookkeeping costs ~15 ms per cell and asset; a week keeps the
# full-refresh tests to seconds while exercising the same code as a year-long span.
_school_today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Phnom_Penh")).date()
os.environ["STUDENT_SYNC_FIRST_DAY"] = (_school_today - timedelta(days=7)).isoformat()

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import dagster as dg  # noqa: E402
import pytest  # noqa: E402

from student_sync.orchestration.resources import SyncSettings  # noqa: E402
from student_sync_tests.conftest import fresh_postgres_url  # noqa: E402
from student_sync_tests.dagster.support import Days, Harness  # noqa: E402


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An in-memory instance: runs, events and dynamic partitions, gone after the test."""
    inst = dg.DagsterInstance.ephemeral()
    try:
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def harness(db_url: str, tmp_path: Path, instance: dg.DagsterInstance) -> Harness:
    settings = SyncSettings(reports_dir=str(tmp_path / "reports"))
    return Harness(url=db_url, tmp=tmp_path, instance=instance, settings=settings, days=Days())


@pytest.fixture
def twin_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second target database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.sqlite'}"
    else:
        yield from fresh_postgres_url()
