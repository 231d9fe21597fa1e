"""A sink is a small base class with batching in one place (after quix-streams' BatchingSink).

Rows are added with their source topic, partition and offset; ``flush()`` hands each
(topic, partition) batch to ``write()`` and clears it only once ``write()`` returned. ``write()``
runs no retry loop of its own: it raises, and the runner (the engine) backs off and calls
``flush()`` again with the same batches, which keeps the batches and their dedup tokens the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Batch:
    topic: str
    partition: int
    first_offset: int = -1
    last_offset: int = -1
    rows: list[Any] = field(default_factory=list)

    def add(self, row: Any, offset: int) -> None:
        if not self.rows:
            self.first_offset = offset
        self.last_offset = offset
        self.rows.append(row)

    @property
    def token(self) -> str:
        """The insert deduplication token: a retried batch is the same offset range."""
        return f"{self.topic}-{self.partition}-{self.first_offset}-{self.last_offset}"


class BatchingSink(ABC):
    def __init__(self) -> None:
        self._batches: dict[tuple[str, int], Batch] = {}

    def add(self, row: Any, topic: str, partition: int, offset: int) -> None:
        batch = self._batches.get((topic, partition))
        if batch is None:
            batch = self._batches[(topic, partition)] = Batch(topic, partition)
        batch.add(row, offset)

    def pending(self) -> int:
        return sum(len(b.rows) for b in self._batches.values())

    def clear(self) -> None:
        """Forget the pending rows (their events will be replayed by another worker)."""
        self._batches.clear()

    def flush(self) -> int:
        """Write every batch; return the rows written. A failed write leaves its batch (and those
        after it) pending for the next flush."""
        written = 0
        for key in list(self._batches):
            batch = self._batches[key]
            self.write(batch)
            written += len(batch.rows)
            del self._batches[key]
        return written

    @abstractmethod
    def setup(self) -> None:
        """Prepare the destination (create tables). Called once before the first write."""

    @abstractmethod
    def write(self, batch: Batch) -> None:
        """Write one batch atomically or raise."""
