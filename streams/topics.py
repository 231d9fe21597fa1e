"""Creates every bounceflow topic explicitly with the configured partition count: a topic that a
broker creates implicitly gets the broker's default count, and Faust then stops with
PartitionsMismatch."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from .exceptions import BrokerError
from .kafka_config import confluent_config
from .settings import Settings

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AdminClient(confluent_config(settings))
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise BrokerError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from None
    wanted = [t for t in settings.topics if t not in existing]
    for name in settings.topics:
        if name in existing and len(existing[name].partitions) != settings.partitions:
            raise BrokerError(
                f"topic {name} has {len(existing[name].partitions)} partitions, the configured "
                f"count is {settings.partitions}: set BOUNCEFLOW_PARTITIONS to match"
            )
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(t, settings.partitions, settings.replication_factor) for t in wanted],
        operation_timeout=timeout,
    )
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise BrokerError(f"cannot create topic {name}: {exc}") from None
        log.info("created topic %s with %d partitions", name, settings.partitions)
    return wanted
