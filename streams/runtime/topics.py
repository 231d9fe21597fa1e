"""Creates every bounceflow topic explicitly with the configured partition count: a topic that a
broker creates implicitly gets the broker's default count, and a partition would then hold
other addresses than its changelog."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.exceptions import BrokerError
from streams.kafka_config import confluent_config
from streams.settings import Settings
from streams.tracking.changelog import changelog_topic
from streams.tracking.state import TABLES

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings, timeout: float = 30.0,
                  extra: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Create the topics that do not exist yet; return the names created. ``extra``: a
    command's own topics and their configs (``bounceflow ingest smtp``'s mail topic)."""
    admin = AdminClient(confluent_config(settings))
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise BrokerError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from None
    # A dead letter is the raw input plus its reason, a classified reply the input plus its
    # classification: a little larger than the largest input. A record the broker refused
    # would leave a gap the tracking then skips (tracking/state.py: replies known by position).
    larger = {"max.message.bytes": str(settings.max_message_bytes)}
    config = {settings.topic_dead_letters: larger, settings.topic_repartition: larger,
              settings.topic_classified: larger, **(extra or {})}
    for table in TABLES:
        # Compaction keeps a key's value before the last marker until a restore has had time
        # to set back what a half-written checkpoint wrote after it (tracking/checkpoints.py).
        config[changelog_topic(settings, table)] = {"cleanup.policy": "compact",
                                                    "min.compaction.lag.ms": str(86_400_000)}
    names = [*settings.topics, *(extra or {}), settings.topic_repartition,
             *(changelog_topic(settings, t) for t in TABLES)]
    wanted = [t for t in names if t not in existing]
    for name in names:
        if name in existing and len(existing[name].partitions) != settings.partitions:
            raise BrokerError(
                f"topic {name} has {len(existing[name].partitions)} partitions, the configured "
                f"count is {settings.partitions}: set BOUNCEFLOW_PARTITIONS to match"
            )
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(t, settings.partitions, settings.replication_factor, config=config.get(t, {}))
         for t in wanted],
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
