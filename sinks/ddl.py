"""The ClickHouse tables (documented in the README). One row per classified reply, per action hook
and per dead letter. Each table's sorting key ends in the row's natural id (event_id, hook_id,
source offset) and the engine is ReplacingMergeTree, so a row written twice (a replayed event, a
re-emitted hook) is one row for every query that reads ``FINAL``: the reports are exact whatever
the delivery guarantee upstream. ``non_replicated_deduplication_window`` makes a retried insert
(same ``insert_deduplication_token``) a no-op, so duplicates do not even reach the merge.
"""

from __future__ import annotations

DEDUP_WINDOW = 10000

TABLES: dict[str, str] = {
    "replies": """
        event_id String,
        event_time DateTime64(3, 'UTC'),
        account_id Int64,
        list_id Nullable(Int64),
        campaign_id Nullable(Int64),
        message_id String,
        profile_id Nullable(String),
        email String,
        recipient_domain LowCardinality(String),
        from_domain LowCardinality(String),
        sending_ip LowCardinality(String),
        mx_host Nullable(String),
        attempt UInt16,
        final Bool,
        smtp_stage LowCardinality(Nullable(String)),
        reply_code Nullable(UInt16),
        enhanced_status LowCardinality(Nullable(String)),
        reply_text String,
        is_test Bool,
        kind LowCardinality(String),
        reason LowCardinality(String),
        suppress Bool,
        retry_after Nullable(UInt32),
        bounce_text String,
        rule LowCardinality(String),
        src_partition UInt32,
        src_offset UInt64
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(event_time)
    ORDER BY (account_id, toDate(event_time), event_id)""",
    "hooks": """
        hook_id String,
        event_type LowCardinality(String),
        event_time DateTime64(3, 'UTC'),
        account_id Int64,
        profile_id Nullable(String),
        list_id Nullable(Int64),
        campaign_id Nullable(Int64),
        sends_trying_num UInt16,
        is_test Bool,
        event_id String,
        message_id String,
        email String,
        recipient_domain LowCardinality(String),
        from_domain LowCardinality(String),
        sending_ip LowCardinality(String),
        reply_code Nullable(UInt16),
        enhanced_status LowCardinality(Nullable(String)),
        reason LowCardinality(Nullable(String)),
        bounce_text Nullable(String),
        retry_after Nullable(UInt32),
        status LowCardinality(Nullable(String)),
        cause LowCardinality(Nullable(String)),
        src_partition UInt32,
        src_offset UInt64
    ) ENGINE = ReplacingMergeTree
    ORDER BY (account_id, event_type, hook_id)""",
    "dead_letters": """
        source_topic LowCardinality(String),
        source_partition UInt32,
        source_offset UInt64,
        reason String,
        key Nullable(String),
        value Nullable(String),
        failed_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree
    ORDER BY (source_topic, source_partition, source_offset)""",
}


def statements(database: str, table: str) -> list[str]:
    """The DDL that creates one table (and its database) if it does not exist."""
    return [
        f"CREATE DATABASE IF NOT EXISTS `{database}`",
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table}` ({TABLES[table]}"
        f"\n    SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}",
    ]


def columns(table: str) -> list[str]:
    body = TABLES[table].split(") ENGINE")[0]
    return [line.split()[0] for line in body.strip().splitlines() if line.strip()]
