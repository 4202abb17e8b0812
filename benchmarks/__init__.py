"""Performance harness for student_sync against the local PostgreSQL.

``python -m benchmarks.run --sizes 50000 1000000`` generates N synthetic legacy students
(fixed seed), runs every scenario in its own subprocess (wall time, phase split, peak RSS)
beside references on the same rows (raw COPY, a row-by-row baseline, dlt merge), and writes
``benchmarks/results.md`` and ``benchmarks/results.json``. See ``benchmarks/README.md``.
"""
