"""Whatever mail arrives, the relay's entry point (``Router.route``) gives an outcome: arbitrary
bytes and mangled reports and auto-replies are routed or dead-lettered with a reason, never an
exception that would stop the relay; any RCPT TO gets a reply code from the receiver. The
router's producer is real; nothing is sent (no broker listens at its address): its queue is
purged at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import Envelope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.ingest.codec import SMTP_REPLY
from streams.ingest.smtp_server import BounceHandler
from streams.mail.events import outcome
from streams.mail.verp import Forged, Verp
from streams.runtime.mail_relay import OUTCOMES, Router
from streams.runtime.processing import Source
from streams.settings import Settings
from streams.tracking.hooks import encode, hook_values
from tests.examples import examples
from tests.unit.mail import samples

DOMAIN = "bounce.example"
SECRET = "fuzz-secret"
VERP = Verp("bounces+{token}@{domain}", DOMAIN, SECRET)
RCPT = "erika@isp.example"
BASE = [sample(VERP.address("m-1", RCPT), RCPT, "orig-1@shop.example")
        for sample in (samples.postfix_failed, samples.postfix_delayed, samples.exim_failed,
                       samples.exchange_failed, samples.gmail_failed, samples.qmail_failed,
                       samples.yahoo_failed, samples.out_of_office, samples.vacation_de)]
FUZZ = settings(max_examples=examples(400), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# What breaks MIME and headers: bytes that are not UTF-8 (the parser keeps them as surrogates),
# encoded words cut short, boundaries, parts of another type.
PIECES = [b"\n", b";", b"=?utf-8?q?", b"=?utf-\xff?q?a?=", b"\xff", b"\xc3", b"--", b": ", b"<",
          b"@", b"=", b"\r\n\r\n", b"Content-Type: message/delivery-status\n",
          b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\n",
          b"\xe9t\xe9@isp.example", b"a@" + b"b" * 1200]
# A topic's default max.message.bytes (Kafka's): a larger record would fail the relay's flush.
TOPIC_MAX_BYTES = 1_000_000


@pytest.fixture(scope="module")
def router() -> Iterator[Router]:
    # a deployment that takes large mails (the producer then takes records as large)
    r = Router(Settings.load(env={}, kafka_bootstrap="127.0.0.1:9", mail_bounce_domain=DOMAIN,
                             mail_verp_secret=SECRET, mail_max_bytes=4_000_000))
    yield r
    r.producer.purge()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(BASE)))
    for _ in range(draw(st.integers(1, 12))):
        i = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(("set", "cut", "insert")))
        if op == "set" and i < len(raw):
            raw[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del raw[i:i + draw(st.integers(1, 60))]
        else:
            raw[i:i] = draw(st.sampled_from(PIECES) | st.binary(max_size=20))
    return bytes(raw)


@st.composite
def odd_headers(draw: st.DrawFn) -> bytes:
    """A whole report or auto-reply whose envelope and address fields hold odd bytes, or more
    than a record can carry."""
    odd = draw(st.binary(min_size=1, max_size=12) | st.just(b"y" * 1_100_000))
    name = draw(st.sampled_from((b"From", b"X-Original-To", b"To", b"In-Reply-To",
                                 b"Message-ID", b"Subject", b"Original-Recipient")))
    raw = draw(st.sampled_from(BASE))
    head, sep, body = raw.partition(b"\n" + name + b": ")
    if not sep:
        return name + b": " + odd + b"\n" + raw
    value, nl, rest = body.partition(b"\n")
    # in place of the value, before it or after it (a subject still reads as an auto-reply's)
    return head + sep + draw(st.sampled_from((odd, odd + value, value + odd))) + nl + rest


@FUZZ
@given(raw=st.binary(max_size=2000) | mangled() | odd_headers())
# more than a record can carry, where a record takes it as is (the search may miss them)
@example(raw=BASE[7].replace(b"December offers", b"December offers" + b"y" * 1_100_000))
@example(raw=BASE[0].replace(b"dns; mx.isp.example", b"dns; mx" + b"y" * 1_100_000))
def test_any_mail_is_routed_or_dead_lettered_never_raised(raw: bytes, router: Router):
    before = sum(router.counts.values())
    # as the receiver and the mailbox reader hand it over: None when over the limit
    fits = raw if len(raw) <= router.settings.mail_max_bytes else None
    got = router.route(fits, 1_000, Source("mail", 0, before), b"key")
    assert got in OUTCOMES
    assert sum(router.counts.values()) == before + 1
    records = outcome(fits or b"", 1_000, router.options)
    assert all(len(SMTP_REPLY.encode(r)) < TOPIC_MAX_BYTES for r in records.replies)
    assert all(len(encode(hook_values("autoreply", r))) < TOPIC_MAX_BYTES
               for r in records.autoreplies)


def test_the_relay_routes_mail_it_understands(router: Router):
    """The fuzzing above reaches the parser: unmangled mail is routed, not dead-lettered."""
    got = [router.route(raw, 1_000, Source("mail", 0, 0), None) for raw in BASE]
    assert set(got) == {"replies", "autoreplies"}


def _verp_like(draw: st.DrawFn) -> str:
    address = VERP.address(draw(st.text(max_size=20)), draw(st.emails()))
    i = draw(st.integers(0, len(address)))
    return address[:i] + draw(st.text(max_size=6)) + address[i + draw(st.integers(0, 3)):]


@FUZZ
@given(address=st.text(max_size=80) | st.emails() | st.builds(lambda a: a + "@" + DOMAIN,
                                                              st.text(max_size=60))
       | st.composite(_verp_like)())
def test_the_receiver_answers_any_recipient_with_a_reply_code(address: str):
    handler = BounceHandler(Settings.load(env={}, mail_bounce_domain=DOMAIN,
                                          mail_verp_secret=SECRET), store=None)
    envelope = Envelope()
    got = asyncio.run(handler.handle_RCPT(None, None, envelope, address, []))
    assert got[:4] in ("250 ", "550 ")
    # taken when answered 250, and only then; a forged VERP address never is
    assert (envelope.rcpt_tos == [address]) == got.startswith("250")
    assert not (got.startswith("250") and isinstance(VERP.read(address), Forged))
