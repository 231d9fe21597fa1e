"""What a worker reports about itself, in its log and at ``/health``: counts of what happened,
never guesses."""

from __future__ import annotations

import bisect
import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from streams.memory import resident_bytes

HEALTH_LOG_INTERVAL_S = 10.0  # how often a worker or `bounceflow deliver` logs its figures
# Upper bounds (seconds) of the duration histograms' buckets (and +Inf): a batch's processing and
# a checkpoint's write and commit take milliseconds to seconds; a hook's latency from its reply's
# event time includes the MTA's and the producer's delays as well.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


def histogram(bounds: tuple[float, ...]) -> dict[str, Any]:
    """An empty histogram: a count per bucket (not cumulative; the last one is +Inf), the sum
    and the count of what it observed."""
    return {"buckets": [0] * (len(bounds) + 1), "sum": 0.0, "count": 0}


def observe(hist: dict[str, Any], bounds: tuple[float, ...], value: float) -> None:
    hist["buckets"][bisect.bisect_left(bounds, value)] += 1
    hist["sum"] += value
    hist["count"] += 1


@dataclass
class Health:
    replies: int = 0  # SmtpReply records read
    # input records that hold no reply (input_format kumomta: Reception, Feedback, Delay and
    # KumoMTA's internal throttling), read and skipped
    input_skipped: int = 0
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
    # by reason, its text up to the first colon (details follow it): a few fixed phrases
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    hook_types: dict[str, int] = field(default_factory=dict)  # hooks (not alerts) by event_type
    repartitioned: int = 0  # records read from the repartition topic
    alerts_in_force: int = 0  # pairs alerting now (the evaluator's, on partition 0's owner)
    # records between the position and the high watermark, by topic and partition, at the last
    # checkpoint (the local broker under-reports the watermark: LOCAL-STACK.md)
    lag: dict[str, dict[str, int]] = field(default_factory=dict)
    processing_seconds: dict[str, Any] = field(
        default_factory=lambda: histogram(DURATION_BUCKETS))  # a consumed batch's
    checkpoint_seconds: dict[str, Any] = field(
        default_factory=lambda: histogram(DURATION_BUCKETS))  # a checkpoint's write and commit
    # from a reply's event time to the production of its hooks
    hook_latency_seconds: dict[str, Any] = field(
        default_factory=lambda: histogram(LATENCY_BUCKETS))
    sink_rows: dict[str, int] = field(default_factory=dict)
    sink_failures: int = 0
    sink_table_failures: dict[str, int] = field(default_factory=dict)  # of which by table
    last_sink_error: str | None = None
    commits: int = 0
    commit_failures: int = 0
    rebalances: int = 0
    partitions: list[int] = field(default_factory=list)  # partitions owned (of both topics read)
    restored_keys: int = 0
    replays_skipped: int = 0  # replies the state held already: replayed, or repartitioned twice
    restore_seconds: float = 0.0  # spent restoring partitions from their changelogs
    state_keys: int = 0
    first_record_at: float | None = None  # epoch seconds
    last_commit_at: float | None = None
    # per hook subscription (sent, failed, retrying, ...) when the worker delivers hooks
    delivery: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
               if f.name != "delivery"}
        out["delivery"] = self.delivery() if self.delivery else {}
        out["rss_bytes"] = resident_bytes()  # this process's, now
        return out


def _add(a: Any, b: Any) -> Any:
    """Counts added up, dicts and lists (histograms' buckets) item by item."""
    if isinstance(a, dict):
        return {k: _add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
                for k in {**a, **b}}
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b)]
    return a + b


def merge(own: Health, snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """A worker's figures: its own (its deliverers) and those of its engine processes
    (``as_dict()`` of each): counts add up, partitions join, the first record is the earliest
    and the last commit the latest."""
    out = own.as_dict()
    for snap in snapshots:
        for name, value in snap.items():
            if name == "partitions":
                out[name] = sorted(out[name] + value)
            elif name in ("last_sink_error", "last_alert_error"):
                out[name] = out[name] or value
            elif name in ("first_record_at", "last_commit_at"):
                known = [t for t in (out[name], value) if t is not None]
                pick = min if name == "first_record_at" else max
                out[name] = pick(known) if known else None
            elif name != "delivery":
                out[name] = _add(out[name], value)
    out["processes"] = len(snapshots)
    return out
