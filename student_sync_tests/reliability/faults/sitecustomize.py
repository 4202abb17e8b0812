"""TEST-ONLY fault injection for CLI subprocesses: never shipped, never imported by the engine.

The reliability tests put this folder first on ``PYTHONPATH`` of a ``python -m student_sync``
subprocess, so Python imports it at startup. It does nothing unless ``STUDENT_SYNC_TEST_FAULT``
is set, as ``<action>@<point>``:

actions  ``kill`` (SIGKILL itself: no cleanup, no finally blocks, like ``kill -9`` or the OOM
         killer) or ``pause`` (write ``STUDENT_SYNC_TEST_FAULT_FILE`` and wait until the test
         deletes it, e.g. to terminate the database connections meanwhile).
points   ``count``          the extract's first query (ledger row written, nothing applied)
         ``page:N``         right after legacy page N was fetched, before it is planned
         ``batch-start:N``  entering the Nth applied batch: N-1 batches committed (between)
         ``batch-half:N``   inside the Nth batch, after its 2nd statement (half-written)
         ``batch-end:N``    the Nth batch fully executed, before its COMMIT
         ``changelog:N``    inside the Nth applied batch, after its SIS rows and sync state
                            were written, before its change-log rows are built and written
         ``ledger-finish``  every batch committed, the ledger row still 'running'
         ``report``         ledger completed, the JSON report half-written to its temp file
         ``after:SECONDS``  wall-clock delay from startup (kill only)

Each point reached is appended to ``STUDENT_SYNC_TEST_FAULT_LOG`` (when set) before acting, so
a test can tell the fault fired where intended. Patches are applied by name on the engine
modules: if a name disappears, the import below fails and the run is *not* killed, which the
tests report as a failure.
"""

from __future__ import annotations

import os

_SPEC = os.environ.get("STUDENT_SYNC_TEST_FAULT", "")


def _install(spec: str) -> None:
    import signal
    import threading
    import time
    from pathlib import Path

    action, _, point = spec.partition("@")
    name, _, arg = point.partition(":")
    assert action in ("kill", "pause"), spec

    def fire(where: str) -> None:
        log = os.environ.get("STUDENT_SYNC_TEST_FAULT_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{action} {where} pid={os.getpid()}\n")
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        flag = Path(os.environ["STUDENT_SYNC_TEST_FAULT_FILE"])
        flag.write_text(str(os.getpid()))
        deadline = time.monotonic() + 120
        while flag.exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    if name == "after":
        timer = threading.Timer(float(arg), fire, args=(point,))
        timer.daemon = True
        timer.start()
        return

    from student_sync.engine import extract, ledger, report, run

    if name == "count":
        original_count = extract.count_slice

        def count_slice(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            fire(point)
            return original_count(*a, **kw)

        extract.count_slice = count_slice
    elif name == "page":
        original_pages = extract.iter_legacy_pages

        def iter_legacy_pages(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            for n, page in enumerate(original_pages(*a, **kw), start=1):
                if n == int(arg):
                    fire(point)
                yield page

        extract.iter_legacy_pages = iter_legacy_pages
    elif name.startswith("batch-"):
        original_apply = run.apply_batch
        calls = [0]

        class _Counting:
            """The batch's connection, firing after its 2nd statement (batch-half)."""

            def __init__(self, conn) -> None:  # noqa: ANN001
                self._conn, self._n = conn, 0

            def __getattr__(self, attr: str):  # noqa: ANN204
                return getattr(self._conn, attr)

            def execute(self, *a, **kw):  # noqa: ANN002, ANN003, ANN202
                result = self._conn.execute(*a, **kw)
                self._n += 1
                if self._n == 2:
                    fire(point)
                return result

        def apply_batch(conn, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            calls[0] += 1
            target = calls[0] == int(arg)
            if target and name == "batch-start":
                fire(point)
            if target and name == "batch-half":
                conn = _Counting(conn)
            result = original_apply(conn, *a, **kw)
            if target and name == "batch-end":
                fire(point)
            return result

        run.apply_batch = apply_batch
    elif name == "changelog":
        from student_sync.engine import changelog

        original_changes = changelog.batch_changes
        batches: set[int] = set()  # a large batch's change log is built in slices

        def batch_changes(batch, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            first = batch.number not in batches
            batches.add(batch.number)
            if first and len(batches) == int(arg):
                fire(point)
            return original_changes(batch, *a, **kw)

        changelog.batch_changes = batch_changes
    elif name == "ledger-finish":
        original_finish = ledger.Ledger.finish

        def finish(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
            if self.enabled:
                fire(point)
            return original_finish(self, *a, **kw)

        ledger.Ledger.finish = finish
    elif name == "report":
        import json

        def write_report(summary, reports_dir, *more):  # noqa: ANN001, ANN002, ANN202
            reports_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(report.build_report(summary), indent=2)
            tmp = reports_dir / "student_sync_killed_while_writing.json.tmp"
            tmp.write_text(text[: len(text) // 2], encoding="utf-8")
            fire(point)
            return report.write_report(summary, reports_dir, *more)

        ledger.write_report = write_report
    else:
        raise AssertionError(f"unknown fault point {point!r}")


if _SPEC:
    _install(_SPEC)
