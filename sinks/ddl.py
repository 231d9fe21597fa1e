"""The ClickHouse tables (documented in docs/clickhouse.md). One row per classified reply, per
action hook and per dead letter. Each table's sorting key ends in the row's natural id (event_id,
hook_id, source offset) and the engine is ReplacingMergeTree, so a row written twice (a replayed
event, a re-emitted hook) is one row for every query that reads ``FINAL``: the reports are exact
whatever the delivery guarantee upstream. ``non_replicated_deduplication_window`` makes a retried
insert (same ``insert_deduplication_token``) a no-op, so duplicates do not even reach the merge.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEDUP_WINDOW = 10000

# Merges of 32,768 rows or more go one column at a time (ClickHouse's default: 131,072). A
# horizontal merge of these ~30-column parts holds every column's buffers at once, which on chDB
# is the worker's memory. Vertical merges of every size saved a little more but cost enough CPU
# to double the hook latency after a backlog.
# A merge waits until the parts it joins add up to 40 times the largest of them (ClickHouse's
# default: 5), so a row is rewritten by fewer merges: on chDB merges run in the worker's process
# and took CPU from the engines. Tables keep more parts, and the reports take as long. A merge
# joins at most 100 parts (max_parts_to_merge_at_once), so the count stays bounded far below
# parts_to_delay_insert (1,000). Figures: docs/performance-history.md.
TABLE_SETTINGS = {
    "non_replicated_deduplication_window": DEDUP_WINDOW,
    "vertical_merge_algorithm_min_rows_to_activate": 32768,
    "vertical_merge_algorithm_min_columns_to_activate": 1,
    "merge_selector_base": 40,
}

@dataclass(frozen=True)
class Table:
    """A table's columns, (name, ClickHouse type) in order, and its engine clause: the one
    declaration that the DDL, the inserts' column lists and the row encoders are made from."""

    columns: tuple[tuple[str, str], ...]
    engine: str

    def ddl(self) -> str:
        """What follows ``CREATE TABLE name (``."""
        body = ",\n".join(f"    `{name}` {kind}" for name, kind in self.columns)
        return f"\n{body}\n) ENGINE = {self.engine}"


def _without_low_cardinality(kind: str) -> str:
    prefix = "LowCardinality("
    return kind[len(prefix):-1] if kind.startswith(prefix) else kind


TABLES: dict[str, Table] = {
    "replies": Table(
        (
            ("event_id", "String"),
            ("event_time", "DateTime64(3, 'UTC')"),
            ("account_id", "Int64"),
            ("list_id", "Nullable(Int64)"),
            ("campaign_id", "Nullable(Int64)"),
            ("message_id", "String"),
            ("profile_id", "Nullable(String)"),
            ("email", "String"),
            ("recipient_domain", "LowCardinality(String)"),
            ("provider", "LowCardinality(String)"),
            ("from_domain", "LowCardinality(String)"),
            ("sending_ip", "LowCardinality(String)"),
            ("mx_host", "Nullable(String)"),
            ("attempt", "UInt16"),
            ("final", "Bool"),
            ("smtp_stage", "LowCardinality(Nullable(String))"),
            ("reply_code", "Nullable(UInt16)"),
            ("enhanced_status", "LowCardinality(Nullable(String))"),
            ("reply_text", "String"),
            ("is_test", "Bool"),
            ("kind", "LowCardinality(String)"),
            ("reason", "LowCardinality(String)"),
            ("suppress", "Bool"),
            ("retry_after", "Nullable(UInt32)"),
            ("bounce_text", "String"),
            ("rule", "LowCardinality(String)"),
            ("basis", "LowCardinality(String)"),
            ("src_partition", "UInt32"),
            ("src_offset", "UInt64"),
        ),
        "ReplacingMergeTree PARTITION BY toYYYYMM(event_time) "
        "ORDER BY (account_id, toDate(event_time), event_id)",
    ),
    "hooks": Table(
        (
            ("hook_id", "String"),
            ("event_type", "LowCardinality(String)"),
            ("event_time", "DateTime64(3, 'UTC')"),
            ("account_id", "Int64"),
            ("profile_id", "Nullable(String)"),
            ("list_id", "Nullable(Int64)"),
            ("campaign_id", "Nullable(Int64)"),
            ("sends_trying_num", "UInt16"),
            ("is_test", "Bool"),
            ("event_id", "String"),
            ("message_id", "String"),
            ("email", "String"),
            ("recipient_domain", "LowCardinality(String)"),
            ("from_domain", "LowCardinality(String)"),
            ("sending_ip", "LowCardinality(String)"),
            ("reply_code", "Nullable(UInt16)"),
            ("enhanced_status", "LowCardinality(Nullable(String))"),
            ("reason", "LowCardinality(Nullable(String))"),
            ("bounce_text", "Nullable(String)"),
            ("retry_after", "Nullable(UInt32)"),
            ("status", "LowCardinality(Nullable(String))"),
            ("cause", "LowCardinality(Nullable(String))"),
            ("provider", "LowCardinality(String)"),
            ("alert_rate", "Nullable(Float64)"),
            ("alert_volume", "Nullable(UInt64)"),
            ("alert_action", "LowCardinality(Nullable(String))"),
            ("async", "Bool"),
            ("basis", "LowCardinality(Nullable(String))"),
            ("src_partition", "UInt32"),
            ("src_offset", "UInt64"),
        ),
        "ReplacingMergeTree ORDER BY (account_id, event_type, hook_id)",
    ),
    # The provider-health alert evaluator's progress: one row, the latest wins.
    "alert_state": Table(
        (
            ("evaluated_upto", "Int64"),
            ("alerting", "Array(String)"),
        ),
        "ReplacingMergeTree(evaluated_upto) ORDER BY tuple()",
    ),
    "dead_letters": Table(
        (
            ("source_topic", "LowCardinality(String)"),
            ("source_partition", "UInt32"),
            ("source_offset", "UInt64"),
            ("reason", "String"),
            ("key", "Nullable(String)"),
            ("value", "Nullable(String)"),
            ("failed_at", "DateTime64(3, 'UTC')"),
        ),
        "ReplacingMergeTree ORDER BY (source_topic, source_partition, source_offset)",
    ),
}


# Hooks are inserted as their Avro records (the bytes produced to action-hooks, ``avro_rows.py``)
# into a Null table whose materialized view writes the hooks table: ClickHouse flattens the
# record, parses the time and unpacks the alert in C++, not in the worker's Python. Avro input
# names a nested record's fields ``event_data.email``; the alert, a record or null, is a Tuple
# whose fields are empty for null (an alert's action never is). The hooks table stays the
# documented contract. Replies go the same way, into their table's columns with LowCardinality(T)
# as T: ClickHouse's Avro input fills a LowCardinality column value by value, the view's cast a
# block at once (the LowCardinality columns were a third of the insert).
INPUTS = {"hooks": "hooks_in", "replies": "replies_in"}
_ALERT = ("Tuple(provider String, pair_type String, pair String, window_start String, "
          "window_seconds Int32, volume Int64, blocks Int64, deferrals Int64, rate Float64, "
          "action String)")
INPUT_TABLES = {
    "hooks_in": Table(
        (
            ("hook_id", "String"),
            ("event_type", "String"),
            ("event_date", "String"),
            ("account_id", "Int64"),
            ("profile_id", "Nullable(String)"),
            ("list_id", "Nullable(Int64)"),
            ("sends_trying_num", "Int32"),
            ("is_test", "Bool"),
            ("event_data.event_id", "String"),
            ("event_data.message_id", "String"),
            ("event_data.campaign_id", "Nullable(Int64)"),
            ("event_data.email", "String"),
            ("event_data.recipient_domain", "String"),
            ("event_data.from_domain", "String"),
            ("event_data.sending_ip", "String"),
            ("event_data.reply_code", "Nullable(Int32)"),
            ("event_data.enhanced_status", "Nullable(String)"),
            ("event_data.reason", "Nullable(String)"),
            ("event_data.bounce_text", "Nullable(String)"),
            ("event_data.retry_after", "Nullable(Int32)"),
            ("event_data.status", "Nullable(String)"),
            ("event_data.cause", "Nullable(String)"),
            ("event_data.alert", _ALERT),
            ("event_data.async", "Bool"),
            ("event_data.reason_basis", "Nullable(String)"),
            ("src_partition", "UInt32"),
            ("src_offset", "UInt64"),
        ),
        "Null",
    ),
    "replies_in": Table(tuple((name, _without_low_cardinality(kind))
                              for name, kind in TABLES["replies"].columns), "Null"),
}
_HOOKS_SELECT = """WITH tupleElement(`event_data.alert`, 'action') = '' AS no_alert
    SELECT hook_id, event_type,
           parseDateTime64BestEffort(event_date, 3, 'UTC') AS event_time,
           account_id, profile_id, list_id, `event_data.campaign_id` AS campaign_id,
           sends_trying_num, is_test, `event_data.event_id` AS event_id,
           `event_data.message_id` AS message_id, `event_data.email` AS email,
           `event_data.recipient_domain` AS recipient_domain,
           `event_data.from_domain` AS from_domain, `event_data.sending_ip` AS sending_ip,
           `event_data.reply_code` AS reply_code, `event_data.enhanced_status` AS enhanced_status,
           `event_data.reason` AS reason, `event_data.bounce_text` AS bounce_text,
           `event_data.retry_after` AS retry_after, `event_data.status` AS status,
           `event_data.cause` AS cause,
           tupleElement(`event_data.alert`, 'provider') AS provider,
           if(no_alert, NULL, tupleElement(`event_data.alert`, 'rate')) AS alert_rate,
           if(no_alert, NULL, tupleElement(`event_data.alert`, 'volume')) AS alert_volume,
           nullIf(tupleElement(`event_data.alert`, 'action'), '') AS alert_action,
           `event_data.async` AS async, `event_data.reason_basis` AS basis,
           src_partition, src_offset
    FROM `{database}`.hooks_in"""
# The SELECT of each input table's view, which writes the table INPUTS names it for.
INPUT_VIEWS = {"hooks_in": _HOOKS_SELECT, "replies_in": "SELECT * FROM `{database}`.replies_in"}

# A reply's basis as the classifier names its rule (docs/classification.md): the value of the
# replies written before the basis column (or by an older worker during an upgrade), so that
# the reports count their guesses too.
_BASIS_OF_RULE = ("multiIf(rule LIKE 'status:%', 'status', rule LIKE 'code:%' OR rule = "
                  "'delivered', 'code', rule = 'undefined', 'none', rule = 'words', 'words', "
                  "'text')")

# Columns added after a table was first released: (table, column, type, after). A table created
# by an older version gains them at the next start, so inserts naming them do not fail; the
# type's DEFAULT, if any, is what the rows written before hold.
ADDED_COLUMNS = (
    ("replies", "provider", "LowCardinality(String)", "recipient_domain"),
    ("hooks", "provider", "LowCardinality(String)", "cause"),
    ("hooks", "alert_rate", "Nullable(Float64)", "provider"),
    ("hooks", "alert_volume", "Nullable(UInt64)", "alert_rate"),
    ("hooks", "alert_action", "LowCardinality(Nullable(String))", "alert_volume"),
    ("hooks", "async", "Bool", "alert_action"),
    ("hooks_in", "event_data.async", "Bool", "event_data.alert"),
    ("replies", "basis", f"LowCardinality(String) DEFAULT {_BASIS_OF_RULE}", "rule"),
    ("replies_in", "basis", f"String DEFAULT {_BASIS_OF_RULE}", "rule"),
    ("hooks", "basis", "LowCardinality(Nullable(String))", "async"),
    ("hooks_in", "event_data.reason_basis", "Nullable(String)", "event_data.async"),
)

# Provider health, per sending IP, from domain and recipient provider, in tumbling windows of event
# time: what a deliverability team watches ("slow down from this IP at Gmail"). Views over the
# replies, so any period can be queried with SQL and the figures equal the reports.
HEALTH_WINDOWS = {1: ("provider_health_1m", "toStartOfMinute"),
                  60: ("provider_health_1h", "toStartOfHour")}  # minutes -> (view, window start)


def statements(database: str, table: str) -> list[str]:
    """The DDL that creates one table (and its database and views) if it does not exist."""
    settings = ", ".join(f"{k} = {v}" for k, v in TABLE_SETTINGS.items())
    out = [
        f"CREATE DATABASE IF NOT EXISTS `{database}`",
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table}` ({TABLES[table].ddl()}"
        f"\n    SETTINGS {settings}",
        # A table created by an older version takes the current settings too.
        f"ALTER TABLE `{database}`.`{table}` MODIFY SETTING {settings}",
    ]
    out += _added_columns(database, table)
    if table in INPUTS:
        # IF NOT EXISTS, not replaced: another engine may be inserting through it right now.
        source = INPUTS[table]
        out += [f"CREATE TABLE IF NOT EXISTS `{database}`.`{source}` ({INPUT_TABLES[source].ddl()}",
                *_added_columns(database, source),
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{input_view(source)}` "
                f"TO `{database}`.`{table}` AS\n    "
                + INPUT_VIEWS[source].format(database=database)]
    return out


def _added_columns(database: str, table: str) -> list[str]:
    return [f"ALTER TABLE `{database}`.`{table}` ADD COLUMN IF NOT EXISTS `{column}` {kind} "
            f"AFTER `{after}`" for t, column, kind, after in ADDED_COLUMNS if t == table]


def input_view(source: str) -> str:
    """The name of an input table's view: the definition's digest is part of it, so a version that
    changes the SELECT creates its own view beside the old one instead of keeping the old SELECT.
    Both write while they overlap; the tables' keys fold what both wrote."""
    digest = hashlib.blake2b(INPUT_VIEWS[source].encode(), digest_size=4).hexdigest()
    return f"{source}_mv_{digest}"


def stale_views(source: str, views: Iterable[str]) -> list[str]:
    """Of an input table's existing views, those an older version created: to drop once the
    current one is in place."""
    return [v for v in views if v.startswith(f"{source}_mv") and v != input_view(source)]


def health_views(database: str, pushback: Sequence[str]) -> list[str]:
    """The provider-health views over the replies table (after its ``statements``). ``pushback``
    is the reasons counted as blocks and deferrals (the classifier's ``sender_pushback`` group),
    when a rule, status or code named them: an alert never rests on the word model's guess.
    Replaced at every start: a view holds no data, and its definition follows the version."""
    return [f"CREATE OR REPLACE VIEW `{database}`.`{name}` AS\n"
            + health_select(database, window_start, pushback)
            for name, window_start in HEALTH_WINDOWS.values()]


def health_select(database: str, window_start: str, pushback: Sequence[str],
                  where: str = "1") -> str:
    """The provider-health aggregation over the replies whose rows match ``where``: the body of
    the views, and what the alert evaluator runs with an event-time range (so that ClickHouse
    reads only the partitions of that range)."""
    pushback = ", ".join(f"'{r}'" for r in pushback)
    return f"""SELECT {window_start}(event_time) AS window_start, sending_ip, from_domain, provider,
           count() AS replies,
           countIf(kind = 'delivered') AS delivered,
           countIf(kind = 'soft') AS soft_bounces,
           countIf(kind = 'hard') AS hard_bounces,
           countIf(kind = 'hard' AND reason IN ({pushback}) AND basis != 'words') AS blocks,
           countIf(kind = 'soft' AND reason IN ({pushback}) AND basis != 'words') AS deferrals,
           {_most_common_bounce("reason")} AS top_reason,
           {_most_common_bounce("bounce_text")} AS top_bounce_text
    FROM `{database}`.replies FINAL
    WHERE {where}
    GROUP BY window_start, sending_ip, from_domain, provider"""


def _most_common_bounce(column: str) -> str:
    """The value of ``column`` most bounces of the group have; ties go to the smallest value.
    Exact and deterministic, unlike topK, whose state cost about 7 KB per group (1.2 GB for
    the 75,000 groups of 325,000 replies; this takes 0.2 GB)."""
    counts = f"sumMapIf([{column}], [toUInt64(1)], kind != 'delivered')"
    values, totals = f"({counts}).1", f"({counts}).2"
    return f"if(empty({values}), '', {values}[indexOf({totals}, arrayMax({totals}))])"


def columns(table: str) -> list[str]:
    return [name for name, _kind in {**TABLES, **INPUT_TABLES}[table].columns]


def column_types(table: str) -> list[str]:
    return [kind for _name, kind in {**TABLES, **INPUT_TABLES}[table].columns]
