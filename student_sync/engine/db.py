"""Database connections: URL resolution, masking and dialect quirks in one place."""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from student_sync.engine.errors import (  # noqa: F401 - re-exported
    ConfigurationError,
    DatabaseUnavailable,
    DriverError,
    describe_db_error,
)

DATABASE_URL_ENV = "STUDENT_SYNC_DATABASE_URL"
LEGACY_URL_ENV = "STUDENT_SYNC_LEGACY_URL"
DEFAULT_SQLITE_FILE = "student_sync.sqlite"


@dataclass(frozen=True)
class DatabaseUrls:
    """Where the SIS tables live and where the legacy table is read from."""

    sis: str
    legacy: str

    @property
    def same_database(self) -> bool:
        return self.sis == self.legacy


def resolve_urls(database_url: str | None = None, legacy_url: str | None = None) -> DatabaseUrls:
    """Flags win over env vars; with neither, an embedded SQLite file in the working directory."""
    sis = database_url or os.environ.get(DATABASE_URL_ENV) or ""
    if not sis.strip():
        sis = f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"
    legacy = legacy_url or os.environ.get(LEGACY_URL_ENV) or sis
    return DatabaseUrls(sis=normalize_url(sis), legacy=normalize_url(legacy))


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` and route it through psycopg 3."""
    url = url.strip()
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a non-numeric port
        raise ConfigurationError(f"invalid database URL {mask_url(url)!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("postgresql", "sqlite")):
        raise ConfigurationError(
            f"unsupported database {parsed.drivername!r}: use postgresql+psycopg:// or sqlite://"
        )
    return parsed.render_as_string(hide_password=False)


# The password may hold spaces (SQLAlchemy renders them unescaped), so only '@' and line ends
# stop it: over-masking a line is harmless, a half-masked password is a leak.
_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\r\n]*)@")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``: safe for logs, reports and errors."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m.group('head')}***@", url)


def mask_text(text: str, *secrets: str | None) -> str:
    """Mask URLs in free text, and any literal secret given (e.g. a driver error echoing one)."""
    text = mask_url(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None


def describe_url(url: str) -> str:
    """Host and database without credentials, for one-sentence error messages."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return mask_url(url)
    if parsed.drivername.startswith("sqlite"):
        return f"SQLite file {parsed.database or ':memory:'}"
    return f"database {parsed.database!r} on {parsed.host or 'localhost'}:{parsed.port or 5432}"


def reflect_table(conn: Connection, name: str, *, schema: str | None = None) -> Table:
    """Reflect a table as it is; our own expression index on it is not worth a warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return Table(name, MetaData(), autoload_with=conn, schema=schema)


def index_names(conn: Connection, table_name: str) -> set[str]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return {ix["name"] for ix in inspect(conn).get_indexes(table_name)}


def _sqlite_md5(value: str | None) -> str | None:
    if value is None:
        return None
    return hashlib.md5(value.encode("utf-8"), usedforsecurity=False).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine with the settings the sync relies on on each dialect."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_conn, _record) -> None:  # pragma: no cover - driver hook
            # md5() lets the raw-row digest be computed inside the database, as on PostgreSQL;
            # WAL lets the extract cursor read while batches commit.
            dbapi_conn.create_function("md5", 1, _sqlite_md5, deterministic=True)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": "student_sync"},
    )


def connected_engine(url: str) -> Engine:
    """An engine whose database answers; else DatabaseUnavailable naming host and database.

    The one place a connection failure is turned into the operator's message: the driver's
    first line, with the URL's password masked out of it.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot connect to {describe_url(url)}: {mask_text(reason, url_password(url))}"
        ) from None
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file behind an engine, or None for a server or an in-memory database."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).resolve()
