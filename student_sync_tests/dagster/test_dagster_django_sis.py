"""One materialization through Dagster on an SIS built by Django's own `migrate`."""

from __future__ import annotations

import dagster as dg
import pytest

from student_sync.orchestration.partitions import cell_key
from student_sync.orchestration.resources import SyncSettings
from student_sync_tests.dagster.support import (
    Days,
    Harness,
    materialization_metadata,
    sample_rows,
)
from student_sync_tests.djangosis import sis_checks
from student_sync_tests.helpers import init_db, write_legacy

pytestmark = pytest.mark.postgres


def test_a_cell_materializes_into_a_django_built_sis(
    django_sis_url: str, request, tmp_path, instance: dg.DagsterInstance
) -> None:
    contact_schema = request.node.callspec.params["django_sis_url"]
    settings = SyncSettings(reports_dir=str(tmp_path / "reports"))
    h = Harness(url=django_sis_url, tmp=tmp_path, instance=instance, settings=settings,
                days=Days())  # fmt: skip
    init_db(h.url)
    write_legacy(h.url, sample_rows(h.days))
    h.register("0-999", "1000-1999")
    key = cell_key("0-999", h.days.last.isoformat())

    result = h.materialize(key=key)
    assert result.success
    assert materialization_metadata(result, "student_change_set")["create"] == 20
    checks = sis_checks(h.url, contact_schema, "report")
    assert checks["invalid_total"] == 0, checks["invalid"]
    assert checks["counts"]["people.Person"]["all"] == 20

    again = h.materialize(key=key)
    assert again.success
    profiles = materialization_metadata(again, "student_profiles")
    assert (profiles["created"], profiles["updated"]) == (0, 0)
