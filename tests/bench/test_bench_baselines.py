"""The benchmark's naive Faust baselines run on the local broker; the one with the track step
keeps its tables and sends the hooks bounceflow's state machine decides."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.pipeline import encode_stream, naive_faust_rate, naive_hooks_topic, produce_stream
from streams.ingest.codec import HOOK
from streams.kafka_config import confluent_config
from streams.local.synth import generate
from streams.runtime.topics import ensure_topics

pytestmark = pytest.mark.integration


def test_naive_agents_read_the_replies_and_the_tracking_one_sends_hooks(settings_factory,
                                                                         tmp_path):
    settings = settings_factory()
    ensure_topics(settings)
    events = list(generate(400, seed=3))
    produce_stream(settings, encode_stream(events))
    assert naive_faust_rate(settings, len(events), tmp_path) > 0
    assert naive_faust_rate(settings, len(events), tmp_path, track=True) > 0

    consumer = Consumer(confluent_config(settings, **{"group.id": f"{settings.app_id}-count"}))
    consumer.assign([TopicPartition(naive_hooks_topic(settings), p, OFFSET_BEGINNING)
                     for p in range(settings.partitions)])
    hooks, idle_until = [], time.monotonic() + 15
    while time.monotonic() < idle_until:
        for msg in consumer.consume(500, timeout=0.5):
            if not msg.error():
                hooks.append(HOOK.decode(msg.value()))
                idle_until = time.monotonic() + 3
    consumer.close()
    # Sends still buffered when the agent exits at its last event are lost: a lower bound.
    assert len(hooks) >= len(events) // 2
    assert {h["event_data"]["event_id"] for h in hooks} <= {e["event_id"] for e in events}
