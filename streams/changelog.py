"""Changelog topics of the tracking tables: writing what changed, and restoring a partition.

The format is Faust's (topic ``<app_id>-<table>-changelog``, compacted, JSON key and value, a
tombstone for a deleted key, partition = the source partition), so the tables can be read with
any Kafka tool.

Restoring reads a partition up to a *fence*: a tombstone with a unique key that the restorer
appends just before it reads. Everything written before the fence is before it in the log, so the
restore is complete without trusting the broker's high watermark (Apache Kafka reports it
correctly; the local broker under-reports it after a multi-record batch, see LOCAL-STACK.md).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from .exceptions import BrokerError
from .kafka_config import confluent_config, produce
from .settings import Settings
from .state import TABLES

FENCE_PREFIX = b"\x00fence:"  # JSON keys never start with a NUL byte
RESTORE_TIMEOUT_S = 300.0


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{settings.app_id}-{table}-changelog"


def write_changes(
    producer: Producer, settings: Settings, partition: int,
    changes: dict[str, dict[str, Any]],
) -> int:
    """Produce the latest value of every changed key; return the records produced."""
    n = 0
    for table, values in changes.items():
        topic = changelog_topic(settings, table)
        for key, value in values.items():
            produce(producer, topic, json.dumps(key).encode(),
                    None if value is None else json.dumps(value).encode(), partition)
            n += 1
    return n


def fold(table: dict[str, Any], key: bytes, value: bytes | None) -> None:
    """Apply one changelog record to a table (fences are no data)."""
    if key.startswith(FENCE_PREFIX):
        return
    if value is None:
        table.pop(json.loads(key), None)
    else:
        table[json.loads(key)] = json.loads(value)


def restore(settings: Settings, producer: Producer, partition: int) -> dict[str, dict[str, Any]]:
    """Every table's contents for ``partition``, read from its changelog up to a new fence."""
    topics = [changelog_topic(settings, t) for t in TABLES]
    fence = FENCE_PREFIX + uuid.uuid4().hex.encode()
    consumer = Consumer(confluent_config(settings, **{
        "group.id": f"{settings.app_id}-restore", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(t, partition, OFFSET_BEGINNING) for t in topics])
    for topic in topics:
        produce(producer, topic, fence, None, partition)
    producer.flush()
    tables: dict[str, dict[str, Any]] = {t: {} for t in TABLES}
    table_of = dict(zip(topics, TABLES))
    waiting = set(topics)
    deadline = time.monotonic() + RESTORE_TIMEOUT_S
    try:
        while waiting:
            if time.monotonic() > deadline:
                raise BrokerError(f"restoring partition {partition}: no fence on "
                                  f"{sorted(waiting)} after {RESTORE_TIMEOUT_S:.0f}s")
            for msg in consumer.consume(10000, timeout=0.5):
                if msg.error():
                    raise BrokerError(f"restoring partition {partition}: {msg.error()}")
                if msg.key() == fence:
                    waiting.discard(msg.topic())
                elif msg.topic() in waiting:  # what follows our fence is not ours to read
                    fold(tables[table_of[msg.topic()]], msg.key(), msg.value())
    finally:
        consumer.close()
    return tables

