"""Hooks appear on the action-hooks topic as the design says; bad input reaches dead-letters with
its reason, raw bytes and source offset, and the worker keeps going."""

from __future__ import annotations

import base64
import io

import fastavro
import pytest
from confluent_kafka import Producer

from sinks.clickhouse import connect
from streams.ingest.codec import DEAD_LETTER, HOOK, SMTP_REPLY, Codec, confluent_frame
from streams.kafka_config import confluent_config
from streams.runtime.topics import ensure_topics
from tests.integration.checks import read_topic
from tests.unit.ingest.test_codec_and_validation import GOOD

pytestmark = pytest.mark.integration


def reply(event_id, email, code, text, *, message_id=None, attempt=1, final=False, t=0):
    return {**GOOD, "event_id": event_id, "email": email, "reply_code": code,
            "enhanced_status": None, "reply_text": text, "message_id": message_id or event_id,
            "attempt": attempt, "final": final, "event_time": 1767225600000 + t}


STREAM = [
    reply("e1", "a@x.com", 550, "User unknown", t=1),
    reply("e2", "a@x.com", 250, "OK", t=2),  # a send to a suppressed address
    reply("e3", "b@x.com", 450, "Greylisted for 120 seconds", message_id="mb", t=3),
    reply("e4", "b@x.com", 452, "Mailbox full", message_id="mb", attempt=2, final=True, t=4),
    reply("e5", "c@y.com", 250, "OK", t=5),
]
WANT_HOOKS = {
    ("e1:hbounce", "hbounce"), ("e1:status", "status"), ("e2:suppress", "suppress"),
    ("e3:sbounce", "sbounce"), ("e4:sbounce", "sbounce"), ("mb:undeliv", "undeliv"),
    ("e5:deliv", "deliv"),
}

def _without_fields() -> bytes:
    """An SmtpReply written by a producer whose schema lacks most fields."""
    schema = {"type": "record", "name": "SmtpReply",
              "fields": [{"name": "event_id", "type": "string"}]}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), {"event_id": "bad6"})
    return buf.getvalue()


MISSING_FIELDS = _without_fields()
BAD = [
    (b"\x02\xff\xfe\x00", "not a valid SmtpReply"),  # corrupt Avro
    (SMTP_REPLY.encode(STREAM[0])[:-4], "not a valid SmtpReply"),  # truncated
    (SMTP_REPLY.encode({**STREAM[0], "event_id": "bad1", "reply_code": 700}), "outside 200-599"),
    (SMTP_REPLY.encode({**STREAM[0], "event_id": "bad2", "email": "nobody"}), "not an address"),
    (Codec("dead_letter").encode({"reason": "x", "source_topic": "t", "source_partition": 0,
                                  "source_offset": 0, "key": None, "value": None,
                                  "failed_at": 0}), "SmtpReply"),  # the wrong schema
    (b"", "empty message"),
    (confluent_frame(99, SMTP_REPLY.encode(STREAM[0])), "schema id 99"),
    (SMTP_REPLY.encode({**STREAM[0], "event_id": "bad3", "reply_text": "X" * 40}).replace(
        b"X" * 40, b"\xc3\x28" * 20), "not UTF-8"),  # not UTF-8
    (SMTP_REPLY.encode({**STREAM[0], "event_id": "bad4", "reply_text": "x" * 1_048_576}),
     "longer than"),
    (SMTP_REPLY.encode({**STREAM[0], "event_id": "bad5", "reply_text": ""}), "reply_text is empty"),
    (MISSING_FIELDS, "not a valid SmtpReply"),
]


def test_hooks_and_dead_letters(settings_factory, worker_factory):
    settings = settings_factory(partitions=1, schema_ids="7")
    ensure_topics(settings)
    worker = worker_factory(settings)
    producer = Producer(confluent_config(settings, **{"message.max.bytes": 2_000_000}))
    sent_bad = {}
    sequence = [("good", r) for r in STREAM[:2]] + [("bad", b) for b in BAD] + \
               [("good", r) for r in STREAM[2:]]
    offsets: list = []
    for what, item in sequence:
        if what == "good":
            value = SMTP_REPLY.encode(item)
            if item["event_id"] == "e5":  # Confluent Schema Registry framing is accepted too
                value = confluent_frame(7, value)
            producer.produce(settings.topic_replies, key=item["email"].encode(), value=value,
                             on_delivery=lambda err, msg, w=what: offsets.append((w, msg)))
        else:
            producer.produce(settings.topic_replies, key=b"k", value=item[0],
                             on_delivery=lambda err, msg, i=item: offsets.append(("bad", msg, i)))
        producer.flush()  # one record per batch: exact source offsets to compare with
    for entry in offsets:
        if entry[0] == "bad":
            sent_bad[entry[1].offset()] = entry[2]

    worker.wait(len(sequence))

    hooks = [HOOK.decode(m.value()) for m in read_topic(settings, settings.topic_hooks)]
    assert {(h["hook_id"], h["event_type"]) for h in hooks} == WANT_HOOKS
    by_id = {h["hook_id"]: h for h in hooks}
    assert by_id["e3:sbounce"]["event_data"]["retry_after"] == 120
    assert by_id["e1:status"]["event_data"]["status"] == "Hardbounced"
    assert by_id["mb:undeliv"]["event_data"]["cause"] == "final"
    assert by_id["e1:hbounce"]["event_data"]["reason"] == "userunknown"
    assert by_id["e2:suppress"]["event_data"]["cause"] == "e1"

    letters = [DEAD_LETTER.decode(m.value())
               for m in read_topic(settings, settings.topic_dead_letters)]
    assert len(letters) == len(BAD)
    for dl in letters:
        raw, why = sent_bad[dl["source_offset"]]
        assert dl["source_topic"] == settings.topic_replies
        assert (dl["value"] or b"") == raw
        assert why in dl["reason"], dl["reason"]

    assert worker.stop() == 0
    client, db = connect(settings.clickhouse_dsn)
    rows = client.query(f"SELECT source_offset, reason, value FROM `{db}`.dead_letters FINAL"
                        ).result_rows
    assert {r[0] for r in rows} == set(sent_bad)
    for offset, _reason, value in rows:
        assert base64.b64decode(value or "") == sent_bad[offset][0]
    replies = client.query(f"SELECT count() FROM `{db}`.replies FINAL").result_rows[0][0]
    assert replies == len(STREAM)  # processed + dead letters = produced
    client.close()
