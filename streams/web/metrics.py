"""/metrics in the Prometheus text format, derived from the same figures as /health.

A custom collector turns one health snapshot (``Health.as_dict()``, or ``health.merge`` of a
worker's engine processes, or ``bounceflow deliver``'s delivery status) into metric families at
each scrape: /metrics and /health cannot disagree, and a worker of several engine processes
adds them up the way its /health does, without prometheus_client's multiprocess mode (files on
disk, one per process and metric). Names follow Prometheus' conventions: the ``bounceflow_``
prefix, base units (seconds, bytes), ``_total`` counters, no per-address labels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from streams.runtime.health import DURATION_BUCKETS, LATENCY_BUCKETS

# (metric, health field, help): one sample each, counters then gauges
COUNTERS = (
    ("bounceflow_input_skipped", "input_skipped",
     "Input records that hold no reply (other kinds of MTA log records), skipped."),
    ("bounceflow_tracked", "tracked", "Classified replies tracked: state updated, hooks decided."),
    ("bounceflow_tracked_at_once", "tracked_at_once",
     "Of which tracked on the partition they were read from, without the repartition topic."),
    ("bounceflow_commits", "commits", "Offset commits (each after a checkpoint's writes)."),
    ("bounceflow_commit_failures", "commit_failures", "Offset commits that failed."),
    ("bounceflow_rebalances", "rebalances", "Partitions revoked from this worker."),
    ("bounceflow_alert_hooks", "alerts", "Provider-health alert and recovered hooks emitted."),
    ("bounceflow_alert_check_failures", "alert_failures",
     "Provider-health checks that failed (ClickHouse) and were tried again."),
    ("bounceflow_restored_keys", "restored_keys", "Table keys restored from changelogs."),
    ("bounceflow_replays_skipped", "replays_skipped",
     "Replies skipped as the state held them already (replayed, or repartitioned twice)."),
    ("bounceflow_restore_seconds", "restore_seconds",
     "Time spent restoring partitions from their changelogs."),
)
GAUGES = (
    ("bounceflow_alerts_in_force", "alerts_in_force", "Provider-health pairs alerting now."),
    ("bounceflow_state_keys", "state_keys", "Keys in the owned partitions' tables."),
    ("bounceflow_resident_memory_bytes", "rss_bytes",
     "Resident memory of the worker's processes, added up."),
    ("bounceflow_last_commit_timestamp_seconds", "last_commit_at",
     "When the last offset commit happened (Unix time)."),
)
HISTOGRAMS = (
    ("bounceflow_processing_seconds", "processing_seconds", DURATION_BUCKETS,
     "Time to process one consumed batch."),
    ("bounceflow_checkpoint_seconds", "checkpoint_seconds", DURATION_BUCKETS,
     "Time from a checkpoint's start to its commit (ClickHouse write included)."),
    ("bounceflow_hook_latency_seconds", "hook_latency_seconds", LATENCY_BUCKETS,
     "From a reply's event time to the production of its hooks."),
)


def families(health: dict[str, Any], topics: dict[str, str]) -> Iterator[Metric]:
    """The metric families of one health snapshot; a figure the snapshot lacks (``bounceflow
    deliver`` has only its deliveries) gives no family. ``topics``: the topic each consumed
    count is of (``replies``, ``repartitioned``)."""
    if "replies" in health:
        consumed = CounterMetricFamily("bounceflow_records_consumed",
                                       "Records read, by topic.", labels=["topic"])
        for field, topic in topics.items():
            consumed.add_metric([topic], health[field])
        yield consumed
        # Each counted on its own, not one as the other's remainder: a scrape between a reply's
        # two increments would otherwise see a counter go down.
        replies = CounterMetricFamily(
            "bounceflow_replies", "Replies by outcome: classified, or dead-lettered (bad input, "
            "or a classification or tracking failure).", labels=["outcome"])
        replies.add_metric(["classified"], health["classified"])
        replies.add_metric(["dead_lettered"], health["dead_letters"])
        yield replies
        yield _labelled(CounterMetricFamily, "bounceflow_dead_letters",
                        "Records sent to the dead-letter topic, by reason.", "reason",
                        health["dead_letter_reasons"])
        yield _labelled(CounterMetricFamily, "bounceflow_hooks",
                        "Action hooks emitted by tracking, by event type.", "type",
                        health["hook_types"])
        yield _labelled(CounterMetricFamily, "bounceflow_clickhouse_rows_written",
                        "Rows written to ClickHouse, by table.", "table", health["sink_rows"])
        yield _labelled(CounterMetricFamily, "bounceflow_clickhouse_write_failures",
                        "ClickHouse writes that failed (then retried), by table.", "table",
                        health["sink_table_failures"])
        lag = GaugeMetricFamily("bounceflow_consumer_lag",
                                "Records between the position and the high watermark, by topic "
                                "and partition, at the last checkpoint.",
                                labels=["topic", "partition"])
        for topic, partitions in sorted(health["lag"].items()):
            for partition, n in sorted(partitions.items(), key=lambda kv: int(kv[0])):
                lag.add_metric([topic, partition], n)
        yield lag
        yield _single(GaugeMetricFamily, "bounceflow_partitions_owned",
                      "Partitions owned, of both topics read.", len(health["partitions"]))
        # a worker of one engine runs it in its own process: only a merge counts them
        yield _single(GaugeMetricFamily, "bounceflow_engine_processes",
                      "Engine processes of this worker.", health.get("processes", 1))
    for kind, specs in ((CounterMetricFamily, COUNTERS), (GaugeMetricFamily, GAUGES)):
        for name, field, doc in specs:
            if health.get(field) is not None:
                yield _single(kind, name, doc, health[field])
    for name, field, bounds, doc in HISTOGRAMS:
        if field in health:
            yield _histogram(name, doc, bounds, health[field])
    yield from _delivery(health.get("delivery", {}))


def _single(kind: Any, name: str, doc: str, value: float) -> Metric:
    metric = kind(name, doc)
    metric.add_metric([], value)
    return metric  # type: ignore[no-any-return]


def _labelled(kind: Any, name: str, doc: str, label: str, values: dict[str, float]) -> Metric:
    metric = kind(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        metric.add_metric([key], value)
    return metric  # type: ignore[no-any-return]


def _histogram(name: str, doc: str, bounds: tuple[float, ...], hist: dict[str, Any]) -> Metric:
    cumulative, buckets = 0, []
    for bound, count in zip((*(str(b) for b in bounds), "+Inf"), hist["buckets"]):
        cumulative += count
        buckets.append((bound, cumulative))
    metric = HistogramMetricFamily(name, doc)
    metric.add_metric([], buckets, sum_value=hist["sum"])
    return metric


def _delivery(subscriptions: dict[str, dict[str, Any]]) -> Iterator[Metric]:
    if not subscriptions:
        return
    hooks = CounterMetricFamily("bounceflow_hook_deliveries",
                                "Hooks delivered or given up on (dead-lettered), by subscription.",
                                labels=["subscription", "outcome"])
    failures = CounterMetricFamily("bounceflow_hook_delivery_failures",
                                   "Delivery tries that failed, by subscription.",
                                   labels=["subscription"])
    retrying = GaugeMetricFamily("bounceflow_hook_delivery_retrying",
                                 "1 while a subscription retries a batch.",
                                 labels=["subscription"])
    for name, figures in sorted(subscriptions.items()):
        hooks.add_metric([name, "sent"], figures["sent"])
        hooks.add_metric([name, "dead_lettered"], figures["dead_lettered"])
        failures.add_metric([name], figures["failed"])
        retrying.add_metric([name], int(figures["retrying"]))
    yield from (hooks, failures, retrying)


class HealthCollector(Collector):
    def __init__(self, status: Callable[[], dict[str, Any]], topics: dict[str, str]) -> None:
        self.status, self.topics = status, topics

    def collect(self) -> Iterator[Metric]:
        return families(self.status(), self.topics)


def exposition(status: Callable[[], dict[str, Any]], topics: dict[str, str]
               ) -> Callable[[], tuple[bytes, str]]:
    """What /metrics answers: the text exposition of ``status``'s figures, and its type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(status, topics))
    return lambda: (generate_latest(registry), CONTENT_TYPE_LATEST)
