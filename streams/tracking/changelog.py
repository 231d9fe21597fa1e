"""Changelog topics of the tracking tables: writing what changed, and restoring a partition.

The format is Faust's (topic ``<app_id>-<table>-changelog``, compacted, JSON key and value, a
tombstone for a deleted key, partition = the source partition), so the tables can be read with
any Kafka tool.

Each checkpoint ends with a marker in every table's partition (``checkpoints.py``): a restore
gives the tables as they were at the last checkpoint both tables reached, and its sources.

Restoring reads a partition up to a *fence*: a tombstone with a unique key that the restorer
appends just before it reads. Everything written before the fence is before it in the log, so the
restore is complete without trusting the broker's high watermark (Apache Kafka reports it
correctly; the local broker under-reports it after a multi-record batch, docs/local-stack.md).
"""

from __future__ import annotations

import json
import time
import uuid
from json.encoder import encode_basestring_ascii
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from streams.exceptions import BrokerError
from streams.kafka_config import confluent_config, produce
from streams.settings import Settings
from streams.tracking.checkpoints import MARKER_KEY, Checkpoint, Restored, TableFold, complete
from streams.tracking.machine import Limits
from streams.tracking.state import TABLES, PartitionState

FENCE_PREFIX = b"\x00fence:"  # JSON keys never start with a NUL byte
RESTORE_TIMEOUT_S = 300.0


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{settings.app_id}-{table}-changelog"


def write_changes(
    producer: Producer, settings: Settings, partition: int,
    changes: dict[str, dict[str, Any]],
) -> None:
    """Produce the latest value of every changed key.

    Values are written by orjson (far faster than json). Keys stay json's: its ASCII escapes
    keep a key's bytes, which compaction matches, the same as in changelogs written before;
    written by the escaper ``json.dumps`` calls for a str, without json.dumps' own overhead."""
    for table, values in changes.items():
        topic = changelog_topic(settings, table)
        for key, value in values.items():
            produce(producer, topic, encode_basestring_ascii(key).encode(),
                    None if value is None else orjson.dumps(value), partition)


def write_marker(producer: Producer, settings: Settings, partition: int,
                 checkpoint: Checkpoint) -> None:
    """End a partition's checkpoint in every table's changelog."""
    value = checkpoint.value()
    for table in TABLES:
        produce(producer, changelog_topic(settings, table), MARKER_KEY, value, partition)


def resume(producer: Producer, settings: Settings, partition: int, limits: Limits,
           restored: Restored) -> PartitionState:
    """The state a restore gives. When the changelog must say what it is before the worker goes
    on (``restored.repair``), the keys set back and a marker in every table are produced; the
    caller flushes them."""
    state = PartitionState(partition, limits, restored.tables, restored.checkpoint)
    if restored.repair:
        for table, keys in restored.set_back.items():
            state.rewrite(table, keys)
        write_changes(producer, settings, partition, state.take_changes())
        write_marker(producer, settings, partition, restored.checkpoint)
    return state


def fold(table: dict[str, Any], key: bytes, value: bytes | None) -> None:
    """Apply one changelog record to a table, as any reader of the topic would: the last value
    of each key (fences and markers are no data)."""
    if key.startswith(b"\x00"):
        return
    if value is None:
        table.pop(json.loads(key), None)
    else:
        table[json.loads(key)] = orjson.loads(value)


def restore(settings: Settings, producer: Producer, partitions: list[int]) -> dict[int, Restored]:
    """Each partition's tables at its last complete checkpoint, read from the changelogs up to
    new fences."""
    fence = FENCE_PREFIX + uuid.uuid4().hex.encode()
    topics = {changelog_topic(settings, t): t for t in TABLES}
    waiting = {(topic, p) for topic in topics for p in partitions}
    consumer = Consumer(confluent_config(settings, **{
        "group.id": f"{settings.app_id}-restore", "enable.auto.commit": False}))
    # Partitions assigned before the client knows their leaders wait out librdkafka's fixed
    # 500 ms retry of the offset query: with the metadata first, empty partitions restore in
    # ~0.1 s, not 0.5 s (every assignment, a worker's start, a failover waits for it).
    for topic in topics:
        consumer.list_topics(topic, timeout=RESTORE_TIMEOUT_S)
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in waiting])
    for topic, p in waiting:
        produce(producer, topic, fence, None, p)
    producer.flush()
    folds = {p: {t: TableFold() for t in TABLES} for p in partitions}
    deadline = time.monotonic() + RESTORE_TIMEOUT_S
    try:
        while waiting:
            if time.monotonic() > deadline:
                raise BrokerError(f"restoring state: no fence on {sorted(waiting)} after "
                                  f"{RESTORE_TIMEOUT_S:.0f}s")
            for msg in consumer.consume(10000, timeout=0.05):
                if msg.error():
                    raise BrokerError(f"restoring state: {msg.error()}")
                where = (msg.topic(), msg.partition())
                if msg.key() == fence:
                    waiting.discard(where)
                elif where in waiting:  # what follows our fence is not ours to read
                    folds[msg.partition()][topics[msg.topic()]].record(msg.key(), msg.value())
    finally:
        consumer.close()
    return {p: complete(tables) for p, tables in folds.items()}
