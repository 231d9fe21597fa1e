"""BOUNCEFLOW_INPUT_FORMAT: the input topic's records in KumoMTA's JSON or SmtpReply JSON become
the SmtpReply Avro records the worker classifies; what does not parse is an Invalid (a dead
letter with its reason), what is not a reply is nothing."""

from __future__ import annotations

import json

import pytest

from streams.classify.classifier import Classifier
from streams.ingest.codec import SMTP_REPLY, Invalid
from streams.runtime.processing import classify_reply, input_decoder
from streams.settings import Settings
from tests.unit.adapters.test_kumomta import expiration, record, transient


def decoder(fmt: str, **over):
    return input_decoder(Settings.load(env={}, input_format=fmt, **over))


def test_avro_needs_no_decoder_and_unknown_formats_are_refused():
    assert decoder("avro") is None
    with pytest.raises(Exception, match="input_format must be one of avro, kumomta, json"):
        decoder("xml")


def test_kumomta_records_become_smtp_replies():
    decode = decoder("kumomta", ingest_fields="campaign_id=meta.campaign_id")
    [raw] = decode(json.dumps(record()).encode())
    reply = SMTP_REPLY.decode(raw)
    assert reply["reply_code"] == 250 and reply["campaign_id"] == 100
    assert classify_reply(raw, Classifier())["kind"] == "delivered"
    assert len(decode(json.dumps(record(recipient=["a@x.example", "b@x.example"])).encode())) == 2
    assert decode(json.dumps(record("Reception")).encode()) == []
    decode(json.dumps(transient(1)).encode())
    [expired] = decode(json.dumps(expiration(1)).encode())  # remembered across records
    assert SMTP_REPLY.decode(expired)["reply_code"] == 452


def test_bad_records_are_invalid_with_the_reason():
    decode = decoder("kumomta")
    for raw, reason in [(b'{"type": "Deliv', "not JSON"), (None, "not JSON"),
                        (json.dumps(record("Teleport")).encode(), "unknown record type")]:
        got = decode(raw)
        assert isinstance(got, Invalid) and got.reason.startswith("KumoMTA record: ")
        assert reason in got.reason


def test_json_smtp_replies():
    decode = decoder("json")
    good = {"event_id": "e1", "event_time": "2026-03-09T10:00:00Z", "account_id": 1,
            "message_id": "m1", "email": "a@x.example", "from_domain": "shop.example",
            "sending_ip": "203.0.113.10", "attempt": 1, "reply_code": 250,
            "reply_text": "OK"}
    [raw] = decode(json.dumps(good).encode())
    assert SMTP_REPLY.decode(raw)["event_time"] == 1773050400000
    bad = decode(json.dumps({**good, "attempt": 0}).encode())
    assert isinstance(bad, Invalid) and "attempt 0 is below 1" in bad.reason
