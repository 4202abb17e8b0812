"""``python manage.py migrate_students_idempotent``: the guide's command, on the same engine.

A thin face like ``student-sync migrate``: the same flags (``cli.add_migrate_arguments``),
the same run-and-print (``cli.run_migrate``), the same exit codes (``cli.failure_status``).
The SIS is the project's database (``--database``, default ``default``).
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from student_sync.cli import add_migrate_arguments, failure_status, run_migrate
from student_sync.django_app.database import LEGACY_URL_SETTING, project_password, project_urls
from student_sync.engine import url_password


class Command(BaseCommand):
    help = (
        "Sync legacy_students into the SIS tables of this project's database (idempotent: "
        "run it as often as you like). Exit codes: 0 ok, 1 below 90% success or failed, "
        "2 usage or configuration error, 3 another run holds the lock."
    )
    # The run checks what it needs itself (exit 2 naming the gap); a problem elsewhere in
    # the project must not stop the nightly sync. `python manage.py check` shows everything.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_migrate_arguments(parser)
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            metavar="ALIAS",
            help="the DATABASES entry holding the SIS tables (default: default)",
        )
        parser.add_argument(
            "--legacy-url",
            help=f"SQLAlchemy URL of the database holding legacy_students (default: "
            f"settings.{LEGACY_URL_SETTING}, else $STUDENT_SYNC_LEGACY_URL, else --database)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        legacy_url = options["legacy_url"]
        secrets = [project_password(options["database"]), legacy_url and url_password(legacy_url)]
        try:
            urls = project_urls(options["database"], legacy_url)
            secrets += [url_password(urls.sis), url_password(urls.legacy)]
            run_migrate(argparse.Namespace(**options), urls, out=self.stdout)
        except BaseException as exc:
            status = failure_status(exc, secrets)
            if status is None:
                raise
            code, message = status
            raise CommandError(message, returncode=code) from None
