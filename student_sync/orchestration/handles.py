"""How a change-set id travels from the plan step to the apply step and on to the report.

The plan is stored in the SIS database's own sync tables (``engine.changeset``), named by a
*scope*: a digest of the exact cells the run targets. The IO manager therefore stores nothing
itself: loading an input looks up the newest change set planned (or applied) for the same
cells. Every step reaches the SIS database, so this works whatever process or machine a step
runs on (a run launcher, a step executor), which a folder on one host would not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import dagster as dg

from student_sync.engine import latest_change_set
from student_sync.orchestration.resources import SisDatabase

HANDLES = "change_set_handles"
PLAN_ASSET = dg.AssetKey("student_change_set")


def cells_scope(partition_keys: Sequence[str]) -> str:
    """A stable name for a set of cells (order-free): the change set's ``scope``."""
    return hashlib.sha256("\n".join(sorted(partition_keys)).encode()).hexdigest()[:32]


def _partition_keys(context: dg.InputContext | dg.OutputContext) -> list[str]:
    if not context.has_asset_partitions:
        return ["__all__"]
    return [str(k) for k in context.asset_partition_keys]


class ChangeSetHandles(dg.ConfigurableIOManager):
    """Resolves a change-set id by the cells, from the change-set tables of the SIS database.

    The plan's output needs a change set planned for the cells; the SIS tables' outputs (read
    by ``sync_report``) need one that was also applied. A later run over the very same cells
    finds it; the engine still refuses to apply a change set the target has moved past.
    """

    sis: SisDatabase

    def handle_output(self, context: dg.OutputContext, obj: str) -> None:
        # The engine stored the change set under this run's scope already; nothing to write.
        context.log.debug(f"{context.asset_key.to_user_string()}: change set {obj}")

    def load_input(self, context: dg.InputContext) -> str:
        keys = _partition_keys(context)
        asset_key = context.asset_key
        applied = asset_key != PLAN_ASSET
        found = latest_change_set(self.sis.urls().sis, cells_scope(keys), applied=applied)
        if found is None:
            step = "student_profiles (and its siblings)" if applied else "student_change_set"
            raise dg.Failure(
                description=f"No change set {'applied' if applied else 'planned'} for these "
                f"{len(keys)} cell(s): materialize {step} for the same cells first (or "
                "materialize the whole group in one run)."
            )
        return found
