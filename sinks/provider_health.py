"""Provider health read back from ClickHouse for the alert evaluator: the closed windows of a
``provider_health_*`` view per pair, and the evaluator's saved progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sinks.ddl import HEALTH_WINDOWS, health_select

KEY_SEPARATOR = "\x1f"  # joins (pair_type, pair, provider) in the saved alerting set


def latest_by_partition(client: Any, database: str, since_ms: int,
                        before_ms: int | None = None) -> dict[int, int]:
    """The latest event time written per partition (the rows' ``src_partition``: the state
    partition that tracked the reply) at or after ``since_ms`` and before ``before_ms``: the
    range keeps ClickHouse to the newest partitions."""
    before = "" if before_ms is None else \
        "AND event_time < fromUnixTimestamp64Milli({before:Int64}) "
    rows = client.query(
        f"SELECT src_partition, toUnixTimestamp64Milli(max(event_time)) "
        f"FROM `{database}`.replies "
        f"WHERE event_time >= fromUnixTimestamp64Milli({{since:Int64}}) {before}"
        f"GROUP BY src_partition",
        parameters={"since": max(since_ms, 0),
                    **({} if before_ms is None else {"before": before_ms})},
    ).result_rows
    return dict(rows)


def closed_windows(client: Any, database: str, minutes: int, after_ms: int, until_ms: int,
                   pair_types: Sequence[str], pushback: Sequence[str]) -> list[tuple[Any, ...]]:
    """Windows that start after ``after_ms`` and end by ``until_ms``, per pair, as rows of
    (pair_type, pair, provider, start_ms, seconds, replies, blocks, deferrals, top reason, top
    bounce text): the fields of the alert machine's ``Window``."""
    seconds = minutes * 60
    out: list[tuple[Any, ...]] = []
    for pair_type in pair_types:
        # Whole windows after `after` that end by `until`, read by event-time range.
        in_range = ("event_time >= fromUnixTimestamp64Milli({first:Int64}) "
                    "AND event_time < fromUnixTimestamp64Milli({end:Int64})")
        first = (after_ms // (seconds * 1000) + 1) * seconds * 1000 if after_ms >= 0 else 0
        end = until_ms // (seconds * 1000) * seconds * 1000
        if end <= first:
            continue
        result = client.query(
            f"SELECT toUnixTimestamp(window_start) * 1000 AS start, {pair_type}, provider, "
            f"sum(replies), sum(blocks), sum(deferrals), "
            f"argMax(top_reason, (blocks + deferrals, top_reason)), "
            f"argMax(top_bounce_text, (blocks + deferrals, top_bounce_text)) "
            f"FROM ({health_select(database, HEALTH_WINDOWS[minutes][1], pushback, in_range)}) "
            f"GROUP BY start, {pair_type}, provider ORDER BY start, {pair_type}, provider",
            parameters={"first": first, "end": end},
        )
        out += [(pair_type, pair, provider, start, seconds, volume, blocks, deferrals, reason,
                 text)
                for start, pair, provider, volume, blocks, deferrals, reason, text
                in result.result_rows]
    return out


def load_state(client: Any, database: str) -> tuple[int, set[tuple[str, str, str]]]:
    rows = client.query(f"SELECT evaluated_upto, alerting FROM `{database}`.alert_state FINAL"
                        ).result_rows
    if not rows:
        return -1, set()
    upto, alerting = rows[0]
    return upto, {tuple(k.split(KEY_SEPARATOR)) for k in alerting}  # type: ignore[misc]


def save_state(client: Any, database: str, upto: int,
               alerting: set[tuple[str, str, str]]) -> None:
    client.insert(f"`{database}`.alert_state",
                  [[upto, sorted(KEY_SEPARATOR.join(k) for k in alerting)]],
                  column_names=["evaluated_upto", "alerting"], settings={"async_insert": 0})


def recent_windows(client: Any, database: str, minutes: int, filters: dict[str, str],
                   last: int) -> list[dict[str, Any]]:
    """The ``last`` windows (closed and current) of the view, newest first, for the pairs that
    match ``filters`` (any of provider, sending_ip, from_domain), summed over what is not
    filtered on."""
    where = " AND ".join(f"{column} = {{{column}:String}}" for column in filters) or "1"
    result = client.query(
        f"SELECT window_start, sum(replies) AS replies, sum(delivered) AS delivered, "
        f"sum(soft_bounces) AS soft_bounces, sum(hard_bounces) AS hard_bounces, "
        f"sum(blocks) AS blocks, sum(deferrals) AS deferrals, "
        f"argMax(top_reason, (blocks + deferrals, top_reason)) AS top_reason "
        f"FROM `{database}`.`{HEALTH_WINDOWS[minutes][0]}` WHERE {where} "
        f"GROUP BY window_start ORDER BY window_start DESC LIMIT {int(last)}",
        parameters=filters,
        # the sums are named after the view's columns that argMax weighs by
        settings={"prefer_column_name_to_alias": 1},
    )
    return [dict(zip(result.column_names, row)) for row in result.result_rows]


def suppression(client: Any, database: str, email: str) -> dict[str, Any]:
    """Whether an address is suppressed, and by which event (from the committed hooks)."""
    rows = client.query(
        f"SELECT event_id, event_time, cause FROM `{database}`.hooks FINAL "
        f"WHERE email = {{email:String}} AND event_type = 'status' ORDER BY event_time LIMIT 1",
        parameters={"email": email.strip().lower()},
    ).result_rows
    if not rows:
        return {"email": email, "suppressed": False}
    event_id, at, cause = rows[0]
    return {"email": email, "suppressed": True, "suppressed_by": event_id,
            "since": at.isoformat(), "cause": cause or "hard_bounce"}
