"""The project's ``DATABASES`` entry as the SQLAlchemy URL the engine uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import URL

from student_sync.engine import ConfigurationError, DatabaseUrls, resolve_urls

# Django backends the sync can drive, by ENGINE.
_POSTGRESQL_ENGINES = (
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
    "django.contrib.gis.db.backends.postgis",
)
_SQLITE_ENGINES = ("django.db.backends.sqlite3", "django.contrib.gis.db.backends.spatialite")
# OPTIONS that are libpq connection parameters (Django-only ones such as pool or
# server_side_binding mean nothing to the engine's connections).
_LIBPQ_OPTIONS = (
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslpassword",
    "sslnegotiation",
    "channel_binding",
    "gssencmode",
    "options",
    "passfile",
    "service",
    "target_session_attrs",
)
LEGACY_URL_SETTING = "STUDENT_SYNC_LEGACY_URL"


def sqlalchemy_url(alias: str, settings_dict: Mapping[str, Any]) -> str:
    """``postgresql+psycopg://`` (or ``sqlite:///``) for one ``DATABASES`` entry.

    The URL carries the password for the engine; show it only through ``mask_url`` /
    ``describe_url``.
    """
    engine = settings_dict.get("ENGINE", "")
    if engine in _SQLITE_ENGINES:
        name = str(settings_dict.get("NAME") or "")
        if not name or name == ":memory:":
            raise ConfigurationError(f"database {alias!r} is an in-memory SQLite database")
        return f"sqlite:///{name}"
    if engine not in _POSTGRESQL_ENGINES:
        raise ConfigurationError(
            f"database {alias!r} uses {engine or 'no ENGINE'}: student_sync needs PostgreSQL "
            "(django.db.backends.postgresql) or SQLite"
        )
    host = str(settings_dict.get("HOST") or "")
    options = settings_dict.get("OPTIONS") or {}
    query = {k: str(options[k]) for k in _LIBPQ_OPTIONS if options.get(k) not in (None, "")}
    if host.startswith("/"):  # a Unix socket folder: libpq takes it as the host parameter
        query["host"], host = host, ""
    port = str(settings_dict.get("PORT") or "")
    if port and not port.isdigit():
        raise ConfigurationError(f"database {alias!r} has a non-numeric PORT")
    url = URL.create(
        "postgresql+psycopg",
        username=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=host or None,
        port=int(port) if port else None,
        database=settings_dict.get("NAME") or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def project_urls(alias: str, legacy_url: str | None = None) -> DatabaseUrls:
    """The SIS is the project's database ``alias``; legacy_students is read from
    ``legacy_url``, else settings.STUDENT_SYNC_LEGACY_URL, else $STUDENT_SYNC_LEGACY_URL,
    else the same database."""
    from django.conf import settings
    from django.db import connections
    from django.utils.connection import ConnectionDoesNotExist

    try:
        settings_dict = connections[alias].settings_dict
    except ConnectionDoesNotExist:
        raise ConfigurationError(
            f"--database {alias!r} is not in DATABASES ({', '.join(settings.DATABASES)})"
        ) from None
    legacy = legacy_url or getattr(settings, LEGACY_URL_SETTING, None) or None
    return resolve_urls(sqlalchemy_url(alias, settings_dict), legacy)


def project_password(alias: str) -> str | None:
    """The password of ``DATABASES[alias]``, to mask in anything the app prints."""
    from django.db import connections

    return (connections.settings.get(alias) or {}).get("PASSWORD") or None
