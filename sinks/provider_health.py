"""Provider health read back from ClickHouse for the alert evaluator: the closed windows of a
``provider_health_*`` view per pair, and the evaluator's saved progress."""

from __future__ import annotations

from typing import Any

from streams.alerts import PAIR_TYPES, Window

VIEWS = {1: "provider_health_1m", 60: "provider_health_1h"}
KEY_SEPARATOR = "\x1f"  # joins (pair_type, pair, provider) in the saved alerting set


def horizon_ms(client: Any, database: str) -> int | None:
    """The latest event time written, in ms (None while the table is empty)."""
    rows = client.query(f"SELECT toUnixTimestamp64Milli(max(event_time)), count() "
                        f"FROM `{database}`.replies").result_rows
    return rows[0][0] if rows and rows[0][1] else None


def closed_windows(client: Any, database: str, minutes: int, after_ms: int,
                   until_ms: int) -> list[Window]:
    """Windows that start after ``after_ms`` and end by ``until_ms``, per pair, in order."""
    seconds = minutes * 60
    out = []
    for pair_type in PAIR_TYPES:
        result = client.query(
            f"SELECT toUnixTimestamp(window_start) * 1000 AS start, {pair_type}, provider, "
            f"sum(replies), sum(blocks), sum(deferrals), "
            f"argMax(top_reason, blocks + deferrals), argMax(top_bounce_text, blocks + deferrals) "
            f"FROM `{database}`.`{VIEWS[minutes]}` "
            f"WHERE start > {{after:Int64}} AND start + {seconds * 1000} <= {{until:Int64}} "
            f"GROUP BY start, {pair_type}, provider ORDER BY start, {pair_type}, provider",
            parameters={"after": after_ms, "until": until_ms},
        )
        out += [Window(pair_type, pair, provider, start, seconds, volume, blocks, deferrals,
                       reason, text)
                for start, pair, provider, volume, blocks, deferrals, reason, text
                in result.result_rows]
    out.sort(key=lambda w: (w.start_ms, w.key))
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
