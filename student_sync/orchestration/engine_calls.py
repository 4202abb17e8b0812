"""Calling the engine from an op: its exceptions as Dagster failures, its progress as logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from student_sync.engine import (
    ChangeSetNotFound,
    ConfigurationError,
    DatabaseUnavailable,
    LockHeld,
    MassDeleteRefused,
    StaleChangeSet,
    SyncFailed,
    mask_text,
)

# Ops that read or write the SIS database share this pool: dagster.yaml gives it one slot.
SIS_POOL = "student_sync_sis"


@contextmanager
def engine_errors(secrets: tuple[str | None, ...] = ()) -> Iterator[None]:
    """Engine exceptions as Dagster failures with one masked sentence a user can act on."""

    def fail(text: str, exc: BaseException) -> dg.Failure:
        return dg.Failure(
            description=mask_text(text, *secrets), metadata={"error_type": type(exc).__name__}
        )

    try:
        yield
    except LockHeld as exc:
        # A CLI run (cron) holds the engine's lock: wait for it rather than fail the night.
        raise dg.RetryRequested(max_retries=3, seconds_to_wait=120) from exc
    except StaleChangeSet as exc:
        raise fail(
            f"{exc}. Re-execute the whole run (not 'from failure') so the change set is "
            "planned again.",
            exc,
        ) from None
    except MassDeleteRefused as exc:
        raise fail(
            f"{exc}. In Dagster: set allow_mass_delete in the student_change_set run config.", exc
        ) from None
    except ChangeSetNotFound as exc:
        raise fail(
            f"{exc}: materialize student_change_set and the SIS tables for these cells "
            "first (or the whole group in one run).",
            exc,
        ) from None
    except (ConfigurationError, DatabaseUnavailable, SyncFailed) as exc:
        raise fail(str(exc), exc) from None


def progress_logger(
    context: dg.OpExecutionContext, every_seconds: float = 10.0
) -> Callable[[dict[str, Any]], None]:
    """Engine progress as a log line every few seconds (shows in the run's event log)."""
    last = [time.monotonic()]

    def report(info: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds:
            last[0] = now
            context.log.info(
                f"batch {info['batch']}: {info['processed']:,} of {info['total']:,} rows"
            )

    return report


def elapsed(started: float) -> float:
    return time.monotonic() - started
