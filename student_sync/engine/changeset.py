"""A persisted plan: planned batches in the sync's own tables, addressed by a change-set id.

Dagster's plan step writes one and its apply step reads it back, so the steps pass a handle,
never rows. It lives in the SIS database (``student_sync_change_set`` and
``student_sync_change_set_batch``), not in a folder, because the apply step may run in another
process or on another machine (a run launcher, a step executor): the one place every step
already reaches is the database it syncs. Planning writes only these two sync tables, never
an SIS table, the run ledger or the sync state.

What the apply did (its ``RunSummary``) is stored on the same row, for the report and the
checks that read it later, possibly from yet another process.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update

from student_sync.engine import schema
from student_sync.engine.db import make_engine
from student_sync.engine.errors import ChangeSetNotFound
from student_sync.engine.model import (
    Conflict,
    Counters,
    PlanBatch,
    Rejection,
    batch_from_dict,
    batch_to_dict,
)
from student_sync.engine.options import SyncOptions
from student_sync.engine.report import RunSummary


def _pack(data: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), compresslevel=1)


def _unpack(payload: bytes) -> dict[str, Any]:
    return json.loads(gzip.decompress(payload).decode("utf-8"))


class ChangeSetStore:
    """Change sets in one database (the SIS database's sync tables)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, scope: str) -> str:
        change_set_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                schema.change_set.insert().values(
                    change_set_id=change_set_id, scope=scope[:64], planned_at=datetime.now(UTC)
                )
            )
        return change_set_id

    def write_batch(self, change_set_id: str, batch: PlanBatch) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                schema.change_set_batch.insert().values(
                    change_set_id=change_set_id,
                    number=batch.number,
                    payload=_pack(batch_to_dict(batch)),
                )
            )

    def _set(self, change_set_id: str, **values: Any) -> None:
        """Set columns of the change set's row."""
        t = schema.change_set
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.change_set_id == change_set_id).values(**values))

    def _json(self, column: str, change_set_id: str, missing: str) -> Any:
        """One JSON column of the change set's row; ``ChangeSetNotFound(missing)`` when the
        row or the value is not there."""
        t = schema.change_set
        with self.engine.connect() as conn:
            value = conn.execute(
                select(t.c[column]).where(t.c.change_set_id == change_set_id)
            ).scalar_one_or_none()
        if value is None:
            raise ChangeSetNotFound(f"change set {change_set_id} {missing}")
        return json.loads(value)

    def finish(self, change_set_id: str, header: dict[str, Any]) -> None:
        """Planning is complete: only now can the change set be opened."""
        self._set(change_set_id, header=json.dumps(header, default=str))

    def header(self, change_set_id: str) -> dict[str, Any]:
        return self._json("header", change_set_id, "not found (or never finished)")

    def batches(self, change_set_id: str) -> Iterator[PlanBatch]:
        """Batches in order, one row read at a time: memory stays bounded by one batch."""
        t = schema.change_set_batch
        with self.engine.connect() as conn:
            mine = select(t.c.number).where(t.c.change_set_id == change_set_id)
            numbers = conn.execute(mine.order_by(t.c.number)).scalars().all()
        for number in numbers:
            with self.engine.connect() as conn:
                payload = conn.execute(
                    select(t.c.payload).where(
                        t.c.change_set_id == change_set_id, t.c.number == number
                    )
                ).scalar_one()
            yield batch_from_dict(_unpack(payload))

    def record_applied(self, change_set_id: str, summary: RunSummary) -> None:
        self._set(
            change_set_id,
            applied_at=datetime.now(UTC),
            applied_summary=json.dumps(summary_to_dict(summary), default=str),
        )

    def applied_summary(self, change_set_id: str) -> RunSummary:
        data = self._json("applied_summary", change_set_id, "has not been applied")
        return summary_from_dict(data)

    def latest(self, scope: str, *, applied: bool) -> str | None:
        """The newest finished (or applied) change set planned for ``scope``."""
        t = schema.change_set
        done = t.c.applied_summary if applied else t.c.header
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.c.change_set_id)
                .where(t.c.scope == scope[:64], done.is_not(None))
                .order_by(t.c.planned_at.desc())
                .limit(1)
            ).scalar_one_or_none()

    def prune(self, older_than: timedelta) -> int:
        """Delete change sets planned before ``now - older_than``; returns how many went."""
        t, b = schema.change_set, schema.change_set_batch
        cutoff = datetime.now(UTC) - older_than
        with self.engine.begin() as conn:
            old = select(t.c.change_set_id).where(t.c.planned_at < cutoff).scalar_subquery()
            conn.execute(delete(b).where(b.c.change_set_id.in_(old)))
            return conn.execute(delete(t).where(t.c.planned_at < cutoff)).rowcount or 0


def summary_to_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "options": summary.options.to_dict(),
        "counters": summary.counters.as_dict(),
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "mapping_version": summary.mapping_version,
        "database": summary.database,
        "rejections": [asdict(r) for r in summary.rejections],
        "status": summary.status,
        "error": summary.error,
        "conflicts": [asdict(c) for c in summary.conflicts],
    }


def summary_from_dict(data: dict[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=data["run_id"],
        options=SyncOptions.from_dict(data["options"]),
        counters=Counters.from_dict(data["counters"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        mapping_version=data["mapping_version"],
        database=data["database"],
        rejections=[Rejection(**r) for r in data["rejections"]],
        status=data["status"],
        error=data["error"],
        conflicts=[Conflict(**c) for c in data.get("conflicts", [])],  # absent before 0005
    )


@contextmanager
def _store(url: str) -> Iterator[ChangeSetStore]:
    engine = make_engine(url)
    try:
        yield ChangeSetStore(engine)
    finally:
        engine.dispose()


def applied_summary(url: str, change_set_id: str) -> RunSummary:
    """What the apply of ``change_set_id`` did, read from the SIS database at ``url``."""
    with _store(url) as store:
        return store.applied_summary(change_set_id)


def latest_change_set(url: str, scope: str, *, applied: bool) -> str | None:
    """The newest change set planned (or applied) for ``scope`` in the database at ``url``."""
    with _store(url) as store:
        return store.latest(scope, applied=applied)
