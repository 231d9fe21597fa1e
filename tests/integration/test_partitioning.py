"""The engine's prediction of a key's partition equals where librdkafka's murmur2_random
partitioner (bounceflow produce's, the Java client's) puts it on the broker, produced by
bounceflow's ``produce`` with no partition named."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from streams.kafka_config import confluent_config, produce
from streams.runtime.partitioner import partition_of
from streams.runtime.topics import ensure_topics

pytestmark = pytest.mark.integration


def test_predicted_partitions_are_the_producers(settings_factory):
    settings = settings_factory(partitions=4)
    ensure_topics(settings)
    landed: dict[bytes, int] = {}
    producer = Producer(confluent_config(settings, partitioner="murmur2_random", on_delivery=(
        lambda err, msg: landed.__setitem__(msg.key(), -1 if err else msg.partition()))))
    keys = [f"User.{i}@Example{i % 7}.com".lower().encode() for i in range(300)]
    for key in keys:
        produce(producer, settings.topic_replies, key, b"x")
    producer.flush(30)
    assert len(set(landed.values())) == 4
    assert landed == {key: partition_of(key, 4) for key in keys}
