"""Schemas, the codec and SmtpReply checks: bad input is data, not an exception."""

import json

import avro.schema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.classify.classifier import Classifier
from streams.ingest.avro_writer import compile_writer
from streams.ingest.codec import (
    CLASSIFIED,
    HOOK,
    SCHEMA_DIR,
    SMTP_REPLY,
    Codec,
    Invalid,
    as_of,
    confluent_frame,
    schema_json,
    versions,
)
from streams.ingest.produce import parse_line
from streams.ingest.validation import problems
from streams.local.synth import generate
from streams.runtime.processing import REPLY_SPANS, classified_record, classify_reply
from tests.examples import examples

CLASSIFIER = Classifier()
EVENTS = list(generate(3000, seed=13))
SPANNING = Codec("smtp_reply", [7], REPLY_SPANS)  # the worker's codec

GOOD = {
    "event_id": "e1", "event_time": 1767225600000, "account_id": 1, "list_id": None,
    "campaign_id": 3, "message_id": "m1", "profile_id": None, "email": "a@x.com",
    "from_domain": "news.example", "sending_ip": "192.0.2.1", "mx_host": None, "attempt": 1,
    "final": False, "smtp_stage": "rcpt", "reply_code": 550, "enhanced_status": "5.1.1",
    "reply_text": "User unknown", "is_test": False,
}


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.avsc")), ids=lambda p: p.name)
def test_schemas_parse_with_the_avro_package(path):
    parsed = avro.schema.parse(path.read_text())
    assert parsed.namespace == "bounceflow"


def test_smtp_reply_schema_has_the_contract_fields():
    fields = {f["name"] for f in json.loads((SCHEMA_DIR / "smtp_reply.avsc").read_text())
              ["fields"]}
    assert fields == set(GOOD)


def test_round_trip_plain_and_confluent_framed():
    codec = Codec("smtp_reply", schema_ids=[42])
    body = codec.encode(GOOD)
    assert codec.decode(body) == GOOD
    assert codec.decode(confluent_frame(42, body)) == GOOD


def test_unknown_confluent_schema_id_is_invalid():
    body = Codec("smtp_reply").encode(GOOD)
    got = Codec("smtp_reply", schema_ids=[42]).decode(confluent_frame(43, body))
    assert isinstance(got, Invalid) and "schema id 43" in got.reason
    assert isinstance(Codec("smtp_reply").decode(confluent_frame(42, body)), Invalid)


def test_text_that_is_not_utf8_is_invalid():
    body = Codec("smtp_reply").encode({**GOOD, "reply_text": "X" * 20})
    got = Codec("smtp_reply").decode(body.replace(b"X" * 20, b"\xff\xfe" * 10))
    assert isinstance(got, Invalid) and "not UTF-8" in got.reason


@pytest.mark.parametrize("data", [b"", None, b"\x02\xff\xff", b"garbage" * 3])
def test_corrupt_bytes_are_invalid_not_exceptions(data):
    assert isinstance(Codec("smtp_reply").decode(data), Invalid)


def test_truncated_record_is_invalid():
    body = Codec("smtp_reply").encode(GOOD)
    assert isinstance(Codec("smtp_reply").decode(body[:-3]), Invalid)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reply_code": 999}, "outside 200-599"),
        ({"email": "nobody"}, "not an address"),
        ({"enhanced_status": "5.1"}, "RFC 3463"),
        ({"attempt": 0}, "below 1"),
        ({"reply_text": "x" * 1_000_000}, "longer than"),
        ({"reply_text": " "}, "reply_text is empty"),
        ({"smtp_stage": "lunch"}, "smtp_stage"),
        ({"event_id": ""}, "event_id"),
    ],
)
def test_problems(change, message):
    assert any(message in p for p in problems({**GOOD, **change}))
    assert problems(GOOD) == []


def test_parse_line_accepts_rfc3339_times_and_names_bad_fields():
    assert parse_line(json.dumps({**GOOD, "event_time": "2026-01-01T00:00:00Z"}))[
        "event_time"] == 1767225600000
    with pytest.raises(ValueError, match="account_id"):
        parse_line(json.dumps({**GOOD, "account_id": "one"}))
    with pytest.raises(ValueError, match="unknown fields: colour"):
        parse_line(json.dumps({**GOOD, "colour": "red"}))
    with pytest.raises(ValueError, match="not JSON"):
        parse_line("{nope")


def test_a_classified_reply_decodes_to_exactly_what_was_encoded():
    """The worker skips decoding the classified replies it produced itself; a replay decodes
    them. Both must see the same record, or replayed hooks would differ."""
    for event in EVENTS:
        reply = classify_reply(SMTP_REPLY.encode(event), CLASSIFIER)
        assert CLASSIFIED.decode(CLASSIFIED.encode(reply)) == reply


@settings(max_examples=examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2999), st.text(max_size=40).filter(str.strip),
       st.sampled_from(["", " ", "\t"]),
       st.booleans(), st.one_of(st.none(), st.text(max_size=20)), st.booleans())
def test_a_classified_reply_is_spliced_byte_for_byte(index, text, pad, upper, profile, framed):
    """The worker builds a classified record from its SmtpReply's bytes: it must be the one
    CLASSIFIED.encode writes, whatever the texts, the email's normalisation and the framing."""
    event = {**EVENTS[index], "reply_text": text, "profile_id": profile}
    event["email"] = pad + (event["email"].upper() if upper else event["email"]) + pad
    raw = SMTP_REPLY.encode(event)
    if framed:
        raw = confluent_frame(7, raw)
    reply = classify_reply(raw, CLASSIFIER, SPANNING)
    spliced = classified_record(raw, reply)
    assert spliced == CLASSIFIED.encode(reply)
    assert CLASSIFIED.decode(spliced) == reply


def test_a_classified_reply_carries_its_basis():
    reply = classify_reply(SMTP_REPLY.encode({**GOOD, "reply_text": "no such thing"}), CLASSIFIER)
    assert (reply["rule"], reply["basis"]) == ("status:X.1.1", "status")
    assert CLASSIFIED.decode(CLASSIFIED.encode(reply))["basis"] == "status"


def test_a_classified_reply_an_older_version_wrote_decodes_with_an_unknown_basis():
    """A record still in the repartition topic from before the basis (version 1: the record
    ended with the rule) decodes, the basis unknown; framed under a known id too."""
    spec = schema_json("classified_reply")
    assert versions(spec) == {1, 2}
    before = as_of(spec, 1)
    assert [f["name"] for f in before["fields"]][-1] == "rule"
    reply = classify_reply(SMTP_REPLY.encode(GOOD), CLASSIFIER)
    old = compile_writer(before)(reply)
    assert old != CLASSIFIED.encode(reply)
    assert CLASSIFIED.decode(old) == {**reply, "basis": None}
    assert Codec("classified_reply", [9]).decode(confluent_frame(9, old)) == \
        {**reply, "basis": None}
    # Neither version reads a record cut short or with bytes left over.
    for bad in (old[:-1], old + b"\x00\x00\x00"):
        got = CLASSIFIED.decode(bad)
        assert isinstance(got, Invalid) and "ClassifiedReply" in got.reason


@pytest.mark.parametrize(("version", "last"), [(1, "alert"), (2, "async")])
def test_hooks_older_versions_wrote_decode_with_the_fields_they_lacked(version, last):
    """Version 1 of the hook had no async, version 2 no reason_basis: a deliverer reading
    action-hooks after an upgrade still reads them, with the defaults."""
    spec = schema_json("action_hook")
    older = as_of(spec, version)
    assert [f["name"] for f in older["fields"][-1]["type"]["fields"]][-1] == last
    hook = {"hook_id": "e1:hbounce", "event_type": "hbounce",
            "event_date": "2026-01-01T00:00:00.000+00:00", "account_id": 1, "profile_id": None,
            "list_id": None, "sends_trying_num": 1, "is_test": False,
            "event_data": {"event_id": "e1", "message_id": "m1", "campaign_id": None,
                           "email": "a@x.com", "recipient_domain": "x.com",
                           "from_domain": "news.example", "sending_ip": "192.0.2.1",
                           "reply_code": 550, "enhanced_status": "5.1.1", "reason": "userunknown",
                           "bounce_text": "t", "retry_after": None, "retry_at": None,
                           "status": None, "cause": None, "alert": None, "async": True,
                           "reason_basis": "text"}}
    got = HOOK.decode(compile_writer(older)(hook))
    defaults = {"async": False, "reason_basis": None} if version == 1 else {"reason_basis": None}
    assert got == {**hook, "event_data": {**hook["event_data"], **defaults}}
    assert HOOK.decode(HOOK.encode(hook)) == hook
