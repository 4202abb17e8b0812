"""One run at a time per target database.

PostgreSQL: a session-level advisory lock held on a dedicated connection. SQLite: an
exclusive ``flock`` on a file beside the database. Both vanish with the process, so a
killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

from student_sync.engine.db import is_sqlite, sqlite_path

# "student_sync" folded into a signed 64-bit key; stable across releases.
ADVISORY_LOCK_KEY = 0x5374_7564_5379_6E63 - (1 << 63)


class LockHeld(Exception):
    """Another run holds the lock on this target database (CLI exit 3)."""


@contextmanager
def run_lock(engine: Engine, *, what: str) -> Iterator[None]:
    if is_sqlite(engine):
        path = sqlite_path(engine)
        if path is None:  # in-memory: only this process can see it
            yield
            return
        with _file_lock(path.with_name(path.name + ".lock"), what=what):
            yield
        return
    with engine.connect() as conn:
        got = conn.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK_KEY))).scalar_one()
        conn.commit()
        if not got:
            raise LockHeld(
                f"another student_sync run holds the lock on {what}; try again when it has finished"
            )
        try:
            yield
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
                conn.commit()
            except Exception:  # noqa: BLE001 - the lock dies with the session anyway
                conn.invalidate()


@contextmanager
def _file_lock(path: Path, *, what: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(
                f"another student_sync run holds the lock on {what}; try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
