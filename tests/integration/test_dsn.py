"""Bounces that arrive later, by mail: DSNs and auto-replies sent by SMTP to `bounceflow ingest
smtp` on loopback, and the same set read from a Maildir, through a real worker on the session
broker. The mails are tests/unit/mail/samples.py (each names the MTA output it is shaped like)."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from streams.classify.classifier import Classifier
from streams.ingest.codec import DEAD_LETTER, HOOK, SMTP_REPLY
from streams.ingest.produce import reply_producer, send_reply
from streams.local.broker import free_port
from streams.local.reference import SUMMARY_KEYS, expected
from streams.local.testing import stop_worker, worker_env
from streams.mail.verp import Verp
from streams.settings import Settings
from tests.conftest import report_json, run_cli
from tests.integration.checks import read_topic, wait_until
from tests.unit.mail import samples

pytestmark = pytest.mark.integration

DOMAIN = "bounce.example"
SECRET = "integration-secret"
VERP = Verp("bounces+{token}@{domain}", DOMAIN, SECRET)
PLAIN = f"bounces@{DOMAIN}"

# name -> (sample, what the worker must make of it: hook types of the message)
FAILED = {"postfix": samples.postfix_failed, "exim": samples.exim_failed,
          "exchange": samples.exchange_failed, "gmail": samples.gmail_failed,
          "qmail": samples.qmail_failed, "yahoo": samples.yahoo_failed}
AUTO = {"ooo": samples.out_of_office, "vacation": samples.vacation_de}


def _settings(settings_factory, **overrides) -> Settings:
    return settings_factory(topic_mail=f"mail-{uuid.uuid4().hex[:8]}",
                            mail_bounce_domain=DOMAIN, mail_verp_secret=SECRET, **overrides)


class Receiver:
    """`bounceflow ingest smtp` in a subprocess."""

    def __init__(self, settings: Settings, log: Path, *args: str) -> None:
        self.port = free_port()
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "ingest", "smtp", "--listen",
                 f"127.0.0.1:{self.port}", *args],
                env=worker_env(settings), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as s:
                    s.noop()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-3000:]) from None
                time.sleep(0.2)

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=60)

    def stop(self) -> None:
        stop_worker(self.process, 30)


@pytest.fixture
def receivers(tmp_path: Path):
    started: list[Receiver] = []

    def make(settings: Settings, *args: str) -> Receiver:
        r = Receiver(settings, tmp_path / f"receiver{len(started)}.log", *args)
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def crlf(raw: bytes) -> bytes:
    """On the wire, SMTP lines end in CRLF (smtplib sends bytes as they are)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _mails() -> dict[str, tuple[str, bytes]]:
    """name -> (envelope recipient, mail): one message and recipient each."""
    out = {}
    for name, sample in {**FAILED, **AUTO, "delay": samples.postfix_delayed}.items():
        rcpt = f"{name}@rcpt.example"
        out[name] = (VERP.address(f"msg-{name}", rcpt), sample(
            VERP.address(f"msg-{name}", rcpt), rcpt, f"<orig-{name}@shop.example>".strip("<>")))
    out["unknown"] = (PLAIN, samples.no_returned_headers(PLAIN, "unknown@rcpt.example"))
    out["malformed"] = (PLAIN, samples.malformed(PLAIN))
    forged = VERP.address("msg-forged", "victim@rcpt.example").replace("=victim=", "=other=")
    out["forged"] = (forged, samples.postfix_failed(forged, "other@rcpt.example", "o@shop"))
    return out


def _hooks(settings: Settings) -> list[dict]:
    return [HOOK.decode(m.value()) for m in read_topic(settings, settings.topic_hooks, 1.0)]


def _dead_reasons(settings: Settings) -> Counter:
    return Counter(DEAD_LETTER.decode(m.value())["reason"].split(":")[0]
                   for m in read_topic(settings, settings.topic_dead_letters, 1.0))


def _check_hooks(hooks: list[dict]) -> None:
    by_message: dict[str, set[str]] = {}
    for h in hooks:
        by_message.setdefault(h["event_data"]["message_id"], set()).add(h["event_type"])
    # msg-postfix was delivered first (a live 250), then bounced by mail
    assert by_message.get("msg-postfix") == {"deliv", "hbounce", "status"}
    for name in set(FAILED) - {"postfix"}:
        assert by_message.get(f"msg-{name}") == {"hbounce", "status"}, name
    assert by_message.get("msg-delay") == {"sbounce"}
    for name in AUTO:
        assert by_message.get(f"msg-{name}") == {"autoreply"}, name
    assert "msg-forged" not in by_message
    for h in hooks:
        assert h["event_data"]["async"] is (h["event_type"] != "deliv"), h
        if h["event_type"] == "autoreply":
            assert h["event_data"]["reason"] == "vacation"
    reasons = {h["event_data"]["message_id"]: h["event_data"]["reason"]
               for h in hooks if h["event_type"] == "hbounce"}
    assert reasons == {"msg-postfix": "userunknown", "msg-exim": "mailboxfull",
                       "msg-exchange": "userunknown", "msg-gmail": "userunknown",
                       "msg-qmail": "userunknown", "msg-yahoo": "userunknown"}


def test_bounces_by_smtp_then_the_same_from_a_maildir(settings_factory, worker_factory,
                                                      receivers, tmp_path: Path):
    settings = _settings(settings_factory)
    worker = worker_factory(settings)
    receiver = receivers(settings)
    mails = _mails()
    # the postfix report's message was delivered, as far as the live SMTP reply said
    producer = reply_producer(settings, [])
    send_reply(producer, settings.topic_replies, {
        "event_id": "live-postfix", "event_time": 1_796_600_000_000, "account_id": 0,
        "message_id": "msg-postfix", "email": "postfix@rcpt.example",
        "from_domain": "shop.example", "sending_ip": "192.0.2.1", "attempt": 1,
        "smtp_stage": "dot", "reply_code": 250, "enhanced_status": "2.0.0",
        "reply_text": "2.0.0 Ok: queued as 8F1A2B3C4D"})
    producer.flush()
    refused = {}
    with receiver.smtp() as s:
        for name, (to, raw) in mails.items():
            try:
                s.sendmail("", [to], crlf(raw))
            except smtplib.SMTPRecipientsRefused as exc:
                refused[name] = exc.recipients[to]
        with pytest.raises(smtplib.SMTPRecipientsRefused) as elsewhere:
            s.sendmail("", ["postmaster@other.example"], mails["postfix"][1])
    assert list(refused) == ["forged"]
    assert refused["forged"][0] == 550 and b"does not verify" in refused["forged"][1]
    code, text = elsewhere.value.recipients["postmaster@other.example"]
    assert code == 550 and b"relaying denied" in text

    replies = 6 + 1  # six failed reports and a delay notice
    worker.wait(1 + replies)
    wait_until(lambda: len(_hooks(settings)) >= 1 + 6 * 2 + 1 + 2, timeout=60)
    first = _hooks(settings)
    _check_hooks(first)
    assert _dead_reasons(settings) == {"mail uncorrelated": 1, "mail unreadable": 1}

    # The same mails as a Postfix local delivery would have left them in a Maildir.
    box = tmp_path / "Maildir"
    for d in ("new", "cur", "tmp"):
        (box / d).mkdir(parents=True)
    for i, (to, raw) in enumerate(mails.values()):
        (box / "new" / f"1765080600.{i}.host").write_bytes(
            b"Return-Path: <>\nX-Original-To: " + to.encode() + b"\n" + raw)
    done = run_cli(settings, "ingest", "--format", "mail", str(box))
    assert done.returncode == 0, done.stderr
    assert "replies 7, autoreplies 2, unreadable 1, forged 1, uncorrelated 1" in done.stderr
    worker.wait(1 + 2 * replies)
    # every event id twice (SMTP, Maildir), so the worker counted each report once
    ids = Counter(SMTP_REPLY.decode(m.value())["event_id"]
                  for m in read_topic(settings, settings.topic_replies, 1.0))
    assert ids.pop("live-postfix") == 1
    assert len(ids) == replies and set(ids.values()) == {2}
    wait_until(lambda: len(_hooks(settings)) >= 2 * len(first) - 1, timeout=60)
    again = _hooks(settings)
    # replays re-emit the same hooks, with the same ids, nothing new
    assert Counter(h["hook_id"] for h in again) == Counter(
        {h["hook_id"]: 1 if h["event_type"] == "deliv" else 2 for h in first})
    assert _dead_reasons(settings) == {"mail uncorrelated": 2, "mail unreadable": 2,
                                       "mail forged": 1}
    # the dead letters keep the raw mail
    letters = [DEAD_LETTER.decode(m.value())
               for m in read_topic(settings, settings.topic_dead_letters, 1.0)]
    malformed = [d for d in letters if d["reason"].startswith("mail unreadable")]
    assert all(mails["malformed"][1] in d["value"].replace(b"\r\n", b"\n") for d in malformed)

    # The summary: the delivered message bounced later is no longer delivered; the async
    # bounces counted apart; each report once; what the reference model says.
    worker.stop()
    summary = report_json(settings, "summary")
    assert {k: summary[k] for k in ("replies", "delivered", "hard_bounces", "soft_bounces",
                                    "async_hard_bounces", "async_soft_bounces",
                                    "delivered_messages", "hard_bounced_profiles")} == {
        "replies": 8, "delivered": 1, "hard_bounces": 6, "soft_bounces": 1,
        "async_hard_bounces": 6, "async_soft_bounces": 1, "delivered_messages": 0,
        "hard_bounced_profiles": 6}
    unique = {}
    for m in read_topic(settings, settings.topic_replies, 1.0):
        event = SMTP_REPLY.decode(m.value())
        unique.setdefault(event["event_id"], event)
    want = expected(list(unique.values()), Classifier(), settings.max_attempts)["summary"]
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: want[k] for k in SUMMARY_KEYS}


def test_a_20_mb_mail_is_refused_with_552(settings_factory, receivers):
    settings = _settings(settings_factory)
    receiver = receivers(settings, "--no-relay")
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 20_000
    with receiver.smtp() as s:
        # announced with SIZE: refused at MAIL FROM
        with pytest.raises(smtplib.SMTPSenderRefused) as announced:
            s.sendmail("", [PLAIN], big)
        assert announced.value.smtp_code == 552
        s.rset()
        # sent without SIZE: refused after the data
        assert s.mail("")[0] == 250 and s.rcpt(PLAIN)[0] == 250
        code, text = s.data(big)
        assert code == 552, text
    assert read_topic(settings, settings.topic_mail, 1.0) == []


def test_kill_9_mid_stream_loses_no_mail_it_accepted(settings_factory, receivers):
    settings = _settings(settings_factory)
    receiver = receivers(settings, "--no-relay")
    accepted: list[str] = []
    stop = threading.Event()

    def send() -> None:
        for i in range(2000):
            if stop.is_set():
                return
            raw = crlf(samples.postfix_failed(PLAIN, f"r{i}@rcpt.example", f"m{i}@shop"))
            try:
                with receiver.smtp() as s:
                    reply = s.sendmail("", [PLAIN], raw)
                    assert reply == {}
                    accepted.append(f"r{i}@rcpt.example")
            except (OSError, smtplib.SMTPException):
                return  # the receiver is gone: this mail was never answered 250

    sender = threading.Thread(target=send)
    sender.start()
    wait_until(lambda: len(accepted) >= 30, timeout=60)
    os.kill(receiver.process.pid, signal.SIGKILL)
    receiver.process.wait()
    stop.set()
    sender.join(30)
    stored = read_topic(settings, settings.topic_mail, 2.0)
    texts = [m.value() for m in stored]
    missing = [r for r in accepted if not any(f"<{r}>".encode() in t for t in texts)]
    assert accepted and missing == []
    # keyed by content: the same mail, the same key
    assert all(len(m.key()) == 64 for m in stored)
