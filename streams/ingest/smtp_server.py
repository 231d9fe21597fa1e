"""``bounceflow ingest smtp``: the MX of the bounce (Return-Path) domain. Every accepted mail is
produced to the mail topic, keyed by the SHA-256 of its content, and answered 250 only once the
broker has acknowledged it: a crash (even ``kill -9``) loses no mail the sender was told was
taken; a mail that was not acknowledged is still the sender's, who retries it (451).

Refused at RCPT TO: an address outside the bounce domain (550 5.7.1, no relaying), a VERP
address whose signature does not verify (550 5.7.1: a forged bounce never reaches the
pipeline). Over ``mail_max_bytes``: 552 (aiosmtpd, by SIZE at MAIL FROM or after the data).
The stored value is the mail with an ``X-Original-To:`` field first naming the RCPT TO, as
Postfix's local delivery writes it, so that a mail read from a mailbox parses the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from confluent_kafka import KafkaError, Message

from streams.ingest.produce import reply_producer
from streams.mail.verp import Forged, Verp
from streams.settings import Settings

log = logging.getLogger(__name__)


def content_key(raw: bytes) -> str:
    """The Kafka key of a received mail: the same bytes, the same key."""
    return hashlib.sha256(raw).hexdigest()


def original_to(rcpt: str, raw: bytes) -> bytes:
    """The stored record: ``X-Original-To: <rcpt>`` then the mail as received."""
    return b"X-Original-To: " + rcpt.encode("utf-8", "replace") + b"\r\n" + raw


def mail_topic(settings: Settings) -> dict[str, dict[str, str]]:
    """The mail topic and its config, for ``ensure_topics``: records as large as a mail."""
    return {settings.topic_mail: {"max.message.bytes": str(settings.mail_record_bytes)}}


class MailStore:
    """Produces mail to the mail topic; ``store`` returns once the broker acknowledged it."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic_mail
        # Each record's own callback (``store``) answers its sender, so it must hear of
        # successes too; the shared list would only hear of records produced without one.
        self.failed: list[str] = []
        self.producer = reply_producer(settings, self.failed, **{
            "linger.ms": 2, "delivery.report.only.error": False,
            # a sender waits up to 10 minutes for the reply to its data (RFC 5321 4.5.3.2.6):
            # give up on Kafka well before, and answer 451 so that it retries
            "message.timeout.ms": 120_000,
            "message.max.bytes": settings.mail_record_bytes})
        self._stop = threading.Event()
        # Delivery reports arrive in poll(): polled here, resolved on the receiver's loop.
        self._poller = threading.Thread(target=self._poll, name="mail-store-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.05)

    async def store(self, key: str, value: bytes) -> str | None:
        """None once the broker has the record; else why it does not."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def acked(err: KafkaError | None, _msg: Message) -> None:
            result = None if err is None else str(err)
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(result))

        try:
            self.producer.produce(self.topic, value, key.encode(), on_delivery=acked)
        except BufferError as exc:  # the local queue is full: the sender retries later
            return f"producer queue full: {exc}"
        return await done

    def close(self) -> None:
        self.producer.flush(30)
        self._stop.set()
        self._poller.join()


class BounceHandler:
    """aiosmtpd's handler: who may be written to, and where accepted mail goes."""

    def __init__(self, settings: Settings, store: MailStore) -> None:
        self.domain = settings.mail_bounce_domain.lower()
        self.verp = (Verp(settings.mail_verp_pattern, self.domain, settings.mail_verp_secret)
                     if settings.mail_verp_secret and "verp" in settings.mail_ways() else None)
        self.store = store

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower().rpartition("@")[2] != self.domain:
            return f"550 5.7.1 <{address}>: relaying denied, this server takes bounces for " \
                   f"{self.domain} only"
        found = self.verp.read(address) if self.verp else None
        if isinstance(found, Forged):
            log.warning("refused a forged bounce address %s: %s", address, found.reason)
            return f"550 5.7.1 <{address}>: {found.reason}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        key = content_key(raw)
        for rcpt in envelope.rcpt_tos:
            err = await self.store.store(key, original_to(rcpt, raw))
            if err is not None:
                log.error("mail %s not stored: %s", key[:16], err)
                return "451 4.3.0 Could not store the message, try again later"
        return f"250 2.0.0 OK stored as {key[:16]}"


def start(settings: Settings, host: str, port: int) -> tuple[Controller, MailStore]:
    """Start the receiver in its own thread (``Controller``); stop it with ``stop``."""
    store = MailStore(settings)
    handler = BounceHandler(settings, store)
    controller = Controller(handler, hostname=host, port=port,
                            data_size_limit=settings.mail_max_bytes, ident="bounceflow",
                            server_hostname=settings.mail_bounce_domain)
    controller.start()
    return controller, store


def stop(controller: Any, store: MailStore) -> None:
    controller.stop()
    store.close()
