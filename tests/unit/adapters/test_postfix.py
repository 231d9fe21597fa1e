"""Postfix log lines. Shapes: Postfix's src/global/log_adhoc.c (the ``to=<>, relay=, delay=,
delays=, dsn=, status= (text)`` line), src/smtp/smtp_proto.c / smtp_trouble.c ("host H[A] said:
... (in reply to RCPT TO command)", "connect to H[A]:25: ..."), src/qmgr/qmgr_active.c
("from=<>, status=expired, returned to sender"), src/cleanup/cleanup_message.c ("message-id=<>",
header_checks "info: header ..."), as syslog (RFC 3164) or maillog_file / RFC 3339 lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from streams.adapters.common import Options, Skip
from streams.adapters.postfix import Postfix
from streams.classify.classifier import Classifier

REF = int(datetime(2026, 3, 10, tzinfo=timezone.utc).timestamp() * 1000)
UTC = Options(utc_offset_s=0, sending_ip="203.0.113.10",
              senders={"shop.example": {"account_id": 7}})
H = "Mar  9 10:00:0{} mail postfix/{}[1234]: 4BqR3X0Z1Tz9: "
CLASSIFIER = Classifier()

LOG = [
    H.format(0, "cleanup") + "message-id=<20260309.1@shop.example>",
    H.format(0, "cleanup") + "info: header X-Campaign-Id: 101 from localhost[127.0.0.1]; "
    "from=<news@shop.example> to=<a@gmail.example> proto=ESMTP helo=<app>",
    H.format(1, "qmgr") + "from=<news@shop.example>, size=2301, nrcpt=2 (queue active)",
    H.format(2, "smtp") + "to=<a@gmail.example>, relay=mx.gmail.example[192.0.2.25]:25, "
    "delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK 1678069691 "
    "x1si123 - gsmtp)",
    H.format(3, "smtp") + "to=<b@mail.example>, relay=mx.mail.example[192.0.2.26]:25, "
    "delay=2, delays=0.1/0/0.5/1.4, dsn=4.2.2, status=deferred (host mx.mail.example"
    "[192.0.2.26] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))",
    H.format(4, "smtp") + "to=<b@mail.example>, relay=none, delay=30, "
    "delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.mail.example"
    "[192.0.2.26]:25: Connection timed out)",
    H.format(5, "qmgr") + "from=<news@shop.example>, status=expired, returned to sender",
    H.format(6, "qmgr") + "removed",
]


def replies(pf: Postfix, lines):
    out = []
    for line in lines:
        got = pf.line(line)
        assert not (isinstance(got, Skip) and got.bad), (line, got)
        if not isinstance(got, Skip):
            out.extend(got)
    return out


def test_a_queue_id_from_arrival_to_removal():
    pf = Postfix(UTC, reference_ms=REF)
    sent, deferred, timeout, expired = replies(pf, LOG)
    assert sent["event_time"] == int(datetime(2026, 3, 9, 10, 0, 2,
                                              tzinfo=timezone.utc).timestamp() * 1000)
    assert (sent["reply_code"], sent["enhanced_status"], sent["smtp_stage"]) == (
        250, "2.0.0", "dot")
    assert sent["reply_text"] == "OK 1678069691 x1si123 - gsmtp"
    assert (sent["from_domain"], sent["sending_ip"], sent["mx_host"]) == (
        "shop.example", "203.0.113.10", "mx.gmail.example")
    assert (sent["account_id"], sent["campaign_id"]) == (7, 101)
    assert (deferred["reply_code"], deferred["smtp_stage"], deferred["reply_text"]) == (
        452, "rcpt", "Mailbox full")
    assert (timeout["reply_code"], timeout["smtp_stage"], timeout["attempt"]) == (
        None, "connect", 2)
    assert timeout["enhanced_status"] == "4.4.1"
    # the expiry ends the deferred recipient with its last real reply, final and soft
    assert expired["email"] == "b@mail.example" and expired["final"]
    assert expired["reply_text"] == timeout["reply_text"] and expired["attempt"] == 2
    assert CLASSIFIER.classify(expired["reply_code"], expired["enhanced_status"],
                               expired["reply_text"], expired["smtp_stage"]).kind == "soft"
    assert pf.open == 0
    assert len({r["event_id"] for r in (sent, deferred, timeout, expired)}) == 4
    assert sent["message_id"] == "4BqR3X0Z1Tz9/a@gmail.example"


def test_bounced_is_final_and_the_ids_repeat_on_replay():
    line = (H.format(2, "smtp") + "to=<x@mail.example>, relay=mx.mail.example[192.0.2.26]:25,"
            " delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.mail.example"
            "[192.0.2.26] said: 550 5.1.1 <x@mail.example>: Recipient address rejected: User "
            "unknown in virtual mailbox table (in reply to RCPT TO command))")
    a, b = Postfix(UTC, REF).line(line), Postfix(UTC, REF).line(line)
    assert a[0]["final"] and a[0]["reply_code"] == 550 and a[0]["enhanced_status"] == "5.1.1"
    assert a[0]["event_id"] == b[0]["event_id"]
    assert a[0]["from_domain"] == ""  # no qmgr line seen: the sender is unknown


def test_rfc3339_lines_and_the_syslog_year_rule():
    iso = ("2026-03-09T10:00:02.123456+01:00 mail postfix/smtp[1]: 4BqR3X0Z1Tz9: "
           + LOG[3].split(": ", 2)[2])
    r = Postfix(UTC, REF).line(iso)[0]
    assert r["event_time"] == int(datetime(2026, 3, 9, 9, 0, 2, 123456,
                                           tzinfo=timezone.utc).timestamp() * 1000)
    december = LOG[3].replace("Mar  9", "Dec 31")
    jan = int(datetime(2027, 1, 2, tzinfo=timezone.utc).timestamp() * 1000)
    assert datetime.fromtimestamp(Postfix(UTC, jan).line(december)[0]["event_time"] / 1000,
                                  timezone.utc).year == 2026


def test_open_queue_ids_survive_a_restart():
    pf = Postfix(UTC, REF)
    replies(pf, LOG[:5])
    again = Postfix(UTC, REF)
    again.restore(json.loads(json.dumps(pf.state())))
    expired = replies(again, LOG[6:])
    assert [r["email"] for r in expired] == ["b@mail.example"]
    assert expired[0]["reply_code"] == 452 and expired[0]["attempt"] == 1
    assert expired[0]["from_domain"] == "shop.example"


def test_a_queue_id_that_never_completes_is_counted():
    pf = Postfix(UTC, REF + 30 * 86_400_000)
    replies(pf, LOG[:5])
    assert pf.open == 1
    late = LOG[7].replace("Mar  9", "Mar 29").replace("4BqR3X0Z1Tz9", "5CqR3X0Z1Tz9")
    for _ in range(10_000):
        pf.line(late)
    assert pf.abandoned == 1


def test_broken_and_foreign_lines():
    cut = LOG[4][:120]
    assert Postfix(UTC, REF).line(cut) == Skip("cut Postfix to= line", bad=True)
    assert not Postfix(UTC, REF).line("Mar  9 10:00:00 mail sshd[1]: Accepted key").bad
    assert Postfix(UTC, REF).line("Foo  9 10:00:00 mail postfix/smtp[1]: 4BqR3X0Z1Tz9: "
                                  "removed").bad
    assert Postfix(UTC, REF).line(LOG[2][:70]).bad
    assert Postfix(UTC, REF).line(b"\xff" + LOG[3].encode()) == Skip(
        "not a Postfix queue-id line")


def test_deliveries_of_postfix_own_bounce_notices_are_not_replies():
    pf = Postfix(UTC, REF)
    notice = [H.format(5, "qmgr").replace("4BqR3X0Z1Tz9", "5DqR3X0Z1Tz9")
              + "from=<>, size=4242, nrcpt=1 (queue active)",
              H.format(6, "smtp").replace("4BqR3X0Z1Tz9", "5DqR3X0Z1Tz9")
              + "to=<news@shop.example>, relay=mx.shop.example[192.0.2.9]:25, delay=0.2, "
              "delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Bx)"]
    assert [pf.line(line) for line in notice][1] == Skip(
        "delivery of a bounce notice (null sender)")


def test_postfix_own_throttling_is_not_a_reply():
    pf = Postfix(UTC, REF)
    replies(pf, LOG[:3])
    suspended = (H.format(4, "error") + "to=<b@mail.example>, relay=none, delay=30, "
                 "delays=30/0/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: "
                 "connect to mx.mail.example[192.0.2.26]:25: Connection timed out)")
    assert pf.line(suspended) == Skip("Postfix's own throttling (delivery temporarily suspended)")
    assert pf.line(LOG[4])[0]["attempt"] == 1  # not counted as an attempt either
