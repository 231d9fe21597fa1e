"""Property-based fuzzing of the decoder and the classifier: whatever arrives, the answer is a
record or a reason (never an exception), and a classification always speaks the vocabulary."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.classify.classifier import Classifier
from streams.classify.rules_loader import REASONS
from streams.ingest.codec import Codec, Invalid, confluent_frame
from streams.runtime.processing import classify_reply
from tests.examples import examples
from tests.unit.ingest.test_codec_and_validation import GOOD

CODEC = Codec("smtp_reply", schema_ids=[1])
CLASSIFIER = Classifier("recipient")
FUZZ = settings(max_examples=examples(400), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

texts = st.text(max_size=300) | st.sampled_from([
    "550 5.1.1 <a@b.c>: Recipient address rejected: User unknown",
    "450 4.2.0 Greylisted for 120 seconds", "421 4.7.0 [TSS04] Messages temporarily deferred",
    "552 5.2.2 Mailbox full", "dial tcp 192.0.2.1:25: i/o timeout", "",
])
replies = st.fixed_dictionaries({
    **{k: st.just(v) for k, v in GOOD.items()},
    "event_id": st.text(max_size=40),
    "email": st.text(max_size=40) | st.emails(),
    "reply_code": st.none() | st.integers(-2**31, 2**31 - 1),
    "enhanced_status": st.none() | st.from_regex(r"\A[245]\.\d{1,3}\.\d{1,3}\Z")
    | st.text(max_size=12),
    "reply_text": texts,
    "smtp_stage": st.none() | st.sampled_from(["connect", "rcpt", "data", "dot", "MAIL", "lunch"]),
    "attempt": st.integers(-5, 2**31 - 1),
})


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes_decode_to_a_record_or_a_reason(data):
    for raw in (data, confluent_frame(1, data), confluent_frame(2, data)):
        got = CODEC.decode(raw)
        assert isinstance(got, dict | Invalid)


@FUZZ
@given(replies, st.integers(0, 40))
def test_any_reply_and_any_damage_is_classified_or_dead_lettered(reply, cut):
    body = CODEC.encode(reply)
    for raw in (body, body[:-cut] if cut else body, confluent_frame(1, body)):
        got = classify_reply(raw, CLASSIFIER, CODEC)
        if isinstance(got, Invalid):
            assert got.reason
            continue
        assert got["kind"] in ("delivered", "soft", "hard")
        assert got["reason"] in REASONS
        assert isinstance(got["bounce_text"], str)
        assert got["retry_after"] is None or got["retry_after"] > 0


@FUZZ
@given(st.none() | st.integers(200, 599), st.none() | st.text(max_size=12), texts,
       st.none() | st.text(max_size=8))
def test_the_classifier_is_total(code, status, text, stage):
    c = CLASSIFIER.classify(code, status, text, stage)
    assert c.kind in ("delivered", "soft", "hard")
    assert c.reason in REASONS
    assert c.suppress in (True, False)
    assert c.kind != "delivered" or not c.suppress
