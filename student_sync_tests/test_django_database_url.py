"""A Django ``DATABASES`` entry becomes the engine's SQLAlchemy URL (no Django needed)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from student_sync.django_app.database import sqlalchemy_url
from student_sync.engine.db import describe_url, mask_url
from student_sync.engine.errors import ConfigurationError

POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "sis",
    "USER": "registrar",
    "PASSWORD": "p@ss:w/rd",
    "HOST": "db.school.example",
    "PORT": "6543",
    "OPTIONS": {"sslmode": "require", "pool": True, "server_side_binding": True},
}


def test_postgresql_settings_become_a_psycopg_url_with_libpq_options_only() -> None:
    url = make_url(sqlalchemy_url("default", POSTGRES))
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "registrar",
        "p@ss:w/rd",
        "db.school.example",
        6543,
        "sis",
    )
    assert dict(url.query) == {"sslmode": "require"}  # Django-only options are not libpq's


def test_the_password_is_masked_wherever_the_url_is_shown() -> None:
    url = sqlalchemy_url("default", POSTGRES)
    assert "p@ss:w/rd" not in mask_url(url) and "p%40ss" not in mask_url(url)
    assert describe_url(url) == "database 'sis' on db.school.example:6543"


def test_a_socket_folder_as_host_and_an_empty_port() -> None:
    settings = {**POSTGRES, "HOST": "/var/run/postgresql", "PORT": "", "PASSWORD": ""}
    url = make_url(sqlalchemy_url("default", settings))
    assert url.host is None and url.port is None and url.password is None
    assert url.query["host"] == "/var/run/postgresql"


def test_sqlite_settings(tmp_path) -> None:
    path = tmp_path / "db.sqlite3"
    settings = {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    assert make_url(sqlalchemy_url("default", settings)).database == str(path)


@pytest.mark.parametrize(
    "settings",
    [
        {"ENGINE": "django.db.backends.mysql", "NAME": "sis"},
        {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        {**POSTGRES, "PORT": "five"},
    ],
)
def test_settings_the_engine_cannot_use_are_configuration_errors(settings) -> None:
    with pytest.raises(ConfigurationError, match="'default'"):
        sqlalchemy_url("default", settings)
