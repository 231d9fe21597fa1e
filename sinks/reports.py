"""The reports' SQL (documented in docs/clickhouse.md). Filters are query parameters, never SQL
built from user strings; the grouping column comes from a fixed list. Every query reads ``FINAL``
so that a row written twice counts once (see ``ddl``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.exceptions import BounceflowError
from streams.ingest.validation import AFTER_DELIVERY

GROUP_COLUMNS = ("from_domain", "sending_ip")
REPORT_COLUMNS = ["sender", "recipient_domain", "bounce_text", "amount", "guessed"]
# Of a row's amount, the replies whose reason is a guess: not read from the text by a rule, but
# from the status table or the reply code, or none at all (docs/classification.md). An undeliv
# hook a version before the basis wrote has none (NULL) and does not count.
_GUESSED = "countIf(basis != 'text') AS guessed"


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    account: int | None = None
    campaign: int | None = None

    def where(self, time_column: str = "event_time") -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        if self.start is not None:
            clauses.append(f"{time_column} >= {{start:DateTime64(3, 'UTC')}}")
            params["start"] = self.start
        if self.end is not None:
            clauses.append(f"{time_column} < {{end:DateTime64(3, 'UTC')}}")
            params["end"] = self.end
        if self.account is not None:
            clauses.append("account_id = {account:Int64}")
            params["account"] = self.account
        if self.campaign is not None:
            clauses.append("campaign_id = {campaign:Int64}")
            params["campaign"] = self.campaign
        return (" AND ".join(clauses) or "1"), params


def bounces_sql(db: str, group_by: str, where: str) -> str:
    """The Bounces report: soft-bounce replies by sender, recipient domain and bounce text."""
    _check_group(group_by)
    return (
        f"SELECT {group_by} AS sender, recipient_domain, bounce_text, count() AS amount,\n"
        f"       {_GUESSED}\n"
        f"FROM `{db}`.replies FINAL\n"
        f"WHERE kind = 'soft' AND {where}\n"
        "GROUP BY sender, recipient_domain, bounce_text\n"
        "ORDER BY sender, amount DESC, recipient_domain, bounce_text"
    )


def undeliveries_sql(db: str, group_by: str, where: str) -> str:
    """The Undeliveries report: messages given up (undeliv hooks), by the last reply's sender,
    recipient domain and bounce text."""
    _check_group(group_by)
    return (
        f"SELECT {group_by} AS sender, recipient_domain, bounce_text, count() AS amount,\n"
        f"       {_GUESSED}\n"
        f"FROM `{db}`.hooks FINAL\n"
        f"WHERE event_type = 'undeliv' AND {where}\n"
        "GROUP BY sender, recipient_domain, bounce_text\n"
        "ORDER BY sender, amount DESC, recipient_domain, bounce_text"
    )


# Replies that arrived later, by mail (DSNs: streams/mail/), after the server had accepted.
_ASYNC = f"smtp_stage = '{AFTER_DELIVERY}'"


def summary_sql(db: str, where: str) -> list[str]:
    return [
        "SELECT count() AS replies, countIf(kind = 'delivered') AS delivered,\n"
        "       countIf(kind = 'soft') AS soft_bounces, countIf(kind = 'hard') AS hard_bounces,\n"
        f"       countIf(kind = 'soft' AND {_ASYNC}) AS async_soft_bounces,\n"
        f"       countIf(kind = 'hard' AND {_ASYNC}) AS async_hard_bounces,\n"
        "       uniqExact(message_id) AS messages\n"
        f"FROM `{db}`.replies FINAL WHERE {where}",
        # A message delivered and then bounced hard by mail (a DSN) is no longer delivered.
        "SELECT countIf(delivered AND NOT bounced_later) AS delivered_messages\n"
        "FROM (SELECT message_id, max(kind = 'delivered') AS delivered,\n"
        f"             max(kind = 'hard' AND {_ASYNC}) AS bounced_later\n"
        f"      FROM `{db}`.replies FINAL WHERE {where} GROUP BY message_id)",
        "SELECT countIf(event_type = 'undeliv') AS undelivered,\n"
        "       countIf(event_type = 'suppress') AS suppressed,\n"
        "       countIf(event_type = 'status') AS hard_bounced_profiles\n"
        f"FROM `{db}`.hooks FINAL WHERE {where}",
    ]


def _check_group(group_by: str) -> None:
    if group_by not in GROUP_COLUMNS:
        raise ValueError(f"group by must be one of {', '.join(GROUP_COLUMNS)}")


@dataclass(frozen=True)
class Report:
    title: str
    columns: list[str]
    rows: list[list[Any]]


def run_report(client: Any, db: str, kind: str, filters: Filters,
               group_by: str = "from_domain") -> Report:
    if not client.command(f"EXISTS TABLE `{db}`.hooks"):
        raise BounceflowError(
            f"no bounceflow tables in database {db}: has a worker written to this ClickHouse yet?"
        )
    where, params = filters.where()
    if kind == "summary":
        values: dict[str, Any] = {}
        for sql in summary_sql(db, where):
            result = client.query(sql, parameters=params)
            values.update(zip(result.column_names, result.result_rows[0]))
        dead = client.query(f"SELECT count() FROM `{db}`.dead_letters FINAL").result_rows[0][0]
        values["dead_letters"] = dead
        values.update(rates(values))
        return Report("Summary", list(values), [list(values.values())])
    sql = {"bounces": bounces_sql, "undeliveries": undeliveries_sql}[kind](db, group_by, where)
    result = client.query(sql, parameters=params)
    title = "Bounces (soft)" if kind == "bounces" else "Undeliveries"
    return Report(title, REPORT_COLUMNS, [list(r) for r in result.result_rows])


def rates(v: dict[str, Any]) -> dict[str, float]:
    def ratio(a: int, b: int) -> float:
        return round(a / b, 6) if b else 0.0

    return {
        "delivery_rate": ratio(v["delivered_messages"], v["messages"]),
        "hard_bounce_rate": ratio(v["hard_bounces"], v["replies"]),
        "soft_bounce_rate": ratio(v["soft_bounces"], v["replies"]),
        "undelivery_rate": ratio(v["undelivered"], v["messages"]),
    }
