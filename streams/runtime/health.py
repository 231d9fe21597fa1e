"""What a worker reports about itself, in its log and at ``/health``: counts of what happened,
never guesses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

HEALTH_LOG_INTERVAL_S = 10.0  # how often a worker or `bounceflow deliver` logs its figures


@dataclass
class Health:
    replies: int = 0  # SmtpReply records read
    classified: int = 0
    tracked: int = 0
    # of which tracked without the round trip through the repartition topic: replies keyed by the
    # address with the Java client's partitioner (murmur2) land where their state is
    tracked_at_once: int = 0
    hooks: int = 0
    alerts: int = 0  # alert and recovered hooks
    alert_failures: int = 0  # provider-health checks that failed (ClickHouse), tried again
    last_alert_error: str | None = None
    dead_letters: int = 0
    sink_rows: dict[str, int] = field(default_factory=dict)
    sink_failures: int = 0
    last_sink_error: str | None = None
    commits: int = 0
    commit_failures: int = 0
    rebalances: int = 0
    partitions: list[int] = field(default_factory=list)  # partitions owned (of both topics read)
    restored_keys: int = 0
    state_keys: int = 0
    first_record_at: float | None = None  # epoch seconds
    last_commit_at: float | None = None
    # per hook subscription (sent, failed, retrying, ...) when the worker delivers hooks
    delivery: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
               if f.name != "delivery"}
        out["delivery"] = self.delivery() if self.delivery else {}
        return out


def merge(own: Health, snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """A worker's figures: its own (its deliverers) and those of its engine processes
    (``as_dict()`` of each): counts add up, partitions join, the first record is the earliest
    and the last commit the latest."""
    out = own.as_dict()
    for snap in snapshots:
        for name, value in snap.items():
            if name == "sink_rows":
                for table, rows in value.items():
                    out[name][table] = out[name].get(table, 0) + rows
            elif name == "partitions":
                out[name] = sorted(out[name] + value)
            elif name in ("last_sink_error", "last_alert_error"):
                out[name] = out[name] or value
            elif name in ("first_record_at", "last_commit_at"):
                known = [t for t in (out[name], value) if t is not None]
                pick = min if name == "first_record_at" else max
                out[name] = pick(known) if known else None
            elif name != "delivery":
                out[name] += value
    out["processes"] = len(snapshots)
    return out
