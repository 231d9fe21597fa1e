"""Exim main log lines. Shape: the Exim specification, chapter "Log files" (sections "Log line
flags" and "Reducing or increasing what is logged": ``<=`` with ``id=``, ``=>`` with ``R= T=
H=host [ip] C="..."``, ``==``/``**`` with "SMTP error from remote mail server after RCPT
TO:<...>: 550 ...", ``I=[ip]`` with +outgoing_interface, ``Completed``)."""

from __future__ import annotations

import json

from streams.adapters.common import Options, Skip
from streams.adapters.exim import Exim
from streams.classify.classifier import Classifier

ID = "1kABCD-0001Ab-Cd"
LOG = [
    f"2026-03-09 10:00:00 {ID} <= news@shop.example H=app.shop.example [10.0.0.5] P=esmtp "
    "S=2301 id=20260309.1@shop.example",
    f"2026-03-09 10:00:02 {ID} => a@gmail.example R=dnslookup T=remote_smtp "
    "H=mx.gmail.example [192.0.2.25] I=[203.0.113.10]:40012 X=TLS1.3:TLS_AES_256_GCM_SHA384:256"
    ' CV=yes C="250 2.0.0 OK 1678069691 x1si123 - gsmtp"',
    f"2026-03-09 10:00:03 {ID} == b@mail.example R=dnslookup T=remote_smtp defer (-44) "
    "H=mx.mail.example [192.0.2.26]: SMTP error from remote mail server after RCPT "
    "TO:<b@mail.example>: 452 4.2.2 Mailbox full",
    f"2026-03-09 10:00:04 {ID} ** c@mail.example R=dnslookup T=remote_smtp "
    "H=mx.mail.example [192.0.2.26]: SMTP error from remote mail server after RCPT "
    "TO:<c@mail.example>: 550 5.1.1 <c@mail.example>: Recipient address rejected: User unknown",
    f"2026-03-10 10:00:05 {ID} ** b@mail.example: retry timeout exceeded",
    f"2026-03-10 10:00:05 {ID} Completed",
]
OPTS = Options(utc_offset_s=0, sending_ip="198.51.100.7",
               senders={"news@shop.example": {"account_id": 7, "campaign_id": 101}})
CLASSIFIER = Classifier()


def kind(r):
    return CLASSIFIER.classify(r["reply_code"], r["enhanced_status"], r["reply_text"],
                               r["smtp_stage"])


def test_a_message_from_arrival_to_completion():
    exim = Exim(OPTS)
    got = [exim.line(line) for line in LOG]
    assert got[0] == Skip("arrival line") and got[5] == Skip("message completed")
    d, deferred, failed, expired = (g[0] for g in got[1:5])
    assert (d["reply_code"], d["enhanced_status"], d["smtp_stage"], d["sending_ip"]) == (
        250, "2.0.0", "dot", "203.0.113.10")
    assert (d["account_id"], d["campaign_id"], d["from_domain"], d["mx_host"]) == (
        7, 101, "shop.example", "mx.gmail.example")
    assert (deferred["reply_code"], deferred["smtp_stage"], deferred["sending_ip"]) == (
        452, "rcpt", "198.51.100.7")
    assert failed["final"] and kind(failed).kind == "hard"
    assert expired["final"] and expired["reply_text"] == "Mailbox full"
    assert expired["attempt"] == 1 and kind(expired).kind == "soft"
    assert exim.open == 0


def test_state_restores_and_broken_lines_are_counted():
    exim = Exim(OPTS)
    exim.line(LOG[0])
    exim.line(LOG[2])
    again = Exim(OPTS)
    again.restore(json.loads(json.dumps(exim.state())))
    assert again.line(LOG[4])[0]["reply_code"] == 452
    assert Exim(OPTS).line(f"2026-03-09 10:00:03 {ID} == b@mail.example R=dnslookup").bad
    assert Exim(OPTS).line("2026-03-09 10:00:03 Start queue run: pid=123") == Skip(
        "not an Exim message line")
    assert Exim(OPTS).line(f"2026-13-09 10:00:03 {ID} => a@b.example R=x").bad


def test_deliveries_of_exim_own_bounce_messages_are_not_replies():
    exim = Exim(OPTS)
    bounce = "1kABCE-0001Ab-Cd"
    exim.line(f"2026-03-09 10:00:05 {bounce} <= <> R={ID} U=Debian-exim P=local S=1911")
    got = exim.line(f"2026-03-09 10:00:06 {bounce} => news@shop.example R=dnslookup "
                    'T=remote_smtp H=mx.shop.example [192.0.2.9] C="250 OK"')
    assert got == Skip("delivery of a bounce notice (null sender)")


def test_exim_own_throttling_is_not_a_reply():
    exim = Exim(OPTS)
    got = exim.line(f"2026-03-09 10:00:03 {ID} == b@mail.example R=dnslookup T=remote_smtp "
                    "defer (-53): retry time not reached for any host for 'mail.example'")
    assert got == Skip("Exim's own throttling (retry time not reached)")


def test_a_message_that_never_completes_is_forgotten_and_counted():
    exim = Exim(OPTS)
    for n in range(20):  # arrived and deferred, never Completed (a lost log, a purged queue)
        for line in LOG[:3]:
            exim.line(line.replace(ID, f"1kABCD-{n:04d}Ab-Cd"))
    assert exim.open == 20
    late = "2026-03-20 10:00:00 1kZZZZ-9999Zz-Zz Completed"  # eleven days on
    for _ in range(10_000):
        exim.line(late)
    assert (exim.open, exim.abandoned) == (0, 20)
    again = Exim(OPTS)
    again.restore(json.loads(json.dumps(exim.state())))
    assert (again.open, again.abandoned) == (0, 20)  # the --follow state file stays small
