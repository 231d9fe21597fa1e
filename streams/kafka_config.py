"""Kafka client configuration from the settings (TLS and SASL set here once for every client), and
the one way bounceflow produces a record."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Producer

from streams.settings import Settings


def confluent_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        conf.update({
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_sasl_username,
            "sasl.password": settings.kafka_sasl_password,
        })
    if settings.kafka_ssl_cafile:
        conf["ssl.ca.location"] = settings.kafka_ssl_cafile
    conf.update(extra)
    return conf


UNASSIGNED = -1  # librdkafka's RD_KAFKA_PARTITION_UA: the partitioner picks


def produce(producer: Producer, topic: str, key: bytes | None, value: bytes | None,
            partition: int = UNASSIGNED,
            headers: list[tuple[str, bytes]] | None = None) -> None:
    """Produce, waiting for room when the local queue is full (never drops)."""
    while True:
        try:
            # Positional, and headers only when there are some: confluent-kafka parses keyword
            # arguments per call, and this runs twice a reply.
            if headers:
                producer.produce(topic, value, key, partition, headers=headers)
            else:
                producer.produce(topic, value, key, partition)
            return
        except BufferError:
            producer.poll(0.05)
