"""``bounceflow produce``: JSON Lines of SmtpReply objects -> Avro -> Kafka, keyed by recipient.
A bad line is reported with its number and why; the good lines are still sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Producer

from streams.ingest.codec import SMTP_REPLY
from streams.ingest.json_reply import parse_line
from streams.kafka_config import confluent_config
from streams.kafka_config import produce as send
from streams.settings import Settings


@dataclass
class ProduceResult:
    sent: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # delivery failures reported by Kafka


def records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | ValueError]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, parse_line(line)
        except ValueError as exc:
            yield number, exc


def reply_producer(settings: Settings, failed: list[str], **extra: Any) -> Producer:
    """The producer of SmtpReply records (``send_reply``) and of what goes with them; Kafka's
    delivery failures are appended to ``failed``. ``extra``: librdkafka settings added or
    replaced (e.g. ``message.max.bytes``)."""

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            failed.append(f"{msg.topic()}: {err}")

    return Producer(confluent_config(settings, **{
        "linger.ms": 20, "acks": "all", "on_delivery": delivered,
        "delivery.report.only.error": True,
        # The Java client's partitioner: a worker then tracks each reply where it reads it,
        # without a round trip through the repartition topic (engine.py).
        "partitioner": "murmur2_random", **extra}))


def send_reply(producer: Producer, topic: str, record: dict[str, Any]) -> None:
    """One SmtpReply as Avro, keyed by its recipient address."""
    send(producer, topic, record["email"].strip().lower().encode(), SMTP_REPLY.encode(record))


def produce(
    settings: Settings,
    lines: Iterable[str],
    on_progress: Callable[[int], None] | None = None,
) -> ProduceResult:
    result = ProduceResult()
    producer = reply_producer(settings, result.failed)
    for number, record in records(lines):
        if isinstance(record, ValueError):
            result.bad.append((number, str(record)))
            continue
        send_reply(producer, settings.topic_replies, record)
        result.sent += 1
        if on_progress and result.sent % 1000 == 0:
            on_progress(result.sent)
        producer.poll(0)
    producer.flush()
    if on_progress:
        on_progress(result.sent)
    return result
