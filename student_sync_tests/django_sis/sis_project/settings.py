"""Settings of a minimal stand-in for the school's Django SIS (domain.md, "The real thing").

Configured from the environment so a test can point it at a fresh PostgreSQL database:
``SIS_DATABASE_URL`` (``postgresql://user@host:port/name``), ``SIS_CONTACT_SCHEMA``
(``contact``, the app's head, or ``emergencycontact``, the older schema; it selects which
contact model the ORM knows, the database is built by migrating to the matching migration),
``SIS_EXTRA_APPS`` (comma-separated apps to add to ``INSTALLED_APPS``).
"""

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "test-only-not-secret"  # noqa: S105 - a throwaway test project
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Phnom_Penh"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "people",
    "scholarships",
    *[a for a in os.environ.get("SIS_EXTRA_APPS", "").split(",") if a],
]


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {
    "default": _database(os.environ.get("SIS_DATABASE_URL", "postgresql://postgres@127.0.0.1/test"))
}
CONTACT_SCHEMA = os.environ.get("SIS_CONTACT_SCHEMA", "contact")
