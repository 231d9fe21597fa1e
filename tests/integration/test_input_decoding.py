"""Whatever arrives on an input topic in another format, the worker goes on: a record that its
decoder cannot turn into replies, even one that makes the decoder raise, is a dead letter with
its reason and its offset."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from streams.ingest.codec import DEAD_LETTER
from streams.kafka_config import confluent_config
from streams.runtime.topics import ensure_topics
from tests.conftest import report_json
from tests.integration.checks import read_topic
from tests.unit.adapters.test_kumomta import record

pytestmark = pytest.mark.integration

# JSON of the right shape whose fields have the wrong types: each once made the KumoMTA adapter
# raise, which stopped the worker at the same offset after every restart.
MALFORMED = [{"type": []}, {**record("Bounce"), "response": 1},
             {**record("TransientFailure"), "response": {"code": 451, "content": 7}}]


def test_records_the_decoder_cannot_read_are_dead_letters_and_the_stream_goes_on(
        settings_factory, worker_factory):
    settings = settings_factory(input_format="kumomta", partitions=1)
    ensure_topics(settings)
    records = [record(), *MALFORMED, record(timestamp=1678069700)]
    producer = Producer(confluent_config(settings))
    for r in records:
        producer.produce(settings.topic_replies, json.dumps(r).encode(), b"user@example.com")
    producer.flush()

    worker = worker_factory(settings)
    worker.wait(len(records))
    assert worker.stop() == 0
    letters = [DEAD_LETTER.decode(m.value()) for m in
               read_topic(settings, settings.topic_dead_letters)]
    assert sorted(letter["source_offset"] for letter in letters) == [1, 2, 3]
    assert all(letter["reason"] for letter in letters)
    summary = report_json(settings, "summary")
    assert (summary["replies"], summary["delivered"], summary["dead_letters"]) == (2, 2, 3)
