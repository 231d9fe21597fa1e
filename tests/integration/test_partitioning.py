"""The engine's prediction of a key's partition equals where librdkafka's murmur2_random
partitioner (bounceflow produce's, the Java client's) puts it on the broker."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from streams.kafka_config import confluent_config
from streams.partitioner import partition_of
from streams.topics import ensure_topics

pytestmark = pytest.mark.integration


def test_predicted_partitions_are_the_producers(settings_factory):
    settings = settings_factory(partitions=4)
    ensure_topics(settings)
    landed: dict[bytes, int] = {}
    producer = Producer(confluent_config(settings, partitioner="murmur2_random", on_delivery=(
        lambda err, msg: landed.__setitem__(msg.key(), -1 if err else msg.partition()))))
    keys = [f"User.{i}@Example{i % 7}.com".lower().encode() for i in range(300)]
    for key in keys:
        producer.produce(settings.topic_replies, b"x", key)
    producer.flush(30)
    assert len(set(landed.values())) == 4
    assert landed == {key: partition_of(key, 4) for key in keys}
