"""Running the app's management commands in the test Django project, and the CLI beside it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from student_sync_tests.djangosis import django_manage

APP = "student_sync.django_app"
COMMAND = "migrate_students_idempotent"


def manage(url: str, *args: str, contact_schema: str = "contact") -> subprocess.CompletedProcess:
    """`python manage.py ARGS` of the test SIS with the app installed; never raises."""
    return django_manage(url, *args, contact_schema=contact_schema, extra_apps=[APP], check=False)


def only_report(folder: Path) -> dict[str, Any]:
    """The one JSON report in ``folder``."""
    reports = sorted(folder.glob("student_sync_*.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text())


def without_report_line(stdout: str) -> str:
    """The stats block without the lines naming the report files (their paths differ per run)."""
    return "\n".join(
        line for line in stdout.splitlines() if "Report: " not in line and "Page: " not in line
    ).strip()
