"""The Dagster layer: partitions, resources, assets, checks and automation over the engine.

Nothing here holds SQL or sync logic: each op resolves its cells into a slice, calls one
engine entry point (``plan_change_set``, ``apply_change_set``, or ``sync`` as the CLI does)
and records what came back.

- ``partitions``: ID ranges x school days, and how a run's cells fold into engine filters;
- ``slices``: a run's cells validated (hand-added keys, Dagster's range bug) and folded;
- ``resources``: the SIS database and the run settings;
- ``handles``: the IO manager that finds a change set by its cells in the SIS database;
- ``assets``: legacy slice -> change set -> four SIS tables -> report (2-D partitions);
- ``full_refresh``: the weekly force-update full scan, keyed by ID range only;
- ``checks``: success rate and efficiency on ``student_profiles``;
- ``metadata``: what the UI shows, true for the cell or labelled as a run total;
- ``engine_calls``: engine exceptions as Dagster failures, progress as logs;
- ``automation``: the range sensor, the daily and weekly schedules, the failure sensor;
- ``definitions``: the ``Definitions`` object.
"""
