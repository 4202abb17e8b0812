"""System checks: `python manage.py check` says what the sync needs and does not find.

The facts come from the engine (``engine.readiness``, by reflection of the project's
database). Errors are what stops a run (SIS tables, the ``legacy_ipk`` column, a contact
table); warnings what a run would refuse or miss (sync tables not initialised, known
sponsors absent, no legacy table). While Django migrations are still unapplied, errors are
shown as warnings: `manage.py migrate` runs these checks too and must not be blocked from
applying the very migration that fixes them. ``check --database ALIAS`` checks that alias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections
from sqlalchemy.exc import DBAPIError, OperationalError

from student_sync.django_app.database import project_password, project_urls
from student_sync.engine import (
    ConfigurationError,
    Gap,
    describe_url,
    find_gaps,
    make_engine,
    mask_text,
    url_password,
)

TAG = "student_sync"
# Stable check ids: student_sync.E00n / W00n, n by gap code.
CHECK_NUMBERS = {
    "sis_tables": 1,
    "contact_table": 2,
    "legacy_ipk": 3,
    "sis_columns": 4,
    "sync_tables": 5,
    "sponsors": 6,
    "legacy_table": 7,
    "database": 8,
}


def _message(gap: Gap, alias: str, pending: int) -> CheckMessage:
    number = CHECK_NUMBERS[gap.code]
    text = f"{gap.message} (database {alias!r})"
    if gap.severity == "error" and not pending:
        return Error(text, hint=gap.hint, obj=TAG, id=f"{TAG}.E{number:03d}")
    if gap.severity == "error":
        text += f"; {pending} Django migration(s) are not applied yet, check again after them"
    return Warning(text, hint=gap.hint, obj=TAG, id=f"{TAG}.W{number:03d}")


def _pending_migrations(alias: str) -> int:
    """Unapplied Django migrations on ``alias`` (0 when that cannot be told)."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[alias])
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except Exception:  # noqa: BLE001 - unreadable state: judge the schema as it is
        return 0


def _gaps(alias: str) -> list[Gap]:
    urls = project_urls(alias)
    secrets = [project_password(alias), url_password(urls.sis), url_password(urls.legacy)]
    engines = {urls.sis: make_engine(urls.sis)}
    engines.setdefault(urls.legacy, make_engine(urls.legacy))
    try:
        with engines[urls.sis].connect() as sis, engines[urls.legacy].connect() as legacy:
            return find_gaps(sis, legacy)
    except (OperationalError, DBAPIError) as exc:
        reason = mask_text(str(exc.orig or exc).strip().splitlines()[0], *secrets)
        return [
            Gap(
                "database",
                "warning",
                f"could not read {describe_url(urls.sis)} to check it: {reason}",
                "check the database settings and that the server is up",
            )
        ]
    finally:
        for engine in engines.values():
            engine.dispose()


@register(TAG)
def sync_readiness(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **_: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        try:
            gaps = _gaps(alias)
        except ConfigurationError as exc:
            gaps = [Gap("database", "error", str(exc), "see the student_sync README")]
        pending = _pending_migrations(alias) if any(g.severity == "error" for g in gaps) else 0
        messages += [_message(gap, alias, pending) for gap in gaps]
    return messages
