"""The guide's cron scripts, as the README shows them, run unchanged in a Django project."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from student_sync.engine import schema
from student_sync.engine.db import make_engine, normalize_url
from student_sync.engine.options import DEFAULT_TIMEZONE, school_zone
from student_sync_tests.django_app.support import APP
from student_sync_tests.djangosis import DJANGO_PROJECT, django_env
from student_sync_tests.helpers import legacy_row, write_legacy

pytestmark = [pytest.mark.django, pytest.mark.postgres]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script(first_comment: str) -> str:
    """The README's bash block that starts with ``#!/bin/bash`` and then ``first_comment``."""
    blocks = re.findall(r"```bash\n(#!/bin/bash\n.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if b.splitlines()[1] == first_comment)


def run_script(script: str, url: str, project: Path, prelude: str = "") -> str:
    env = django_env(url, extra_apps=[APP])
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `python`: this venv
    result = subprocess.run(
        ["bash", "-c", prelude + script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def ledger(url: str) -> list[dict]:
    """Completed runs, oldest first: mode, force_update and the parameters they ran with."""
    engine = make_engine(normalize_url(url))
    t = schema.run_ledger
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(t.c.status, t.c.force_update, t.c.parameters).order_by(t.c.started_at)
            ).all()
    finally:
        engine.dispose()
    return [
        {"status": status, "force_update": force, **json.loads(parameters)}
        for status, force, parameters in rows
    ]


def test_daily_weekly_and_range_loop_scripts(sis_url: str, tmp_path: Path) -> None:
    yesterday = datetime.now(school_zone(DEFAULT_TIMEZONE)).date() - timedelta(days=1)
    rows = [legacy_row(i) for i in range(1001, 1011)]
    rows += [legacy_row(i, modified_date=f"{yesterday} 08:00:00.000") for i in (1011, 1012)]
    rows += [legacy_row(i) for i in (20001, 20002)]
    write_legacy(sis_url, rows)
    project = tmp_path / "sis"  # reports land in the project's working directory
    shutil.copytree(DJANGO_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))

    daily = run_script(readme_script("# Daily incremental sync script"), sis_url, project)
    assert daily.count("IDEMPOTENT MIGRATION (upsert) RESULTS:") == 2
    weekly = run_script(
        readme_script("# Weekly forced update to catch name changes"), sis_url, project
    )
    assert "IDEMPOTENT MIGRATION (upsert) RESULTS:" in weekly
    # The loop's command form, for its first range only (20 ranges with `sleep 5` between
    # them would be 100 s of sleeping): `seq` and `sleep` are shadowed, the script is not.
    loop = run_script(
        readme_script("# Process in batches of 1000 student IDs"),
        sis_url,
        project,
        prelude="seq() { echo 1000; }; sleep() { :; }\n",
    )
    assert "Processing students 1000 to 1999..." in loop

    runs = ledger(sis_url)
    assert [r["status"] for r in runs] == ["completed"] * 4
    daily_window, daily_new, weekly_run, loop_run = runs
    assert daily_window["modified_since_text"] == "yesterday"
    assert daily_window["batch_size"] == 500
    assert (daily_new["id_ranges"], daily_new["batch_size"]) == ([[20000, 25000]], 100)
    assert weekly_run["force_update"] is True and weekly_run["batch_size"] == 200
    assert (loop_run["id_ranges"], loop_run["batch_size"]) == ([[1000, 1999]], 100)
    reports = [json.loads(p.read_text()) for p in sorted((project / "reports").glob("*.json"))]
    processed = [r["summary"]["input"]["records_processed"] for r in reports]
    assert sorted(processed) == sorted([2, 2, 14, 12])  # yesterday's, 20000s, all, 1000s
