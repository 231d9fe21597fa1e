"""The changelog records' bytes: what a restore folds back, whatever wrote them."""

from __future__ import annotations

import json

from streams.settings import Settings
from streams.tracking.changelog import fold, write_changes


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes | None, int]] = []

    def produce(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                partition: int = -1) -> None:
        self.records.append((topic, key, value, partition))


RECIPIENT = {"suppressed_by": "e1-4409-1", "soft_streak": 2, "recent": "0Jbqx", "note": "Zoë"}


def test_written_changes_fold_back_into_the_same_table():
    producer = RecordingProducer()
    settings = Settings.load(env={}, app_id="app")
    write_changes(producer, settings, 3, {"recipients": {"zoë@example.com": RECIPIENT,
                                                          "gone@example.com": None}})
    topics = {topic for topic, *_ in producer.records}
    assert topics == {"app-recipients-changelog"}
    assert {p for *_, p in producer.records} == {3}
    table = {"gone@example.com": {"soft_streak": 1}}
    for _, key, value, _ in producer.records:
        fold(table, key, value)
    assert table == {"zoë@example.com": RECIPIENT}


def test_keys_keep_the_bytes_older_changelogs_have():
    # Compaction matches keys by their bytes: a key must be written as json always wrote it.
    producer = RecordingProducer()
    write_changes(producer, Settings.load(env={}), 0, {"recipients": {"zoë@example.com": None}})
    assert producer.records[0][1] == b'"zo\\u00eb@example.com"'


def test_values_written_by_json_are_read_too():
    table: dict = {}
    fold(table, json.dumps("a@b.c").encode(), json.dumps(RECIPIENT).encode())
    assert table == {"a@b.c": RECIPIENT}
