"""Received mail -> the pipeline. Each mail (from the mail topic, or a mailbox file) becomes
SmtpReply records at stage after-delivery on the replies topic (the worker classifies and tracks
them like live replies: a hard DSN gives an ``hbounce`` hook with ``event_data.async``),
``autoreply`` hooks on the hooks topic, or one dead letter with the raw mail and the reason
(unreadable, forged, uncorrelated, invalid): nothing is dropped, every outcome is counted.

Crash here -> what happens: the relay commits the mail topic's offsets only after the producer
has flushed what the mails gave. A crash before the commit re-reads those mails; they give the
same event ids (``streams/mail/events.py``), which the worker's tracking recognises as replays,
and the same hook ids, which hook consumers drop.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer

from streams.exceptions import BrokerError
from streams.ingest.codec import DEAD_LETTER
from streams.ingest.mailbox import mails
from streams.ingest.produce import reply_producer, send_reply
from streams.kafka_config import confluent_config, produce
from streams.mail.events import MailOptions, outcome
from streams.mail.verp import Verp
from streams.runtime.processing import Source, dead_letter
from streams.settings import Settings
from streams.tracking.hooks import encode, hook_values

log = logging.getLogger(__name__)
OUTCOMES = ("replies", "autoreplies", "unreadable", "forged", "uncorrelated", "invalid",
            "too_large")


def mail_options(settings: Settings) -> MailOptions:
    ways = settings.mail_ways()
    verp = (Verp(settings.mail_verp_pattern, settings.mail_bounce_domain,
                 settings.mail_verp_secret)
            if "verp" in ways and settings.mail_verp_secret else None)
    return MailOptions(verp=verp, trust_message_id="message-id" in ways,
                       account_id=settings.ingest_account_id,
                       sending_ip=settings.ingest_sending_ip)


class Router:
    """Produces what one mail gives; ``counts`` adds up the outcomes (OUTCOMES)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = mail_options(settings)
        self.failed: list[str] = []
        self.counts: Counter[str] = Counter()
        self.producer = reply_producer(settings, self.failed, **{
            # a dead letter carries the whole mail
            "message.max.bytes": max(settings.max_message_bytes, settings.mail_record_bytes)})

    def route(self, raw: bytes | None, received_ms: int, source: Source,
              key: bytes | None) -> str:
        """Produce what the mail ``raw`` gives; return its outcome (one of OUTCOMES)."""
        if raw is None:
            return self._dead(source, key, None, "too_large",
                              f"larger than mail_max_bytes ({self.settings.mail_max_bytes})")
        try:
            got = outcome(raw, received_ms, self.options)
        except Exception as exc:  # a parser bug on an odd mail must not stop the relay
            return self._dead(source, key, raw, "unreadable",
                              f"the parser failed: {type(exc).__name__}: {exc}")
        if got.problem:
            return self._dead(source, key, raw, got.problem, got.reason)
        for reply in got.replies:
            send_reply(self.producer, self.settings.topic_replies, reply)
        for reply in got.autoreplies:
            produce(self.producer, self.settings.topic_hooks, reply["email"].encode(),
                    encode(hook_values("autoreply", reply)))
        kind = "replies" if got.replies else "autoreplies"
        self.counts[kind] += 1
        return kind

    def _dead(self, source: Source, key: bytes | None, raw: bytes | None, problem: str,
              reason: str) -> str:
        self.counts[problem] += 1
        log.warning("mail %s[%d]@%d: %s: %s", source.topic, source.partition, source.offset,
                    problem, reason)
        produce(self.producer, self.settings.topic_dead_letters, key, DEAD_LETTER.encode(
            dead_letter(f"mail {problem}: {reason}", source, key, raw)))
        return problem

    def flush(self) -> None:
        """Wait until the broker has everything routed so far; raises BrokerError if not."""
        self.producer.flush()
        if self.failed:
            failed, self.failed[:] = list(self.failed), []
            raise BrokerError(f"could not produce what the mail gave: {failed[0]}")


def ingest_files(settings: Settings, path: Path) -> Counter[str]:
    """``bounceflow ingest --format mail PATH``: every mail under ``path`` through the
    router, its dead letters naming the file."""
    router = Router(settings)
    for mail in mails(path, settings.mail_max_bytes):
        router.route(mail.raw, mail.mtime_ms, Source(f"file:{mail.where}", 0, mail.index), None)
        router.producer.poll(0)
    router.flush()
    return router.counts


def run(settings: Settings, should_stop: Callable[[], bool],
        report_s: float = 60.0) -> Counter[str]:
    """Route the mail topic until ``should_stop()``; log the counts every ``report_s``."""
    router = Router(settings)
    consumer = Consumer(confluent_config(settings, **{
        "group.id": f"{settings.app_id}-mail", "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": int(settings.session_timeout_s * 1000)}))
    consumer.subscribe([settings.topic_mail])
    last_report = time.monotonic()
    try:
        while not should_stop():
            routed = 0
            for msg in consumer.consume(100, 0.5):
                if msg.error():
                    log.warning("mail topic: %s", msg.error())
                    continue
                router.route(msg.value(), msg.timestamp()[1],
                             Source(msg.topic(), msg.partition(), msg.offset()), msg.key())
                routed += 1
            if routed:
                router.flush()
                consumer.commit(asynchronous=False)
            if time.monotonic() - last_report >= report_s:
                last_report = time.monotonic()
                log.info("mail: %s", ", ".join(f"{k} {router.counts[k]}" for k in OUTCOMES))
    finally:
        consumer.close()
        router.flush()
    return router.counts
