"""A worker killed with SIGKILL mid-stream and started again: the reports, the hooks and the
tables end exactly as if nothing had happened."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from streams.classify.classifier import Classifier
from streams.kafka_config import confluent_config
from streams.local.reference import expected
from streams.local.synth import generate
from streams.runtime.topics import ensure_topics
from tests.conftest import jsonl, run_cli
from tests.integration.checks import (
    assert_exact,
    kill_at_first_commit,
    kill_mid_stream,
    produce_elsewhere,
    read_topic,
)

pytestmark = pytest.mark.integration


def test_kill_9_mid_stream_then_restart(settings_factory, worker_factory, tmp_path):
    settings = settings_factory(sink_batch_size=300)
    replies = 30000
    _, want, _ = kill_mid_stream(settings, worker_factory, replies, 21, tmp_path)

    second = worker_factory(settings)
    second.wait(replies)
    assert second.stop() == 0
    assert_exact(settings, want)


def test_kill_9_while_replies_take_the_round_trip(settings_factory, worker_factory, tmp_path):
    """Replies spread by CRC32, not by their address's partition: most are classified on one
    partition and tracked on another, through the repartition topic, when the worker dies."""
    settings = settings_factory(sink_batch_size=300)
    ensure_topics(settings)
    events = list(generate(20000, seed=23))
    produce_elsewhere(settings, events)
    want = expected(events, Classifier(settings.policy), settings.max_attempts)
    # Classifying runs ahead of tracking: what must be unfinished is the repartitioned stream.
    tracked = kill_at_first_commit(settings, worker_factory(settings), settings.topic_repartition)
    assert tracked < len(read_topic(settings, settings.topic_repartition)), "killed too late"

    second = worker_factory(settings)
    second.wait(len(events))
    assert second.stop() == 0
    assert_exact(settings, want)


def test_restart_between_two_halves_of_a_stream(settings_factory, worker_factory, tmp_path):
    """State written before a clean stop is all there after the start: the second half of the
    stream sees the suppressions and attempts of the first (changelog recovery)."""
    settings = settings_factory()
    events = list(generate(3000, seed=5))
    half = len(events) // 2
    for part, (start, end) in enumerate([(0, half), (half, len(events))]):
        path = jsonl(events[start:end], tmp_path / f"part{part}.jsonl")
        done = run_cli(settings, "produce", str(path), "--quiet")
        assert done.returncode == 0, done.stderr
        worker = worker_factory(settings)
        worker.wait(end)
        assert worker.stop() == 0
    assert_exact(settings, expected(events, Classifier(settings.policy), settings.max_attempts))


def test_a_reply_repartitioned_twice_is_tracked_once(settings_factory, worker_factory):
    """A replay of a producer's partition repartitions its replies again: each copy carries its
    reply's partition of smtp-replies and position there, and the state that applied it skips
    it: no hook, no classified reply again, reports unchanged."""
    settings = settings_factory()
    ensure_topics(settings)
    events = list(generate(3000, seed=29))
    produce_elsewhere(settings, events)
    want = expected(events, Classifier(settings.policy), settings.max_attempts)
    worker = worker_factory(settings)
    worker.wait(len(events))
    hooks = len(read_topic(settings, settings.topic_hooks))
    classified = len(read_topic(settings, settings.topic_classified))
    copies = read_topic(settings, settings.topic_repartition)
    assert len(copies) > len(events) / 4, "many replies should take the round trip"

    producer = Producer(confluent_config(settings))
    for msg in copies:
        producer.produce(msg.topic(), msg.value(), msg.key(), msg.partition(),
                         headers=msg.headers())
    producer.flush()
    worker.wait(len(events))
    assert worker.stop() == 0
    assert len(read_topic(settings, settings.topic_hooks)) == hooks
    assert len(read_topic(settings, settings.topic_classified)) == classified
    assert_exact(settings, want)
