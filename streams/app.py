"""Builds the Faust App from the settings. Only construction: topics, tables and agents are
declared in their own modules (``agents.py``) against the app this returns."""

from __future__ import annotations

from pathlib import Path

import faust

from .kafka_config import faust_credentials
from .settings import Settings


def build_app(settings: Settings) -> faust.App:
    session = settings.session_timeout_s
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=str(Path(settings.data_dir) / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session,
        broker_heartbeat_interval=max(0.5, session / 5),
        broker_rebalance_timeout=max(5.0, session * 0.8),
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_host="127.0.0.1",
        # Our agents decode Avro themselves so that bad input becomes a dead letter, not a crash.
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
    )
