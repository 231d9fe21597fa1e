"""A worker with BOUNCEFLOW_INPUT_FORMAT=kumomta consumes KumoMTA's own JSON log records from
the topic KumoMTA's kafka publisher writes (keyed by recipient), with no extra hop; a record that
does not parse is a dead letter with its reason."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from streams.kafka_config import confluent_config
from streams.runtime.topics import ensure_topics
from tests.conftest import report_json, run_cli
from tests.integration.checks import read_topic
from tests.unit.adapters.test_kumomta import expiration, record, transient

pytestmark = pytest.mark.integration


def test_a_worker_reads_kumomta_records_from_its_topic(settings_factory, worker_factory):
    settings = settings_factory(input_format="kumomta")
    ensure_topics(settings)
    bounce = record("Bounce", recipient="gone@mail.example", response={
        "code": 550, "enhanced_code": {"class": 5, "subject": 1, "detail": 1},
        "content": "5.1.1 <gone@mail.example>: user unknown", "command": "RCPT TO"})
    records = [json.dumps(r).encode() for r in (
        record(), transient(1), record("Reception"), expiration(1), bounce,
        record(recipient=["a@x.example", "b@y.example"]))]
    records.append(b'{"type": "Delivery", "id": "cut mid-fie')
    producer = Producer(confluent_config(settings, partitioner="murmur2_random"))
    for raw in records:
        producer.produce(settings.topic_replies, raw, b"user@recipient.example.com")
    producer.flush()

    worker = worker_factory(settings)
    worker.wait(len(records))
    assert worker.stop() == 0
    final_health = json.loads(worker.log.read_text().rsplit("stopped cleanly; health ", 1)[1]
                              .splitlines()[0])
    assert final_health["input_skipped"] == 1  # the Reception record
    summary = report_json(settings, "summary")
    assert (summary["replies"], summary["delivered"], summary["soft_bounces"],
            summary["hard_bounces"], summary["undelivered"], summary["hard_bounced_profiles"],
            summary["dead_letters"]) == (6, 3, 2, 1, 1, 1, 1)  # the expiry changes no status
    [letter] = read_topic(settings, settings.topic_dead_letters)
    assert b"KumoMTA record: not JSON" in letter.value()


def test_demo_from_kumomta_checks_its_reports(tmp_path, settings_factory):
    settings = settings_factory()
    done = run_cli(settings, "demo", "--from", "kumomta", "--events", "600", "--data-dir",
                   str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "check: the reports equal the produced stream exactly" in done.stdout
    assert (tmp_path / "demo" / "kumomta.log").read_text().count('"type": "Expiration"') > 0
