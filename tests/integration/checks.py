"""What "exact" means, checked against the real topics and chDB after a run: the reports equal
the plain reference for the produced stream, every expected hook id was emitted (duplicates only
as identical copies), and the Faust tables hold the right suppression list and attempt counts."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from sinks.clickhouse import connect
from streams.classify.classifier import Classifier
from streams.ingest.codec import HOOK, SMTP_REPLY
from streams.kafka_config import confluent_config
from streams.local.reference import SUMMARY_KEYS, expected
from streams.local.synth import generate
from streams.runtime.progress import committed
from streams.settings import Settings
from streams.tracking.changelog import changelog_topic, fold
from tests.conftest import Worker, jsonl, report_json, run_cli


def read_topic(settings: Settings, topic: str, idle_s: float = 2.0) -> list[Any]:
    """Every record of every partition of ``topic``, read until nothing arrives for ``idle_s``
    (not up to the high watermark, which the local broker under-reports)."""
    consumer = Consumer(confluent_config(settings, **{"group.id": "checks"}))
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                     for p in range(settings.partitions)])
    out = []
    try:
        while batch := consumer.consume(10000, timeout=idle_s):
            out.extend(m for m in batch if not m.error())
    finally:
        consumer.close()
    return out


def produce_elsewhere(settings: Settings, events: list[dict[str, Any]]) -> None:
    """Keyed by address but spread by librdkafka's own partitioner (CRC32), as a producer that
    is not a Java client may do: most replies are not on their state's partition and take the
    round trip through the repartition topic."""
    producer = Producer(confluent_config(settings, partitioner="consistent_random"))
    for e in events:
        producer.produce(settings.topic_replies, SMTP_REPLY.encode(e),
                         e["email"].strip().lower().encode())
    producer.flush()


def table_state(settings: Settings, table: str) -> dict[str, Any]:
    """A Faust table's final contents, rebuilt from its changelog topic."""
    state: dict[str, Any] = {}
    for msg in read_topic(settings, changelog_topic(settings, table)):
        fold(state, msg.key(), msg.value())
    return state


def assert_exact(settings: Settings, want: dict[str, Any]) -> None:
    summary = report_json(settings, "summary")
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: want["summary"][k] for k in SUMMARY_KEYS}
    for kind in ("bounces", "undeliveries"):
        for group in ("from_domain", "sending_ip"):
            rows = report_json(settings, kind, "--group-by", group)
            got = Counter({(r["sender"], r["recipient_domain"], r["bounce_text"]): r["amount"]
                           for r in rows})
            assert got == want[kind][group], (kind, group)
            guessed = Counter({(r["sender"], r["recipient_domain"], r["bounce_text"]):
                               r["guessed"] for r in rows})
            assert +guessed == want["guessed"][kind][group], (kind, group, "guessed")

    copies: dict[str, set[str]] = {}
    for msg in read_topic(settings, settings.topic_hooks):
        hook = HOOK.decode(msg.value())
        copies.setdefault(hook["hook_id"], set()).add(json.dumps(hook, sort_keys=True))
    assert set(copies) == want["hook_ids"]
    assert [h for h, versions in copies.items() if len(versions) > 1] == []
    client, db = connect(settings.clickhouse_dsn)
    try:
        stored = client.query(f"SELECT hook_id FROM `{db}`.hooks FINAL").result_rows
    finally:
        client.close()
    assert sorted(r[0] for r in stored) == sorted(want["hook_ids"])

    recipients = table_state(settings, "recipients")
    assert {k for k, v in recipients.items() if v["suppressed_by"]} == \
        want["suppressed_addresses"]
    pending = table_state(settings, "messages")
    assert {k: v["attempts"] for k, v in pending.items()} == want["pending_attempts"]


def wait_until(condition, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


def kill_at_first_commit(settings: Settings, worker: Worker, topic: str) -> int:
    """kill -9 the worker at the first commit seen on ``topic``; return the records of
    ``topic`` it had committed."""
    wait_until(lambda: committed(settings, [topic])[topic] > 0, timeout=120, interval=0.02)
    worker.process.kill()
    worker.process.wait()
    return committed(settings, [topic])[topic]


def kill_mid_stream(settings: Settings, start: Callable[[Settings], Worker], replies: int,
                    seed: int, tmp_path: Path) -> tuple[Worker, dict[str, Any], int]:
    """Produce ``replies``, start a worker and kill -9 it at the first commit seen; return it,
    the expected reports and state, and the replies it had committed. The stream is long enough
    that a worker several times faster than this machine's is still mid-stream then (12,000 was
    not, in CI); small checkpoints (``sink_batch_size``) put the kill between two of them."""
    events = list(generate(replies, seed=seed))
    done = run_cli(settings, "produce", str(jsonl(events, tmp_path / "events.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    want = expected(events, Classifier(settings.policy), settings.max_attempts)

    worker = start(settings)
    tracked = kill_at_first_commit(settings, worker, settings.topic_replies)
    print(f"killed with {tracked} of {replies} replies committed")
    assert tracked < replies, "the kill came too late to test anything"
    return worker, want, tracked
