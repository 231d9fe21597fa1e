"""Faults injected into a running engine or deliverer (issue 34): ClickHouse errors while alerts
are evaluated, a stop while ClickHouse is down, deliverer threads that fail. None of them may stop
the stream, hang the stop, lose or double a record, or pass unseen in the health figures."""

from __future__ import annotations

import logging

import pytest

from sinks.clickhouse import connect
from streams.runtime.progress import wait_drained
from streams.runtime.topics import ensure_topics
from tests.integration.checks import wait_until
from tests.integration.test_provider_health import alert_hooks, health_stream
from tests.integration.test_rebalance_and_sink_failure import EngineThread, produce

pytestmark = pytest.mark.integration


def test_alert_evaluation_survives_clickhouse_errors(settings_factory, tmp_path, caplog):
    """The evaluator's progress table is detached, then refuses inserts: every check fails and
    is counted, the stream goes on, and the alert and its recovery are emitted once each."""
    settings = settings_factory(alert_check_s=0.3, alert_grace_s=0, alert_min_volume=40)
    ensure_topics(settings)
    events = health_stream()
    produce(settings, events, tmp_path, "e.jsonl")
    engine = EngineThread(settings)
    client, db = connect(settings.clickhouse_dsn)
    try:
        with caplog.at_level(logging.ERROR, logger="bounceflow"):
            # It cannot read its progress: nothing is evaluated, the stream is not held up.
            client.command(f"DETACH TABLE `{db}`.alert_state")
            wait_drained(settings, len(events), lambda: engine.thread.is_alive(), timeout=120)
            wait_until(lambda: engine.health.alert_failures >= 2 or engine.error, 60)
            assert engine.error is None, engine.error
            assert engine.health.alerts == 0
            assert "alert_state" in engine.health.last_alert_error

            # It reads and alerts, but cannot save its progress: tried again at every check,
            # without emitting the alerts again.
            client.command(f"ATTACH TABLE `{db}`.alert_state")
            client.command(f"ALTER TABLE `{db}`.alert_state ADD CONSTRAINT refuse CHECK 0")
            wait_until(lambda: engine.health.alerts == 2 or engine.error, 60)
            failed = engine.health.alert_failures
            wait_until(lambda: engine.health.alert_failures >= failed + 3 or engine.error, 60)
            assert engine.error is None, engine.error
            client.command(f"ALTER TABLE `{db}`.alert_state DROP CONSTRAINT refuse")
            wait_until(lambda: client.query(f"SELECT count() FROM `{db}`.alert_state"
                                            ).result_rows[0][0] > 0, 60)
        assert "provider health check failed" in caplog.text
    finally:
        client.close()
    engine.stop()
    assert engine.health.alerts == 2

    second = EngineThread(settings)  # reloads the saved progress: nothing is raised again
    wait_until(lambda: second.health.partitions, 60)
    wait_until(lambda: second.engine.alerts.state is not None, 30)
    second.stop()
    assert second.health.alerts == 0 and second.health.alert_failures == 0
    assert [h["event_type"] for h in alert_hooks(settings)] == ["alert", "recovered"]
    client, db = connect(settings.clickhouse_dsn)
    try:
        stored = client.query(f"SELECT event_type FROM `{db}`.hooks FINAL WHERE event_type IN "
                              f"('alert', 'recovered') ORDER BY event_time").result_rows
    finally:
        client.close()
    assert stored == [("alert",), ("recovered",)]
