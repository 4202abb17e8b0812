"""Build SIS databases with Django's own `migrate`, from the test project in `django_sis/`.

Django's settings are process-wide, so every Django step runs as `manage.py` in a subprocess
with the database and contact schema in its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

DJANGO_PROJECT = Path(__file__).resolve().parent / "django_sis"
CONTACT_SCHEMAS = ("contact", "emergencycontact")


def django_env(
    url: str, contact_schema: str = "contact", extra_apps: Sequence[str] = ()
) -> dict[str, str]:
    """The environment `manage.py` reads: a plain `postgresql://` URL and the schema."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return {
        **os.environ,
        "SIS_DATABASE_URL": plain,
        "SIS_CONTACT_SCHEMA": contact_schema,
        "SIS_EXTRA_APPS": ",".join(extra_apps),
        "DJANGO_SETTINGS_MODULE": "sis_project.settings",
    }


def django_manage(
    url: str,
    *args: str,
    contact_schema: str = "contact",
    extra_apps: Sequence[str] = (),
    python: str = sys.executable,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `python manage.py ARGS` of the test SIS against ``url``."""
    result = subprocess.run(
        [python, "manage.py", *args],
        cwd=DJANGO_PROJECT,
        env=django_env(url, contact_schema, extra_apps),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def build_django_sis(url: str, contact_schema: str = "contact") -> None:
    """Migrate an empty database the way the school's app does.

    ``contact``: every migration (the app's head, `people_contact`). ``emergencycontact``: the
    `people` app stops at 0002 (`people_emergencycontact` with `is_primary`, and `legacy_ipk`).
    """
    if contact_schema not in CONTACT_SCHEMAS:
        raise ValueError(f"unknown contact schema {contact_schema!r}")
    if contact_schema == "contact":
        django_manage(url, "migrate", "-v0")
        return
    django_manage(url, "migrate", "people", "0002", "-v0", contact_schema=contact_schema)
    django_manage(url, "migrate", "scholarships", "-v0", contact_schema=contact_schema)


def sis_checks(url: str, contact_schema: str, *args: str) -> dict[str, Any]:
    """`manage.py sis_checks ARGS` (the test-only app in `django_sis/sis_checks`), as JSON."""
    done = django_manage(
        url, "sis_checks", *args, contact_schema=contact_schema, extra_apps=["sis_checks"]
    )
    return json.loads(done.stdout)
