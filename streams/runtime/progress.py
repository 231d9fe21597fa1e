"""How far a worker group got, read from its committed offsets (an offset is committed only when
its checkpoint wrote everything the record led to, so this counts fully processed records).

Where a topic ends is found by reading it, not from ListOffsets: the local broker reports the
high watermark of a multi-record batch as its base offset + 1 (docs/local-stack.md), so a count
taken from watermarks would call a topic drained while the tail of its last batch is not."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from streams.exceptions import BounceflowError
from streams.kafka_config import confluent_config
from streams.settings import Settings


def committed(settings: Settings, topics: list[str]) -> dict[str, int]:
    """Records committed per topic by the worker group (sum over partitions)."""
    return {t: sum(n for (topic, _), n in _committed(settings, topics).items() if topic == t)
            for t in topics}


def _committed(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    # Reading committed offsets does not join the group: no subscribe, no rebalance.
    consumer = Consumer(confluent_config(settings, **{
        "group.id": settings.app_id, "enable.auto.commit": False}))
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(settings.partitions)]
        return {(tp.topic, tp.partition): max(tp.offset, 0)
                for tp in consumer.committed(tps, timeout=10)}
    finally:
        consumer.close()


class TopicEnds:
    """The end offset of every partition of some topics, found by reading them to the end."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.ends = {(t, p): 0 for t in topics for p in range(settings.partitions)}
        self._consumer = Consumer(confluent_config(settings, **{
            "group.id": "bounceflow-progress", "enable.auto.commit": False}))
        self._consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in self.ends])

    def read(self, idle_s: float = 1.0) -> dict[tuple[str, int], int]:
        """Read until nothing arrives for ``idle_s``; return the ends."""
        while True:
            batch = self._consumer.consume(10000, timeout=idle_s)
            if not batch:
                return self.ends
            for msg in batch:
                if not msg.error():
                    self.ends[(msg.topic(), msg.partition())] = msg.offset() + 1

    def close(self) -> None:
        self._consumer.close()


def wait_drained(
    settings: Settings, produced: int, alive: Callable[[], bool], timeout: float,
    on_progress: Callable[[int], None] = lambda n: None,
) -> None:
    """Wait until the group has processed all ``produced`` replies and everything they led to.

    Stage by stage: every reply committed means every reply tracked at once and every dead letter
    was sent and written (a commit follows the flush of the producer and of ClickHouse), and the
    others were sent to the repartition topic; then that topic committed to its end means every
    classified reply and hook was sent and every row written. Replays after a crash add
    duplicate records, so ends are read, not predicted."""
    deadline = time.monotonic() + timeout
    stages = [[settings.topic_repartition]]
    ends = TopicEnds(settings, [t for stage in stages for t in stage])
    try:
        while (done := _committed(settings, [settings.topic_replies])) and \
                sum(done.values()) < produced:
            on_progress(sum(done.values()))
            _tick(alive, deadline, f"committed {done}, produced {produced}")
        on_progress(produced)
        for stage in stages:
            want = {tp: n for tp, n in ends.read().items() if tp[0] in stage}
            while any((done := _committed(settings, stage))[tp] < n for tp, n in want.items()):
                _tick(alive, deadline, f"committed {done}, topic ends {want}")
    finally:
        ends.close()


def _tick(alive: Callable[[], bool], deadline: float, where: str) -> None:
    if not alive():
        raise BounceflowError(f"the worker exited before it processed everything ({where})")
    if time.monotonic() > deadline:
        raise BounceflowError(f"the worker did not process everything in time ({where})")
    time.sleep(0.5)
