"""The per-message steps of the worker, as plain functions of bytes in, records out: no Kafka,
no tables, so that they are tested without a broker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .classify import Classifier
from .codec import Codec, Invalid
from .providers import PROVIDERS
from .validation import problems

SMTP_REPLY = Codec("smtp_reply")
CLASSIFIED = Codec("classified_reply")
HOOK = Codec("action_hook")
DEAD_LETTER = Codec("dead_letter")


@dataclass(frozen=True)
class Source:
    topic: str
    partition: int
    offset: int


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


def dead_letter(
    reason: str, source: Source, key: bytes | None, value: bytes | None
) -> dict[str, Any]:
    return {
        "reason": reason,
        "source_topic": source.topic,
        "source_partition": source.partition,
        "source_offset": source.offset,
        "key": key,
        "value": value,
        "failed_at": int(time.time() * 1000),
    }
