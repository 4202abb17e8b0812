"""The bench report's targets, from results alone (pure: no database, no run)."""

from __future__ import annotations

from typing import Any

from benchmarks.report import targets


def _run(scenario: str, batch: int, main_mb: float, worker_mb: float) -> dict[str, Any]:
    return {
        "size": 1_000_000,
        "scenario": scenario,
        "batch_size": batch,
        "seconds": 100.0,
        "self_maxrss_mb": main_mb,
        "workers_maxrss_mb": worker_mb,
        "workers": 1,
    }


def _rss_target(runs: list[dict[str, Any]]) -> dict[str, Any]:
    results = {"config": {"batch_sizes": [5000, 20000]}, "runs": runs}
    (found,) = [t for t in targets(results) if t["target"].startswith("peak RSS")]
    return found


def test_peak_memory_is_judged_over_every_batch_size_not_only_the_primary() -> None:
    """The bound holds "for every batch size": a secondary batch size over 400 MB fails it,
    and the target names the run that peaked."""
    target = _rss_target(
        [
            _run("initial", 5000, 190, 81),
            _run("force_update", 5000, 253, 81),
            _run("initial", 20000, 281, 81),
            _run("force_update", 20000, 381, 81),
        ]
    )
    assert target["value"] == 462
    assert target["met"] is False
    assert "force_update at batch 20000" in target["target"]


def test_peak_memory_under_the_bound_at_every_batch_size_meets_it() -> None:
    target = _rss_target([_run("initial", 5000, 190, 81), _run("force_update", 20000, 280, 80)])
    assert (target["value"], target["met"]) == (360, True)
