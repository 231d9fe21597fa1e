"""The provider-health alert evaluator: I/O around the pure ``alerts.transitions``.

It runs on the worker that owns partition 0 of the repartition topic (one per app), every
``alert_check_s``: checkpoint (every reply it read so far is in ClickHouse) -> closed windows
from ClickHouse (closed once every partition's rows are past them: the other partitions'
engines and workers write theirs at their own pace) -> alert and recovered hooks to the hooks
topic and table -> checkpoint -> save the progress (last window, pairs in alert) in
``alert_state``. A crash before the progress is saved evaluates the same windows again and
emits the same hook ids.

A ClickHouse error in a check does not stop the worker (the stream must not wait for alerts): it
is counted in health (``alert_failures``), logged, and the check runs again at the next one. Hooks
already emitted are not emitted again: their progress is kept here until it is saved, and saving
it comes first at the next check.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import Producer

from sinks import provider_health
from sinks.avro_rows import source_suffix
from sinks.clickhouse import ClickHouseSink
from sinks.ddl import statements
from streams.alerts.machine import (
    PAIR_TYPES,
    SENDER_PUSHBACK,
    AlertPolicy,
    Window,
    transitions,
    written_up_to,
)
from streams.ingest.codec import HOOK
from streams.kafka_config import produce
from streams.runtime.health import Health
from streams.settings import Settings

log = logging.getLogger("bounceflow")
# The evaluator reads no window older than this before the newest reply (no saved progress: a new
# app, or one pointed at a table with history; or progress older than that after a long stop):
# alerts on older windows come too late to act on, and reading all history at once can take
# gigabytes. A partition that wrote no reply for this long no longer holds windows open.
FIRST_LOOKBACK_MS = 86_400_000
T = TypeVar("T")


class AlertEvaluator:
    def __init__(self, settings: Settings, client: Any, database: str, producer: Producer,
                 hooks: ClickHouseSink, health: Health) -> None:
        self.settings, self.client, self.database = settings, client, database
        self.producer, self.hooks, self.health = producer, hooks, health
        self.policy = AlertPolicy(settings.alert_raise_rate, settings.alert_clear_rate,
                                  settings.alert_min_volume)
        self.state: tuple[int, set[tuple[str, str, str]]] | None = None
        self.unsaved = False  # the state is newer than the saved progress
        self.next_check = 0.0
        for statement in statements(database, "alert_state"):
            client.command(statement)

    def due(self, owner: bool) -> bool:
        return bool(self.settings.alert_check_s) and owner and time.monotonic() >= self.next_check

    def forget(self) -> None:
        """Partition 0 may move: whoever owns it next reloads the progress from ClickHouse."""
        if self.unsaved:  # one more try, or the next owner emits these hooks again
            self._try(self._save)
        self.state, self.unsaved = None, False

    def run(self, checkpoint: Callable[[], None]) -> None:
        self.next_check = time.monotonic() + self.settings.alert_check_s
        checkpoint()  # outside the tries: its errors (Kafka, a stop) are the engine's
        if self.unsaved and not self._try(self._save):
            return
        windows = self._try(self._closed_windows)
        if not windows:
            return
        assert self.state is not None  # loaded by _closed_windows
        alerting = self.state[1]
        for window, hook in transitions(windows, alerting, self.policy):
            # Keyed by the pair: its alert and recovery share a partition, so consumers read
            # them in order.
            value = HOOK.encode(hook)
            produce(self.producer, self.settings.topic_hooks, ":".join(window.key).encode(), value)
            self.hooks.add(value + source_suffix(0, window.start_ms), "alerts", 0, window.start_ms)
            self.health.alerts += 1
            log.warning("provider health %s: %s", hook["event_type"],
                        json.dumps(hook["event_data"]["alert"]))
        self.health.alerts_in_force = len(alerting)
        checkpoint()  # the hooks are on the broker and in ClickHouse
        self.state, self.unsaved = (windows[-1].start_ms, alerting), True
        self._try(self._save)

    def _closed_windows(self) -> list[Window]:
        """The windows closed since the saved progress, oldest first (none: an empty list)."""
        client, db = self.client, self.database
        if self.state is None:
            self.state = provider_health.load_state(client, db)
        upto = self.state[0]
        latest = provider_health.latest_by_partition(client, db, upto)
        if not latest:
            return []
        first = max(latest.values()) - FIRST_LOOKBACK_MS
        silent = set(range(self.settings.partitions)) - latest.keys()
        if silent and upto > first:
            # Nothing since the progress: its rows may be on their way (another engine or
            # worker behind this one), unless it wrote nothing for a day either.
            earlier = provider_health.latest_by_partition(client, db, first, upto)
            latest.update((p, t) for p, t in earlier.items() if p in silent)
        upto = max(upto, first)
        until = written_up_to(latest, FIRST_LOOKBACK_MS) - int(self.settings.alert_grace_s * 1000)
        return sorted((Window(*row) for row in provider_health.closed_windows(
            client, db, self.settings.alert_window_minutes, upto, until, PAIR_TYPES,
            SENDER_PUSHBACK)), key=lambda w: (w.start_ms, w.key))

    def _save(self) -> bool:
        assert self.state is not None
        provider_health.save_state(self.client, self.database, *self.state)
        self.unsaved = False
        return True

    def _try(self, step: Callable[[], T]) -> T | None:
        """``step``'s result, or None when ClickHouse failed it (counted, logged)."""
        try:
            return step()
        except Exception as exc:  # ClickHouse's errors come as several types (client, chDB, relay)
            self.health.alert_failures += 1
            self.health.last_alert_error = f"{type(exc).__name__}: {exc}"
            log.error("provider health check failed, trying again in %.1fs: %s",
                      self.settings.alert_check_s, self.health.last_alert_error)
            return None
