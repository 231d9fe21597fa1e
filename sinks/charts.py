"""The report pages' own queries: counts over time for their charts and the provider-health
alerts. As in ``reports.py``, filters are query parameters and every read is ``FINAL``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# Bucket widths a chart over time may use (seconds): the first that fits the period into
# MAX_BUCKETS bars.
STEPS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
MAX_BUCKETS = 60
# What a page's chart over time counts: (table, the column that names the kind, the kinds).
TIMELINES = {
    "bounces": ("replies", "kind", ("soft", "hard")),
    "undeliveries": ("hooks", "event_type", ("undeliv",)),
    "summary": ("replies", "kind", ("delivered", "soft", "hard")),
}


def step_for(span_s: float) -> int:
    return next((s for s in STEPS if span_s / s < MAX_BUCKETS), STEPS[-1])


def timeline(client: Any, db: str, page: str, where: str, params: dict[str, Any]
             ) -> tuple[int, list[tuple[datetime, str, int]]]:
    """The bucket width (seconds) and, per bucket start and kind, the count of the page's
    events matching ``where``: (bucket start, kind, count), oldest first."""
    table, column, kinds = TIMELINES[page]
    scope = f"FROM `{db}`.{table} FINAL WHERE {column} IN {{kinds:Array(String)}} AND {where}"
    params = {**params, "kinds": list(kinds)}
    first, last, count = client.query(
        f"SELECT toUnixTimestamp(min(event_time)), toUnixTimestamp(max(event_time)), count() "
        f"{scope}", parameters=params).result_rows[0]
    if not count:
        return STEPS[0], []
    step = step_for(last - first)
    rows = client.query(
        f"SELECT intDiv(toUnixTimestamp(event_time), {{step:UInt32}}) * {{step:UInt32}} AS t, "
        f"{column}, count() {scope} GROUP BY t, {column} ORDER BY t, {column}",
        parameters={**params, "step": step}).result_rows
    return step, [(datetime.fromtimestamp(t, tz=timezone.utc), kind, n) for t, kind, n in rows]


ALERT_COLUMNS = ("event_time", "event_type", "provider", "sending_ip", "from_domain", "reason",
                 "alert_rate", "alert_volume", "alert_action")


def alerts(client: Any, db: str, last: int) -> list[dict[str, Any]]:
    """The ``last`` alert and recovered hooks, newest first."""
    result = client.query(
        f"SELECT {', '.join(ALERT_COLUMNS)} FROM `{db}`.hooks FINAL "
        "WHERE event_type IN ('alert', 'recovered') ORDER BY event_time DESC, hook_id "
        "LIMIT {last:UInt32}", parameters={"last": last})
    return [dict(zip(ALERT_COLUMNS, row)) for row in result.result_rows]
