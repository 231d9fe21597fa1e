"""A sink is a small base class with batching in one place (after quix-streams' BatchingSink).

Rows are added with their source topic, partition and offset, in one batch per (topic,
partition); ``flush()`` hands all of them to one ``write()`` (an insert has a fixed cost of
10-20 ms on chDB, so one per table per checkpoint, not one per partition) and clears them only
once ``write()`` returned. ``write()`` runs no retry loop of its own: it raises, and the runner
(the engine) backs off and calls ``flush()`` again with the same batches, which keeps the
batches and their dedup token the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.exceptions import SinkError

# Rows an insert's piece joins (about 1 MB of replies): few enough writes to a pipe or file, and
# the insert never holds a second copy of a checkpoint's rows, which are megabytes.
PIECE_ROWS = 2048


def pieces(rows: Sequence[bytes]) -> Iterator[bytes]:
    """Encoded ``rows`` joined in order, PIECE_ROWS at a time: an insert's block as it is sent."""
    for start in range(0, len(rows), PIECE_ROWS):
        yield b"".join(rows[start:start + PIECE_ROWS])


class ReadOnce:
    """An insert's block in pieces that can be read once. An HTTP library that retries a request
    whose body it cannot rewind would send only the pieces left, an insert of part of the rows
    under the whole batch's dedup token; a second read raises instead, so the insert fails
    whole and the engine retries it."""

    def __init__(self, block: Iterable[bytes]) -> None:
        self._block: Iterator[bytes] | None = iter(block)

    def __iter__(self) -> Iterator[bytes]:
        block, self._block = self._block, None
        if block is None:
            raise SinkError("an insert's block was read a second time: the insert is retried whole")
        return block


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
        return f"{self.topic}-{self.partition}-{self.first_offset}-{self.last_offset}"


def token(batches: list[Batch]) -> str:
    """The insert deduplication token: a retried write is the same offset ranges."""
    return "|".join(b.token for b in batches)


class BatchingSink(ABC):
    def __init__(self) -> None:
        self._batches: dict[tuple[str, int], Batch] = {}

    def encode(self, row: Any) -> Any:
        """The row as it is kept until the write (a subclass may encode it here)."""
        return row

    def add(self, row: Any, topic: str, partition: int, offset: int) -> None:
        batch = self._batches.get((topic, partition))
        if batch is None:
            batch = self._batches[(topic, partition)] = Batch(topic, partition)
        batch.add(self.encode(row), offset)

    def pending(self) -> int:
        return sum(len(b.rows) for b in self._batches.values())

    def take(self) -> list[Batch]:
        """The pending batches, handed over to be written elsewhere (the engine's writer)."""
        batches = list(self._batches.values())
        self._batches.clear()
        return batches

    def clear(self) -> None:
        """Forget the pending rows (their events will be replayed by another worker)."""
        self._batches.clear()

    def flush(self) -> int:
        """Write every batch; return the rows written. A failed write leaves the batches pending
        for the next flush."""
        batches = list(self._batches.values())
        if not batches:
            return 0
        self.write(batches)
        self._batches.clear()
        return sum(len(b.rows) for b in batches)

    @abstractmethod
    def setup(self) -> None:
        """Prepare the destination (create tables). Called once before the first write."""

    @abstractmethod
    def write(self, batches: list[Batch]) -> None:
        """Write the batches' rows atomically or raise."""
