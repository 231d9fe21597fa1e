"""/metrics of a worker of two engine processes, read with prometheus_client's parser: every
family is there, its values are the stream's known counts, and they equal /health's."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from streams.classify.classifier import Classifier
from streams.kafka_config import confluent_config
from streams.local.broker import free_port
from streams.local.reference import expected
from streams.local.synth import generate
from tests.conftest import jsonl, run_cli

pytestmark = pytest.mark.integration

FAMILIES = {
    "bounceflow_records_consumed", "bounceflow_replies", "bounceflow_dead_letters",
    "bounceflow_hooks", "bounceflow_clickhouse_rows_written",
    "bounceflow_clickhouse_write_failures", "bounceflow_consumer_lag",
    "bounceflow_partitions_owned", "bounceflow_commits", "bounceflow_commit_failures",
    "bounceflow_rebalances", "bounceflow_alert_hooks", "bounceflow_restored_keys",
    "bounceflow_restore_seconds", "bounceflow_alerts_in_force", "bounceflow_state_keys",
    "bounceflow_resident_memory_bytes", "bounceflow_engine_processes",
    "bounceflow_last_commit_timestamp_seconds", "bounceflow_processing_seconds",
    "bounceflow_checkpoint_seconds", "bounceflow_hook_latency_seconds",
}


def page(settings, path: str) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}{path}", timeout=10) as r:
        return r.headers["Content-Type"], r.read().decode()


def samples(text: str) -> tuple[set[str], dict[tuple[str, tuple], float]]:
    families = list(text_string_to_metric_families(text))
    return ({f.name for f in families},
            {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families
             for s in f.samples})


def test_metrics_equal_health_and_the_stream(settings_factory, worker_factory, tmp_path):
    settings = settings_factory(processes=2, web_port=free_port(), sink_batch_size=500)
    events = list(generate(4000, seed=9))
    done = run_cli(settings, "produce", str(jsonl(events, tmp_path / "e.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    producer = Producer(confluent_config(settings))
    producer.produce(settings.topic_replies, b"not Avro at all")
    assert producer.flush(10) == 0
    want = expected(events, Classifier(settings.policy), settings.max_attempts)
    worker = worker_factory(settings)
    worker.wait(len(events) + 1)

    deadline = time.monotonic() + 10  # engines send their figures every second
    while True:
        health = json.loads(page(settings, "/health")[1])
        if health["sink_rows"].get("hooks") == len(want["hook_ids"]) and \
                health["commits"] and health["partitions"] == [0, 1]:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.3)
    content_type, text = page(settings, "/metrics")
    assert content_type.startswith("text/plain")
    names, got = samples(text)
    assert names >= FAMILIES, FAMILIES - names
    assert worker.stop() == 0

    # the stream's known counts
    assert got[("bounceflow_records_consumed_total",
                (("topic", settings.topic_replies),))] == len(events) + 1
    assert got[("bounceflow_replies_total", (("outcome", "dead_lettered"),))] == 1
    reasons = {labels: v for (name, labels), v in got.items()
               if name == "bounceflow_dead_letters_total"}
    assert list(reasons.values()) == [1] and "Avro" in reasons.popitem()[0][0][1]
    types = Counter(h.rsplit(":", 1)[1] for h in want["hook_ids"])
    assert {labels[0][1]: v for (name, labels), v in got.items()
            if name == "bounceflow_hooks_total"} == types
    assert got[("bounceflow_clickhouse_rows_written_total", (("table", "replies"),))] == \
        want["summary"]["replies"]
    assert got[("bounceflow_engine_processes", ())] == 2
    assert got[("bounceflow_resident_memory_bytes", ())] > 100 << 20

    # and /health's, taken just before
    assert got[("bounceflow_records_consumed_total",
                (("topic", settings.topic_repartition),))] == health["repartitioned"]
    for metric, field in [("bounceflow_commits_total", "commits"),
                          ("bounceflow_state_keys", "state_keys"),
                          ("bounceflow_restored_keys_total", "restored_keys"),
                          ("bounceflow_partitions_owned", "partitions"),
                          ("bounceflow_processing_seconds_count", "processing_seconds"),
                          ("bounceflow_checkpoint_seconds_count", "checkpoint_seconds"),
                          ("bounceflow_hook_latency_seconds_count", "hook_latency_seconds")]:
        value = health[field]
        value = (value["count"] if isinstance(value, dict) else
                 len(value) if isinstance(value, list) else value)
        assert got[(metric, ())] == value, metric
    assert health["checkpoint_seconds"]["count"] == health["commits"]
    lag = {(dict(labels)["topic"], dict(labels)["partition"]): v for (name, labels), v in
           got.items() if name == "bounceflow_consumer_lag"}
    assert lag == {(t, p): n for t, parts in health["lag"].items() for p, n in parts.items()}
    # a partition with a position: the repartition topic's have none while every reply is
    # tracked at once (the CLI produces keyed by address, as the Java client partitions)
    assert {p for t, p in lag if t == settings.topic_replies} == {"0", "1"}
