"""One run at a time per target database.

PostgreSQL: a session-level advisory lock held on a dedicated connection. SQLite: an
exclusive ``flock`` on a file beside the database. Both vanish with the process, so a
killed run never leaves a stale lock behind.

On PostgreSQL the lock lives exactly as long as its connection: if that connection is killed
(``pg_terminate_backend``, a server restart, a network cut) the lock is gone while the run's
other connections may reconnect. ``RunLock.verify`` (called before every batch commits)
turns that into ``LockLost`` instead of letting the run go on unlocked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError, OperationalError

from student_sync.engine.db import is_sqlite, sqlite_path
from student_sync.engine.errors import LockHeld, LockLost

# "student_sync" folded into a signed 64-bit key; stable across releases.
ADVISORY_LOCK_KEY = 0x5374_7564_5379_6E63 - (1 << 63)


class RunLock:
    """The held lock; ``verify`` raises LockLost when it can no longer be vouched for."""

    def __init__(self, what: str, conn: Connection | None = None) -> None:
        self.what, self.conn = what, conn

    def verify(self) -> None:
        if self.conn is None:  # flock / in-memory SQLite: held until the process ends
            return
        try:
            self.conn.execute(select(1))
            self.conn.commit()
        except (OperationalError, DBAPIError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise LockLost(
                f"lost the run lock on {self.what} (its database connection ended: {reason}); "
                "committed batches stay applied, rerun to converge"
            ) from None


@contextmanager
def run_lock(engine: Engine, *, what: str) -> Iterator[RunLock]:
    if is_sqlite(engine):
        path = sqlite_path(engine)
        if path is None:  # in-memory: only this process can see it
            yield RunLock(what)
            return
        with _file_lock(path.with_name(path.name + ".lock"), what=what):
            yield RunLock(what)
        return
    with engine.connect() as conn:
        got = conn.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK_KEY))).scalar_one()
        conn.commit()
        if not got:
            raise LockHeld(
                f"another student_sync run holds the lock on {what}; try again when it has finished"
            )
        try:
            yield RunLock(what, conn)
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
