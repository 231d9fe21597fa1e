"""Engines in threads of the test process, sharing one chDB directory the way workers share a
ClickHouse server: a second worker joins mid-stream and the first leaves; ClickHouse refuses
inserts for a while. The reports stay exact."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from sinks.clickhouse import connect
from streams.classify.classifier import Classifier
from streams.ingest.codec import CLASSIFIED
from streams.local.reference import expected
from streams.local.synth import generate
from streams.runtime.engine import Engine
from streams.runtime.health import Health
from streams.runtime.progress import committed, wait_drained
from streams.runtime.topics import ensure_topics
from tests.conftest import jsonl, run_cli
from tests.integration.checks import assert_exact, produce_elsewhere, read_topic, wait_until

pytestmark = pytest.mark.integration


class EngineThread:
    def __init__(self, settings) -> None:
        self.health = Health()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.engine = Engine(settings, self.health)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.engine.run(self._stop.is_set, lambda: None)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and self.error is None, self.error


def produce(settings, events, tmp_path, name):
    done = run_cli(settings, "produce", str(jsonl(events, tmp_path / name)), "--quiet")
    assert done.returncode == 0, done.stderr


def test_a_worker_joins_and_another_leaves_mid_stream(settings_factory, tmp_path):
    settings = settings_factory(partitions=4)
    ensure_topics(settings)
    events = list(generate(6000, seed=9))
    thirds = [events[:2000], events[2000:4000], events[4000:]]
    first = EngineThread(settings)
    produce(settings, thirds[0], tmp_path, "a.jsonl")
    wait_until(lambda: first.health.tracked >= 1000)
    second = EngineThread(settings)  # joins: the partitions are shared out again
    wait_until(lambda: second.health.partitions and first.health.rebalances > 0)
    produce(settings, thirds[1], tmp_path, "b.jsonl")
    wait_until(lambda: second.health.tracked > 0)
    first.stop()  # leaves: the second takes every partition
    # A reply that takes the round trip may be tracked after a later reply of its address that
    # did not (they came on different partitions): switch partitioners only once drained.
    wait_drained(settings, 4000, lambda: second.thread.is_alive(), timeout=120)
    produce_elsewhere(settings, thirds[2])
    wait_drained(settings, len(events), lambda: second.thread.is_alive(), timeout=120)
    second.stop()
    assert second.health.restored_keys > 0  # it took over state the first had built
    # Both ways of tracking were taken: at once, and through the repartition topic.
    at_once = first.health.tracked_at_once + second.health.tracked_at_once
    assert 4000 <= at_once < first.health.tracked + second.health.tracked
    repartitioned = read_topic(settings, settings.topic_repartition)
    assert 0 < len(repartitioned) <= len(events) - 4000
    # Either way, every reply reached classified-replies, in its address's partition.
    classified = [(m.partition(), CLASSIFIED.decode(m.value())) for m in
                  read_topic(settings, settings.topic_classified)]
    assert {c["event_id"] for _, c in classified} == {e["event_id"] for e in events}
    homes = {c["email"]: set() for _, c in classified}
    for partition, c in classified:
        homes[c["email"]].add(partition)
    assert all(len(partitions) == 1 for partitions in homes.values())
    assert committed(settings, [settings.topic_classified]) == {settings.topic_classified: 0}
    assert_exact(settings, expected(events, Classifier(settings.policy), settings.max_attempts))


def test_clickhouse_failures_make_the_stream_wait(settings_factory, tmp_path, caplog):
    settings = settings_factory(sink_batch_seconds=0.2)
    ensure_topics(settings)
    events = list(generate(3000, seed=4))
    worker = EngineThread(settings)
    produce(settings, events[:1000], tmp_path, "a.jsonl")
    wait_drained(settings, 1000, lambda: worker.thread.is_alive(), timeout=60)

    client, db = connect(settings.clickhouse_dsn)
    client.command(f"DETACH TABLE `{db}`.replies")  # every insert into it now fails
    with caplog.at_level(logging.ERROR, logger="bounceflow"):
        produce(settings, events[1000:], tmp_path, "b.jsonl")
        wait_until(lambda: worker.health.sink_failures >= 3, timeout=60)
        stuck = committed(settings, [settings.topic_replies, settings.topic_repartition])
        time.sleep(2)
        assert committed(settings, [settings.topic_replies, settings.topic_repartition]) == stuck
        assert stuck[settings.topic_replies] < len(events)  # nothing past the failure
    assert "ClickHouse write failed" in caplog.text
    assert "replies" in worker.health.last_sink_error

    client.command(f"ATTACH TABLE `{db}`.replies")
    client.close()
    wait_drained(settings, len(events), lambda: worker.thread.is_alive(), timeout=120)
    worker.stop()
    assert_exact(settings, expected(events, Classifier(settings.policy), settings.max_attempts))
