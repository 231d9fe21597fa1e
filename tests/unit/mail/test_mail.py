"""The mail parser, correlation and VERP: reports shaped like several MTAs' (tests/unit/mail/
samples.py names each shape's source), classified by the same classifier as live replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.classify.classifier import Classifier
from streams.exceptions import RulesError
from streams.ingest.smtp_server import content_key
from streams.ingest.validation import problems
from streams.mail import autoreply
from streams.mail.events import STAGE, MailOptions, outcome
from streams.mail.report import Report, Unreadable, read
from streams.mail.verp import Correlated, Forged, Verp
from tests.unit.mail import samples

VERP = Verp("bounces+{token}@{domain}", "bounce.example", "test-secret")
RCPT = "erika@isp.example"
MID = "orig-1@shop.example"
PLAIN = "bounces@bounce.example"
OPTIONS = MailOptions(verp=VERP, account_id=7, sending_ip="192.0.2.1")

# (sample, action, kind, reason) under the default policy: every one ends as its text says.
FAILED = [
    (samples.postfix_failed, "hard", "userunknown"),
    (samples.exim_failed, "hard", "mailboxfull"),
    (samples.exchange_failed, "hard", "userunknown"),
    (samples.gmail_failed, "hard", "userunknown"),
    (samples.qmail_failed, "hard", "userunknown"),
    (samples.yahoo_failed, "hard", "userunknown"),
]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


@pytest.mark.parametrize(("sample", "kind", "reason"), FAILED,
                         ids=[s.__name__ for s, _, _ in FAILED])
def test_failed_reports_become_one_final_hard_reply(sample, kind, reason, classifier):
    to = VERP.address("m-1", RCPT)
    out = outcome(sample(to, RCPT, MID), 1_000, OPTIONS)
    assert out.problem is None, out.reason
    [reply] = out.replies
    assert problems(reply) == []
    assert (reply["message_id"], reply["email"], reply["smtp_stage"], reply["final"]) == (
        "m-1", RCPT, STAGE, True)
    assert (reply["account_id"], reply["sending_ip"], reply["from_domain"]) == (
        7, "192.0.2.1", "shop.example")
    c = classifier.classify(reply["reply_code"], reply["enhanced_status"],
                            reply["reply_text"], reply["smtp_stage"])
    assert (c.kind, c.reason) == (kind, reason)


def test_rfc3464_fields_are_read():
    report = read(samples.gmail_failed("bounces@bounce.example", RCPT, MID))
    assert isinstance(report, Report) and report.kind == "dsn"
    [r] = report.recipients
    assert (r.recipient, r.action, r.status) == (RCPT, "failed", "5.1.1")
    # the folded multi-line reply is one text, its continuation prefixes gone
    assert r.diagnostic.startswith("550-5.1.1 The email account")
    assert "550-5.1.1 double" not in r.diagnostic and "double-checking" in r.diagnostic
    assert r.remote_mta.startswith("gmail-smtp-in.l.google.example.")
    assert r.last_attempt_ms == 1796645398000  # 04:09:58 -0800 is 12:09:58 UTC
    assert report.reporting_mta == "googlemail.example"
    assert (report.original_message_id, report.original_from) == (MID, "news@shop.example")
    assert report.envelope_to == ("bounces@bounce.example",)


def test_a_delay_notice_is_soft_and_not_final(classifier):
    out = outcome(samples.postfix_delayed(VERP.address("m-2", RCPT), RCPT, MID), 1_000, OPTIONS)
    [reply] = out.replies
    assert (reply["final"], reply["enhanced_status"], reply["reply_code"]) == (False, "4.4.1",
                                                                               None)
    c = classifier.classify(None, "4.4.1", reply["reply_text"], STAGE)
    assert c.kind == "soft" and not c.suppress


def test_a_delay_with_a_permanent_last_reply_stays_soft(classifier):
    raw = samples.postfix_delayed(VERP.address("m-2", RCPT), RCPT, MID).replace(
        b"Status: 4.4.1", b"Status: 5.7.1").replace(
        b"Diagnostic-Code: X-Postfix;", b"Diagnostic-Code: smtp; 550 5.7.1 blocked;")
    [reply] = outcome(raw, 1_000, OPTIONS).replies
    assert reply["enhanced_status"] == "4.7.1" and reply["reply_code"] is None
    assert classifier.classify(None, "4.7.1", reply["reply_text"], STAGE).kind == "soft"


@pytest.mark.parametrize("sample", [samples.out_of_office, samples.vacation_de])
def test_auto_replies_are_their_own_outcome(sample):
    out = outcome(sample(VERP.address("m-3", RCPT), RCPT, MID), 1_000, OPTIONS)
    assert out.replies == [] and out.problem is None
    [a] = out.autoreplies
    assert (a["message_id"], a["email"], a["reason"]) == ("m-3", RCPT, "vacation")


def test_an_auto_reply_without_verp_correlates_by_in_reply_to():
    out = outcome(samples.out_of_office("bounces@bounce.example", RCPT, MID), 1_000, OPTIONS)
    [a] = out.autoreplies
    assert (a["message_id"], a["email"]) == (MID, RCPT)


def test_a_bounce_from_a_mailer_daemon_is_never_an_auto_reply():
    # Exim's bounces carry Auto-Submitted: auto-replied, the auto-reply header.
    assert read(samples.exim_failed("b@bounce.example", RCPT, MID)).kind == "dsn"
    raw = samples.qmail_failed("b@bounce.example", RCPT, MID).replace(
        b"Subject: failure notice", b"Subject: failure notice\nAuto-Submitted: auto-replied")
    assert read(raw).kind == "bounce"


def test_a_forged_verp_address_is_refused():
    good = VERP.address("m-1", RCPT)
    forged = good.replace("=erika=", "=victim=")
    assert isinstance(VERP.read(forged), Forged)
    out = outcome(samples.postfix_failed(forged, "victim@isp.example", MID), 1_000, OPTIONS)
    assert (out.problem, out.replies) == ("forged", [])
    assert "does not verify" in out.reason


def test_a_dsn_for_an_unknown_message_is_uncorrelated_not_guessed():
    out = outcome(samples.no_returned_headers("bounces@bounce.example", RCPT), 1_000, OPTIONS)
    assert (out.problem, out.replies) == ("uncorrelated", [])


def test_message_id_correlation_can_be_turned_off():
    raw = samples.postfix_failed("bounces@bounce.example", RCPT, MID)
    [reply] = outcome(raw, 1_000, OPTIONS).replies
    assert (reply["message_id"], reply["email"]) == (MID, RCPT)
    strict = MailOptions(verp=VERP, trust_message_id=False)
    assert outcome(raw, 1_000, strict).problem == "uncorrelated"


def test_malformed_mime_is_unreadable_with_a_reason():
    report = read(samples.malformed("bounces@bounce.example"))
    assert isinstance(report, Unreadable)
    assert "without a readable message/delivery-status part" in report.reason
    assert "StartBoundaryNotFoundDefect" in report.reason
    assert outcome(samples.malformed("b@bounce.example"), 0, OPTIONS).problem == "unreadable"
    assert read(b"\x00\x01 not a mail").reason.startswith("not a mail")


def test_a_plain_mail_is_neither_bounce_nor_auto_reply():
    raw = b"From: someone@example.org\nSubject: hello\n\nJust saying hi.\n"
    assert read(raw) == Unreadable("neither a delivery status notification nor an auto-reply")


def test_the_same_report_twice_has_the_same_event_id_and_key():
    to = VERP.address("m-1", RCPT)
    raw = samples.postfix_failed(to, RCPT, MID)
    first = outcome(raw, 1_000, OPTIONS).replies[0]
    again = outcome(raw, 99_000, OPTIONS).replies[0]  # received again, later
    assert first == again
    # read from a mailbox, where the MDA added its own trace header first: the same report
    boxed = b"Return-Path: <>\n" + raw
    assert outcome(boxed, 5, OPTIONS).replies[0]["event_id"] == first["event_id"]
    assert content_key(raw) == content_key(bytes(raw)) != content_key(boxed)
    other = outcome(samples.exim_failed(to, RCPT, MID), 1_000, OPTIONS).replies[0]
    assert other["event_id"] != first["event_id"]


def test_verp_round_trips_awkward_ids_and_addresses():
    for mid, rcpt in [("m-1", "a@b.example"), ("a=b+c%d@e", "x=y+tag@Host.Example"),
                      ("ünï cödé <1>", "o'neil@isp.example"), ("==", "=@b.example")]:
        address = VERP.address(mid, rcpt)
        local = address.rpartition("@")[0]
        assert "%" not in local and local.count("+") >= 1
        assert VERP.read(address) == Correlated(mid, rcpt.lower())


def test_verp_rejects_other_secrets_and_ignores_other_addresses():
    # the message id is case-sensitive: a rewritten case no longer verifies
    assert isinstance(VERP.read(VERP.address("m-1", RCPT).replace("m-1", "M-1")), Forged)
    other = Verp("bounces+{token}@{domain}", "bounce.example", "another-secret")
    assert isinstance(VERP.read(other.address("m-1", RCPT)), Forged)
    assert isinstance(VERP.read("bounces+nothing@bounce.example"), Forged)
    assert VERP.read("bounces@bounce.example") is None
    assert VERP.read("someone@elsewhere.example") is None
    with pytest.raises(ValueError):
        Verp("bounces@{domain}", "bounce.example", "s")
    with pytest.raises(ValueError):
        Verp("bounces+{token}@{domain}", "bounce.example", "")


def test_a_verp_signature_differing_in_one_character_is_refused():
    import inspect

    address = VERP.address("m-1", RCPT)
    local, _, domain = address.rpartition("@")
    head, _, signature = local.rpartition("=")
    assert VERP.read(address) == Correlated("m-1", RCPT)
    for i in range(len(signature)):
        for c in ("a", "2", "é", "\udcff"):  # another base32 letter or digit, non-ASCII
            if c != signature[i]:
                wrong = f"{head}={signature[:i]}{c}{signature[i + 1:]}@{domain}"
                assert isinstance(VERP.read(wrong), Forged), wrong
    # compared in constant time: the time taken must not tell how many leading characters match
    assert "hmac.compare_digest(" in inspect.getsource(Verp.read)


def test_autoreply_rules_file_is_checked(tmp_path: Path):
    assert autoreply.rules().subject.search("Réponse automatique : offres")
    assert autoreply.rules().subject.search("RE: Out of Office: December offers")
    assert autoreply.rules().subject.search("Автоответ: предложения")
    assert not autoreply.rules().subject.search("Undelivered Mail Returned to Sender")
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = "bounceflow.autoreply/1"\n[[headers]]\nname = "x"\n'
                   'pattern = "("\nsource = "s"\n[subjects]\nen = ["a"]\n')
    with pytest.raises(RulesError, match=r"headers\[0\]: bad pattern"):
        autoreply.rules(bad)


@pytest.mark.parametrize(("text", "says"), [
    ('schema = "bounceflow.patterns/1"\n', "expected schema = 'bounceflow.autoreply/1'"),
    ("daemon_senders = []\n", "expected schema = 'bounceflow.autoreply/1', found None"),
    ("schema = [", "not valid TOML"),
    ('schema = "bounceflow.autoreply/1"\ndaemon_senders = ["postmaster"]\n'
     'subject = ["typo"]\n', "unknown field subject"),
    ('schema = "bounceflow.autoreply/1"\ndaemon_senders = ["postmaster"]\n'
     '[[headers]]\nname = "x"\npattern = "."\nsorce = "s"\n[subjects]\nen = ["a"]\n',
     "headers[0] needs exactly name, pattern and source"),
])
def test_an_autoreply_file_with_a_wrong_schema_or_field_is_refused_naming_it(
        tmp_path: Path, text: str, says: str):
    bad = tmp_path / "my-autoreply.toml"
    bad.write_text(text)
    with pytest.raises(RulesError) as refused:
        autoreply.rules(bad)
    assert str(refused.value).startswith(f"{bad}: ") and says in str(refused.value)


@pytest.mark.parametrize("sample", [s for s, _, _ in FAILED] + [samples.postfix_delayed],
                         ids=lambda s: s.__name__)
def test_crlf_as_sent_and_lf_as_stored_give_the_same_events(sample):
    to = VERP.address("m-1", RCPT)
    lf = sample(to, RCPT, MID)
    crlf = lf.replace(b"\n", b"\r\n")
    assert outcome(lf, 1, OPTIONS).replies == outcome(crlf, 2, OPTIONS).replies != []


def test_a_dsn_after_a_delivery_gives_an_async_hbounce_and_suppresses(classifier):
    from streams.tracking.hooks import as_dict
    from streams.tracking.machine import Limits, decide

    limits = Limits(max_attempts=5, default_retry_s=600, message_lifetime_s=86400)
    [reply] = outcome(samples.postfix_failed(VERP.address("m-1", RCPT), RCPT, MID), 1_000,
                      OPTIONS).replies
    reply["recipient_domain"] = RCPT.rpartition("@")[2]
    reply.update(classifier.classify(reply["reply_code"], reply["enhanced_status"],
                                     reply["reply_text"], reply["smtp_stage"]).as_dict())
    delivered = {**reply, "event_id": "live-1", "smtp_stage": "dot", "kind": "delivered",
                 "suppress": False}
    first = decide(delivered, None, None, limits, 0)
    assert [as_dict(h)["event_data"]["async"] for h in first.hooks] == [False]
    later = decide(reply, first.recipient, None, limits, 0)
    hooks = [as_dict(h) for h in later.hooks]
    assert [h["event_type"] for h in hooks] == ["hbounce", "status"]
    assert all(h["event_data"]["async"] for h in hooks)
    assert later.recipient["suppressed_by"] == reply["event_id"]


def test_mangled_mails_give_an_outcome_never_an_exception():
    import random

    base = [sample(VERP.address("m", RCPT), RCPT, MID)
            for sample in [s for s, _, _ in FAILED] + [samples.postfix_delayed,
                                                      samples.out_of_office]]
    inserts = [b"\n", b";", b"=?utf-8?q?", b"=?utf-\xff?q?a?=", b"\xff", b"--", b": ", b"<",
               b"\r\n\r\n", b"Content-Type: message/delivery-status\n"]
    rnd = random.Random(7)
    kinds = set()
    for _ in range(400):
        raw = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 20)):
            i = rnd.randrange(len(raw))
            op = rnd.random()
            if op < 0.4:
                raw[i] = rnd.randrange(256)
            elif op < 0.7:
                del raw[i:i + rnd.randint(1, 50)]
            else:
                raw[i:i] = rnd.choice(inserts)
        got = outcome(bytes(raw), 0, OPTIONS)
        kinds.add(got.problem or "ok")
    assert "ok" in kinds and len(kinds) > 1  # some survive, some do not: both were tried


@pytest.mark.parametrize(("mail", "says"), [
    (samples.postfix_failed(PLAIN, RCPT, "m" * 5000 + "@shop.example"), "message_id"),
    (samples.postfix_failed(PLAIN, RCPT, MID).replace(b"dns; mx.isp.example",
                                                      b"dns; " + b"mx" * 3000), "mx_host"),
    (samples.out_of_office(PLAIN, RCPT, MID).replace(b"December offers", b"x" * 100_000),
     "bounce_text"),
    (samples.out_of_office(PLAIN, RCPT, "i" * 5000 + "@shop.example"), "message_id"),
])
def test_a_field_no_record_can_carry_makes_the_mail_invalid_not_a_record(mail, says):
    # A record the topics refuse would stop the relay at its flush, mail after mail.
    got = outcome(mail, 1, OPTIONS)
    assert (got.problem, got.replies, got.autoreplies) == ("invalid", [], [])
    assert says in got.reason


def test_verp_follows_the_algorithm_docs_dsn_md_gives_other_languages():
    import base64
    import hashlib
    import hmac
    import string

    safe = set(string.ascii_letters + string.digits + "!#$&'*/=?^_`{|}~.-")

    def escape(text: str) -> str:
        return "".join(c if c in safe else "".join(f"+{b:02X}" for b in c.encode())
                       for c in text)

    def address(secret: str, mid: str, rcpt: str) -> str:
        rcpt = rcpt.lower()
        local, _, domain = rcpt.rpartition("@")
        mac = hmac.new(secret.encode(), f"{mid}\x1f{rcpt}".encode(), hashlib.sha256).digest()
        signature = base64.b32encode(mac[:10]).decode().lower()
        return f"bounces+{escape(mid)}={escape(local)}={escape(domain)}={signature}@bounce.example"

    verp = Verp("bounces+{token}@{domain}", "bounce.example", "sëcret")
    for mid, rcpt in [("m-1", "A@b.example"), ("ü x+y%", "o'n=eil@isp.example")]:
        assert verp.address(mid, rcpt) == address("sëcret", mid, rcpt)
