"""The provider-health views on chDB: what they count as the receiver pushing back."""

from __future__ import annotations

from pathlib import Path

from sinks.clickhouse import connect
from sinks.ddl import health_views, statements
from streams.alerts.machine import SENDER_PUSHBACK


def test_a_guessed_reason_is_no_block_nor_deferral(tmp_path: Path) -> None:
    client, db = connect(f"chdb://{tmp_path}/chdb")
    try:
        for statement in [*statements(db, "replies"), *health_views(db, SENDER_PUSHBACK)]:
            client.command(statement)
        rows = [  # (event id, kind, reason, basis)
            ("a", "hard", "blocked", "text"), ("b", "hard", "blocked", "words"),
            ("c", "soft", "speeding", "status"), ("d", "soft", "speeding", "words"),
            ("e", "hard", "userunknown", "text"),
        ]
        client.command(
            f"INSERT INTO `{db}`.replies (event_id, event_time, email, provider, from_domain, "
            "sending_ip, kind, reason, basis) VALUES " + ", ".join(
                f"('{e}', '2026-12-01 10:00:00', 'u@example.com', 'other', 'example.org', "
                f"'192.0.2.1', '{kind}', '{reason}', '{basis}')"
                for e, kind, reason, basis in rows))
        got = client.query(f"SELECT replies, hard_bounces, soft_bounces, blocks, deferrals "
                           f"FROM `{db}`.provider_health_1h").result_rows
    finally:
        client.close()
    assert {"blocked", "speeding"} <= set(SENDER_PUSHBACK)
    assert got == [(5, 3, 2, 1, 1)]
