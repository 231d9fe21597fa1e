"""The per-message steps of the worker, as plain functions of bytes in, records out: no Kafka,
no tables, so that they are tested without a broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.adapters.common import Skip
from streams.adapters.kumomta import KumoMTA
from streams.classify.classifier import Classifier
from streams.classify.providers import PROVIDERS
from streams.ingest.adapter_options import options_from
from streams.ingest.avro_reader import SPAN
from streams.ingest.avro_writer import compile_writer
from streams.ingest.codec import (
    CLASSIFIED,
    SMTP_REPLY,
    Codec,
    Invalid,
    schema_json,
)

# Moved to the codec (ingest writes dead letters too); importers keep these names.
from streams.ingest.codec import Source as Source
from streams.ingest.codec import dead_letter as dead_letter
from streams.ingest.json_reply import parse_line
from streams.ingest.validation import problems
from streams.settings import Settings


def _splice_writers() -> tuple[tuple[str, str], Any, Any]:
    """A ClassifiedReply is the SmtpReply with the recipient's domain and provider after the
    email, and the classification after the rest: its bytes are the SmtpReply's around the
    email (which is normalised), the email and what follows it encoded, and the classification
    encoded: about half the work of encoding it whole.
    Returns the SmtpReply fields to read the spans of, and the two writers."""
    smtp = schema_json("smtp_reply")["fields"]
    classified = schema_json("classified_reply")["fields"]
    at = [f["name"] for f in smtp].index("email") + 1  # after the email
    added = 2  # recipient_domain, provider
    copied = classified[:at] + classified[at + added:len(smtp) + added]
    if [(f["name"], f["type"]) for f in copied] != [(f["name"], f["type"]) for f in smtp]:
        raise RuntimeError("classified_reply no longer extends smtp_reply field by field")

    def writer(fields: list[dict[str, Any]]) -> Any:
        return compile_writer({"type": "record", "name": "Part", "fields": fields})

    return ((smtp[0]["name"], "email"), writer(classified[at - 1:at + added]),
            writer(classified[len(smtp) + added:]))


REPLY_SPANS, _EMAIL_PART, _CLASSIFICATION_PART = _splice_writers()
_FIRST_SPAN, _EMAIL_SPAN = (SPAN + name for name in REPLY_SPANS)


def classify_reply(
    raw: bytes | None, classifier: Classifier, codec: Codec = SMTP_REPLY
) -> dict[str, Any] | Invalid:
    """Decode, validate and classify one SmtpReply message."""
    reply = codec.decode(raw)
    if isinstance(reply, Invalid):
        return reply
    wrong = problems(reply)
    if wrong:
        return Invalid("invalid SmtpReply: " + "; ".join(wrong))
    c = classifier.classify(
        reply["reply_code"], reply["enhanced_status"], reply["reply_text"], reply["smtp_stage"]
    )
    reply["email"] = reply["email"].strip().lower()
    reply["recipient_domain"] = reply["email"].rsplit("@", 1)[1]
    reply["provider"] = PROVIDERS.of(reply["recipient_domain"])
    reply.update(c.as_dict())
    return reply


InputDecoder = Callable[[bytes | None], "list[bytes] | Invalid"]


def input_decoder(settings: Settings) -> InputDecoder | None:
    """How a record of the input topic becomes SmtpReply Avro records (``input_format``): None
    for avro (as it is); kumomta reads KumoMTA's own JSON log records through its adapter (one
    record, one reply per recipient; Reception, Feedback and its internal throttling give none);
    json reads SmtpReply objects, as `bounceflow produce` does."""
    if settings.input_format == "kumomta":
        adapter = KumoMTA(options_from(settings))

        def kumomta(raw: bytes | None) -> list[bytes] | Invalid:
            result = adapter.line(raw or b"")
            if isinstance(result, Skip):
                return Invalid(f"KumoMTA record: {result.reason}") if result.bad else []
            return [SMTP_REPLY.encode(r) for r in result]

        return kumomta
    if settings.input_format == "json":

        def json_reply(raw: bytes | None) -> list[bytes] | Invalid:
            try:
                return [SMTP_REPLY.encode(parse_line((raw or b"").decode("utf-8", "replace")))]
            except ValueError as exc:
                return Invalid(f"SmtpReply JSON: {exc}")

        return json_reply
    return None


def classified_record(raw: bytes, reply: dict[str, Any]) -> bytes:
    """``CLASSIFIED.encode(reply)`` for a reply ``classify_reply`` read from ``raw`` with a codec
    of ``REPLY_SPANS`` (any other reply is encoded whole)."""
    email = reply.pop(_EMAIL_SPAN, None)
    if email is None:
        return CLASSIFIED.encode(reply)
    return b"".join((raw[reply.pop(_FIRST_SPAN)[0]:email[0]], _EMAIL_PART(reply),
                     raw[email[1]:], _CLASSIFICATION_PART(reply)))
