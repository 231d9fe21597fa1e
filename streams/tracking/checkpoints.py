"""Restoring a partition's tables to its last complete checkpoint, from their changelogs. Pure:
``changelog.py`` reads the records and hands them over.

At each checkpoint the worker writes the keys that changed, flushes them with the hooks and
rows, and then writes a *marker* to each table's changelog partition: the checkpoint's number
(epoch) and how far the state is into each partition of smtp-replies its replies came from
(``sources``: the next position, ``state.py``). A crash can leave a checkpoint half written: key
records and no marker, or a marker in one table and not yet in the other. The restore takes the
newest epoch both tables reached, E, and sets back every key written after their marker E, so
that the state is exactly the one the sources of E describe: the worker skips the replies below
them (a replay, or a copy the repartition topic got twice) and applies the rest, which then
emit the same hooks as the first time (``machine.py``).

Why this works with two tables: markers are written to both tables in one flush, so one table
is at most one marker ahead; after a restore that set keys back, the worker writes them again
and marker E to both tables before it goes on (``Restored.repair``), which keeps it so. What
comes before a table's first marker (a changelog written before markers) is taken as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

MARKER_KEY = b"\x00checkpoint"  # JSON keys never start with a NUL byte
_MISSING = object()


@dataclass(frozen=True)
class Checkpoint:
    """What a marker says: its number, the next position of each source partition the state
    has not applied, and the stream time (the latest event time) its pending messages expire by."""
    epoch: int = 0
    sources: dict[int, int] = field(default_factory=dict)
    stream_time: int = 0

    def value(self) -> bytes:
        return orjson.dumps({"epoch": self.epoch, "sources": self.sources,
                             "stream_time": self.stream_time}, option=orjson.OPT_NON_STR_KEYS)

    @classmethod
    def read(cls, raw: bytes) -> Checkpoint:
        value = orjson.loads(raw)
        return cls(value["epoch"], {int(p): n for p, n in value["sources"].items()},
                   value.get("stream_time", 0))


@dataclass
class _Marker:
    checkpoint: Checkpoint
    # The keys written after this marker and their values just before it.
    undo: dict[str, Any] = field(default_factory=dict)


class TableFold:
    """One table of one partition, folded record by record in log order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._markers: list[_Marker] = []  # the last two

    def record(self, key: bytes, value: bytes | None) -> None:
        """One changelog record as read from the topic (fences are no data)."""
        if key == MARKER_KEY:
            self._marker(value or b"{}")
        elif not key.startswith(b"\x00"):
            self._key(json.loads(key), None if value is None else orjson.loads(value))

    def _key(self, key: str, value: Any | None) -> None:
        for marker in self._markers:
            if key not in marker.undo:
                marker.undo[key] = self.values.get(key, _MISSING)
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value

    def _marker(self, raw: bytes) -> None:
        self._markers = [*self._markers[-1:], _Marker(Checkpoint.read(raw))]

    @property
    def epoch(self) -> int | None:
        return self._markers[-1].checkpoint.epoch if self._markers else None

    def set_back(self, epoch: int) -> tuple[Checkpoint, set[str]]:
        """Set the values back to those at marker ``epoch``: its checkpoint, the keys set back."""
        if not self._markers:  # written before markers: all of it stands
            return Checkpoint(), set()
        at = next((m for m in reversed(self._markers) if m.checkpoint.epoch == epoch), None)
        if at is None:
            raise ValueError(f"changelog has no checkpoint {epoch} among its last two "
                             f"({[m.checkpoint.epoch for m in self._markers]})")
        for key, old in at.undo.items():
            if old is _MISSING:
                self.values.pop(key, None)
            else:
                self.values[key] = old
        return at.checkpoint, set(at.undo)


@dataclass
class Restored:
    tables: dict[str, dict[str, Any]]
    checkpoint: Checkpoint  # the one the tables are at (epoch 0: none yet)
    set_back: dict[str, set[str]]  # per table, the keys to write again
    # The changelog must be written (the keys set back, a marker in every table) before the
    # worker goes on: a table was ahead of the other, had keys after its marker, or had none.
    repair: bool


def complete(folds: dict[str, TableFold]) -> Restored:
    """The tables at the newest checkpoint every table reached."""
    epochs = [f.epoch for f in folds.values()]
    epoch = min((e for e in epochs if e is not None), default=0)
    checkpoint: Checkpoint | None = None
    set_back: dict[str, set[str]] = {}
    for table, fold in folds.items():
        at, keys = fold.set_back(epoch)
        checkpoint = checkpoint if checkpoint and checkpoint.epoch else at
        set_back[table] = keys
    repair = (None in epochs or len(set(epochs)) > 1 or any(set_back.values()))
    return Restored({t: f.values for t, f in folds.items()}, checkpoint or Checkpoint(),
                    set_back, repair)
