"""The one entry point Dagster loads (workspace.yaml, ``dg``, ``dagster dev -m``).

The Dagster layer itself lives in ``student_sync.orchestration``.
"""

from student_sync.orchestration.definitions import defs

__all__ = ["defs"]
