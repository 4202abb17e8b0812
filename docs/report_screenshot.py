"""Make docs/report.png: a simulated week of nightly demo runs, the last run's page in Chromium.

    .venv/bin/python docs/report_screenshot.py        # needs Debian's chromium

The engine runs for real on a scratch SQLite file (2,000 demo students); only the clock is
simulated (each run starts at 02:00 of its night, durations are the real ones), so the trend
charts span a week. Each day the legacy system gets a day of edits (``student-sync demo-data
--apply-edits``) and a registrar fixes a few of the rejected names; the nightly run picks up
what changed, the last night is a full run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from sqlalchemy import MetaData, Table, update

from student_sync.engine import ledger, run
from student_sync.engine.db import DatabaseUrls, make_engine
from student_sync.engine.options import DEFAULT_TIMEZONE, DateWindow, SyncOptions, school_zone
from student_sync.engine.run import sync
from student_sync.engine.schema import LEGACY_TABLE_NAME

OUT = Path(__file__).with_name("report.png")
FIRST_DAY = date(2026, 11, 23)
NIGHTS = 7
FIXES_PER_DAY = 4


def cli(url: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "student_sync", *args, "--database-url", url],
                   check=True, stdout=subprocess.DEVNULL)


def night(day: date) -> datetime:
    """02:00 school time: when the nightly schedule runs."""
    return datetime(day.year, day.month, day.day, 2, tzinfo=school_zone(DEFAULT_TIMEZONE))


class NightClock(datetime):
    """``datetime`` for the engine's run module: its clock starts at the simulated night."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> NightClock:  # type: ignore[override]
        return super().now(tz) - cls.offset


def nightly_run(urls: DatabaseUrls, options: SyncOptions, day: date) -> run.RunResult:
    NightClock.offset = datetime.now(UTC) - night(day)
    return sync(urls, options, now=night(day))


def fix_rejected_names(url: str, ids: list[str], day: date) -> None:
    """A registrar fills in a few missing names in the legacy system (stamped ``day``)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        legacy = Table(LEGACY_TABLE_NAME, MetaData(), autoload_with=conn)
        for n, sid in enumerate(ids):
            conn.execute(update(legacy).where(legacy.c.id == sid).values(
                name=f"SOK Fixed{'abcdefghij'[n]}", modified_date=f"{day} 09:00:00.000"))
    engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'student_sync.sqlite'}"
        cli(url, "init")
        cli(url, "demo-data", "--students", "2000", "--seed", "7")
        urls = DatabaseUrls(url, url)
        run.datetime = ledger.datetime = NightClock  # type: ignore[misc]
        result = nightly_run(urls, SyncOptions(reports_dir=tmp / "reports"), FIRST_DAY)
        assert result.report_path is not None
        missing_names = [r["student_id"] for r in
                         json.loads(result.report_path.read_text())["detailed_rejections"]
                         if r["reason"] == "MISSING_NAME"]
        for k in range(1, NIGHTS):
            edit_day = FIRST_DAY + timedelta(days=k - 1)
            cli(url, "demo-data", "--apply-edits", "--seed", str(100 + k),
                "--edit-day", edit_day.isoformat())
            fixed = missing_names[(k - 1) * FIXES_PER_DAY:k * FIXES_PER_DAY]
            fix_rejected_names(url, fixed, edit_day)
            since = datetime.combine(edit_day, datetime.min.time())
            full = k == NIGHTS - 1
            options = SyncOptions(reports_dir=tmp / "reports",
                                  window=DateWindow() if full else DateWindow(since=since),
                                  modified_since_text=None if full else edit_day.isoformat())
            result = nightly_run(urls, options, FIRST_DAY + timedelta(days=k))
        assert result.report_path is not None
        page = result.report_path.with_suffix(".html")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp / 'profile'}", "--force-device-scale-factor=1",
             "--window-size=1000,1640", f"--screenshot={OUT}", page.as_uri()],
            check=True, capture_output=True, cwd=tmp, timeout=180,
        )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
