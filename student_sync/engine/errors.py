"""Every error the engine raises, in one place, and the one-line description of driver errors.

The engine speaks in these classes; the faces (CLI, Django command, Dagster ops) map them to
their own outcomes (exit codes, failed runs). Messages name the problem in the engine's terms,
never a face's flag, and are already masked: no URL password, no value of a student's row.
"""

from __future__ import annotations

import re
import sqlite3

import psycopg


class NamesAnOption:
    """Mixin for an error whose message names a run option.

    ``str()`` names it the engine's way (a ``SyncOptions`` field such as
    ``allow_mass_delete``); a face calls ``worded`` with its own name for it (the CLI:
    ``--allow-mass-delete``), so the engine never speaks in one face's flags.
    """

    option: str

    def worded(self, name: str) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.worded(self.option)


class ConfigurationError(Exception):
    """A usage or configuration problem: the CLI exits 2 with this message."""


class InvalidOption(NamesAnOption, ConfigurationError):
    """A run option the engine cannot take, e.g. ``batch_size must be at least 1, got 0``."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(option, problem)
        self.option, self.problem = option, problem

    def worded(self, name: str) -> str:
        return f"{name} {self.problem}"


class LegacyTableMissing(NamesAnOption, ConfigurationError):
    """The legacy database has no legacy table (not loaded yet, or the wrong database)."""

    option = "legacy_url"

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table

    def worded(self, name: str, *, loaders: str = "") -> str:
        """``loaders``: how this face loads the table, e.g. its commands."""
        how = f" ({loaders})" if loaders else ""
        return (
            f"legacy table {self.table!r} not found: load it{how} "
            f"or point {name} at the database that holds it"
        )


class DatabaseUnavailable(Exception):
    """The database could not be reached: the CLI exits 1 with this (masked) message."""


class SisNotReady(ConfigurationError):
    """The SIS tables cannot take the sync's rows: nothing was written (exit 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            message = f"the SIS tables are not ready: {problems[0]}"
        else:
            listing = "".join(f"\n  - {p}" for p in problems)
            message = f"the SIS tables are not ready ({len(problems)} problems):{listing}"
        super().__init__(message)


class SyncFailed(Exception):
    """The run started but could not finish; the message is already masked."""


class MassDeleteRefused(NamesAnOption, SyncFailed):
    """Too many students would vanish at once (a truncated or half-loaded legacy table)."""

    option = "allow_mass_delete"

    def __init__(self, vanished: int, active: int, scope: str, threshold: float) -> None:
        super().__init__(vanished, active, scope, threshold)
        self.vanished, self.active, self.scope, self.threshold = vanished, active, scope, threshold

    def worded(self, name: str) -> str:
        return (
            f"refusing to soft-delete {self.vanished} of {self.active} students ({self.scope}) "
            f"that are no longer in the legacy table (over {self.threshold:.0%}); "
            f"check the legacy load, then rerun with {name} if it is intended"
        )


class StaleChangeSet(SyncFailed):
    """The target changed between planning and applying a persisted change set."""


class ReportUnavailable(Exception):
    """The ledger has no such run, or its report file is gone (a usage error: exit 2)."""


class ChangeSetNotFound(LookupError):
    """No finished change set (or no applied one) under that id or scope."""


class LegacyLoadError(Exception):
    """A refused export file; the message names the line, byte offset or column at fault."""


class LockHeld(Exception):
    """Another run holds the lock on this target database (CLI exit 3)."""


class LockLost(Exception):
    """The connection holding the advisory lock died mid-run: stop before the next commit."""


# Errors the drivers raise themselves (COPY and pipelined statements go to psycopg directly,
# so their errors are not wrapped in SQLAlchemy's DBAPIError).
DriverError: tuple[type[Exception], ...] = (psycopg.Error, sqlite3.Error)

# SQLSTATE classes whose primary message names objects only (tables, columns, constraints,
# connections), never a value of the row: integrity (23), connection (08), transaction (25,
# 40), resources (53), operator intervention (57), object state (55), syntax/access (42).
_VALUE_FREE_CLASSES = ("08", "23", "25", "40", "42", "53", "55", "57")


def describe_db_error(exc: BaseException) -> str:
    """A database error in one line without personal data.

    PostgreSQL's DETAIL ("Failing row contains (...)", "Key (school_email)=(...)") and CONTEXT
    (the COPY line) quote the row, SQLAlchemy's text appends the statement's parameters, and
    some primary messages quote a value (``invalid input syntax for type date: "..."``): only
    the primary message of a value-free class passes, plus the table, column and constraint
    the server names. Other errors say their kind and SQLSTATE.
    """
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if diag is not None and sqlstate:
        names = [
            f"{label} {value}"
            for label, value in (
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
            )
            if value
        ]
        if sqlstate.startswith(_VALUE_FREE_CLASSES) and diag.message_primary:
            message = diag.message_primary.splitlines()[0]
        else:
            message = _words(type(orig).__name__)
        where = f"; {', '.join(names)}" if names else ""
        return f"{message} (SQLSTATE {sqlstate}{where})"
    if isinstance(orig, sqlite3.Error):
        # SQLite names the constraint and the table.column, never the values.
        text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        return text or _words(type(orig).__name__)
    text = str(orig).strip()
    first = text.splitlines()[0] if text else _words(type(orig).__name__)
    # Connection failures and the like: no row in them, but no DETAIL either way.
    return first.split("DETAIL:")[0].strip()


def _words(class_name: str) -> str:
    """``NotNullViolation`` -> ``not null violation``."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).lower()
