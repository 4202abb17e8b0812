"""A persisted plan: planned batches on disk, addressed by a change-set id.

Dagster's plan step writes one here and its apply step reads it back, so the steps pass a
handle, never the rows. Files, not database rows, so that planning (and a dry run) writes
nothing to the SIS database.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from student_sync.engine.model import PlanBatch, batch_from_dict, batch_to_dict


@dataclass(frozen=True)
class ChangeSet:
    root: Path
    change_set_id: str

    @property
    def path(self) -> Path:
        return self.root / self.change_set_id

    @classmethod
    def create(cls, root: Path) -> ChangeSet:
        cs = cls(root=root, change_set_id=uuid.uuid4().hex)
        cs.path.mkdir(parents=True, exist_ok=False)
        return cs

    @classmethod
    def open(cls, root: Path, change_set_id: str) -> ChangeSet:
        cs = cls(root=root, change_set_id=change_set_id)
        if not (cs.path / "header.json").exists():
            raise FileNotFoundError(f"change set {change_set_id} not found under {root}")
        return cs

    def write_batch(self, batch: PlanBatch) -> None:
        target = self.path / f"batch_{batch.number:07d}.json.gz"
        with gzip.open(target, "wt", encoding="utf-8", compresslevel=1) as fh:
            json.dump(batch_to_dict(batch), fh, ensure_ascii=False)

    def batches(self) -> Iterator[PlanBatch]:
        for file in sorted(self.path.glob("batch_*.json.gz")):
            with gzip.open(file, "rt", encoding="utf-8") as fh:
                yield batch_from_dict(json.load(fh))

    def write_header(self, header: dict[str, Any]) -> None:
        (self.path / "header.json").write_text(
            json.dumps(header, indent=2, default=str), encoding="utf-8"
        )

    def header(self) -> dict[str, Any]:
        return json.loads((self.path / "header.json").read_text(encoding="utf-8"))
