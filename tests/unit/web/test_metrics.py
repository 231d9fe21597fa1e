"""/metrics is derived from the health figures: a worker's engine processes' snapshots merge
into one, and every family reads its value from that merge."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.health import DURATION_BUCKETS, LATENCY_BUCKETS, Health, merge, observe
from streams.web.metrics import exposition

TOPICS = {"replies": "smtp-replies", "repartitioned": "app-classified-repartition"}


def engine(partition: int, replies: int, dead: int, latencies: list[float]) -> dict:
    h = Health(replies=replies, classified=replies - dead, tracked=replies - dead,
               repartitioned=replies // 2, hooks=replies - dead, dead_letters=dead,
               dead_letter_reasons={"invalid SmtpReply": dead},
               hook_types={"deliv": replies - dead - 1, "sbounce": 1},
               sink_rows={"replies": replies - dead}, sink_table_failures={"hooks": 1},
               partitions=[partition], state_keys=10, restore_seconds=0.5,
               lag={"smtp-replies": {str(partition): 3}})
    for seconds in latencies:
        observe(h.hook_latency_seconds, LATENCY_BUCKETS, seconds)
    observe(h.checkpoint_seconds, DURATION_BUCKETS, 0.02)
    return h.as_dict()


def scrape(status) -> dict[tuple[str, tuple], float]:
    body, content_type = exposition(status, TOPICS)()
    assert content_type.startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def test_engine_processes_add_up_in_health_and_in_metrics():
    own = Health(delivery=lambda: {"crm": {"sent": 7, "failed": 2, "retrying": True,
                                           "dead_lettered": 1}})
    health = merge(own, [engine(0, 100, 2, [0.07, 4.0]), engine(1, 50, 0, [0.07])])
    assert health["replies"] == 150 and health["partitions"] == [0, 1]
    assert health["hook_types"] == {"deliv": 146, "sbounce": 2}
    assert health["lag"] == {"smtp-replies": {"0": 3, "1": 3}}
    assert health["hook_latency_seconds"]["count"] == 3

    got = scrape(lambda: health)
    assert got[("bounceflow_records_consumed_total", (("topic", "smtp-replies"),))] == 150
    assert got[("bounceflow_records_consumed_total",
                (("topic", "app-classified-repartition"),))] == 75
    assert got[("bounceflow_replies_total", (("outcome", "classified"),))] == 148
    assert got[("bounceflow_replies_total", (("outcome", "dead_lettered"),))] == 2
    assert got[("bounceflow_dead_letters_total", (("reason", "invalid SmtpReply"),))] == 2
    assert got[("bounceflow_hooks_total", (("type", "sbounce"),))] == 2
    assert got[("bounceflow_clickhouse_rows_written_total", (("table", "replies"),))] == 148
    assert got[("bounceflow_clickhouse_write_failures_total", (("table", "hooks"),))] == 2
    assert got[("bounceflow_consumer_lag", (("partition", "1"), ("topic", "smtp-replies")))] == 3
    assert got[("bounceflow_partitions_owned", ())] == 2
    assert got[("bounceflow_state_keys", ())] == 20
    assert got[("bounceflow_restore_seconds_total", ())] == 1.0
    assert got[("bounceflow_engine_processes", ())] == 2
    assert got[("bounceflow_resident_memory_bytes", ())] == health["rss_bytes"] > 0
    # histogram buckets are cumulative; 0.07 s falls in le=0.1
    assert got[("bounceflow_hook_latency_seconds_bucket", (("le", "0.05"),))] == 0
    assert got[("bounceflow_hook_latency_seconds_bucket", (("le", "0.1"),))] == 2
    assert got[("bounceflow_hook_latency_seconds_bucket", (("le", "+Inf"),))] == 3
    assert got[("bounceflow_hook_latency_seconds_count", ())] == 3
    assert abs(got[("bounceflow_hook_latency_seconds_sum", ())] - 4.14) < 1e-9
    assert got[("bounceflow_checkpoint_seconds_count", ())] == 2
    assert got[("bounceflow_hook_deliveries_total",
                (("outcome", "sent"), ("subscription", "crm")))] == 7
    assert got[("bounceflow_hook_deliveries_total",
                (("outcome", "dead_lettered"), ("subscription", "crm")))] == 1
    assert got[("bounceflow_hook_delivery_failures_total", (("subscription", "crm"),))] == 2
    assert got[("bounceflow_hook_delivery_retrying", (("subscription", "crm"),))] == 1


def test_a_worker_of_one_engine_has_one_engine_process():
    got = scrape(Health(replies=3, classified=3).as_dict)
    assert got[("bounceflow_engine_processes", ())] == 1
    assert got[("bounceflow_replies_total", (("outcome", "classified"),))] == 3


def test_a_deliverer_alone_shows_its_deliveries_only():
    got = scrape(lambda: {"delivery": {"crm": {"sent": 1, "failed": 0, "retrying": False,
                                               "dead_lettered": 0}}})
    assert {name for name, _ in got} == {"bounceflow_hook_deliveries_total",
                                         "bounceflow_hook_delivery_failures_total",
                                         "bounceflow_hook_delivery_retrying"}


# health figures /metrics leaves out: times and texts of the log, and what a family shows
# otherwise (hooks and sink_failures by type and table, partitions as a count)
NOT_METRICS = {"first_record_at", "last_sink_error", "last_alert_error", "hooks",
               "sink_failures", "partitions", "delivery"}


def test_every_health_figure_is_a_metric():
    """A figure added to Health shows in /metrics too, or is named in NOT_METRICS."""
    health = Health().as_dict()
    scalars = [k for k, v in health.items() if isinstance(v, (int, float)) or v is None]
    marked = {k: 1000.0 + n for n, k in enumerate(scalars) if k not in NOT_METRICS}
    values = set(scrape(lambda: {**health, **marked}).values())
    assert [k for k, v in marked.items() if v not in values] == []
