"""How far a worker group got, read from its committed offsets (an offset is committed only when
every agent of the group acked the event, so this counts fully processed records)."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from .kafka_config import confluent_config
from .settings import Settings


def committed(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Records committed per topic by the worker group (sum over partitions)."""
    # Reading committed offsets does not join the group: no subscribe, no rebalance.
    consumer = Consumer(confluent_config(settings, **{
        "group.id": settings.app_id, "enable.auto.commit": False}))
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        out = dict.fromkeys(topics, 0)
        for tp in consumer.committed(tps, timeout=10):
            if tp.offset >= 0:
                out[tp.topic] += tp.offset
        return out
    finally:
        consumer.close()
