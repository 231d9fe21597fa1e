"""PowerMTA accounting CSV. Shape: the PowerMTA User's Guide, "Accounting records" (header line,
first column ``type``; fields timeLogged, orig, rcpt, dsnAction, dsnStatus "5.1.1 (bad
destination mailbox address)", dsnDiag "smtp;550 5.1.1 ...", dsnMta "mx.example (192.0.2.1)",
bounceCat, vmta, dlvSourceIp, jobId, envId, header_<Name>; times Unix seconds or
"YYYY-MM-DD HH:MM:SS+ZZZZ")."""

from __future__ import annotations

from streams.adapters.common import Options, Skip
from streams.adapters.powermta import PowerMTA
from streams.classify.classifier import Classifier

HEADER = ("type,timeLogged,orig,rcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,vmta,"
          "dlvSourceIp,jobId,envId,header_X-Account-Id")
ROWS = [
    'd,2026-03-09 10:00:02+0000,news@shop.example,a@gmail.example,relayed,2.0.0 (success),'
    '"smtp;250 2.0.0 OK 1678069691 x1si123 - gsmtp",mx.gmail.example (192.0.2.25),,vmta1,'
    '203.0.113.10,101,p-a,7',
    't,1773050403,news@shop.example,b@mail.example,delayed,4.2.2 (mailbox full),'
    '"smtp;452 4.2.2 Mailbox full, try later",mx.mail.example (192.0.2.26),quota-issues,vmta1,'
    '203.0.113.10,101,p-b,7',
    'b,1773050404,news@shop.example,c@mail.example,failed,5.1.1 (bad destination mailbox '
    'address),"smtp;550 5.1.1 <c@mail.example>: user unknown",mx.mail.example (192.0.2.26),'
    'bad-mailbox,vmta1,203.0.113.10,101,p-c,7',
    'b,1773136804,news@shop.example,b@mail.example,failed,4.2.2 (mailbox full),'
    '"smtp;452 4.2.2 Mailbox full, try later",mx.mail.example (192.0.2.26),quota-issues,vmta1,'
    '203.0.113.10,101,p-b,7',
]
CLASSIFIER = Classifier()


def run(lines, pmta=None):
    pmta = pmta or PowerMTA(Options(utc_offset_s=0))
    return [pmta.line(line) for line in lines]


def test_records_map_to_replies():
    header, d, t, b, expired = run([HEADER, *ROWS])
    assert header == Skip("header line")
    d, t, b, expired = d[0], t[0], b[0], expired[0]
    assert d["event_time"] == 1773050402000
    assert (d["reply_code"], d["enhanced_status"], d["reply_text"]) == (
        250, "2.0.0", "OK 1678069691 x1si123 - gsmtp")
    assert (d["sending_ip"], d["mx_host"], d["account_id"], d["campaign_id"],
            d["profile_id"]) == ("203.0.113.10", "mx.gmail.example", 7, 101, "p-a")
    assert not t["final"] and t["attempt"] == 1 and t["reply_code"] == 452
    assert b["final"] and CLASSIFIER.classify(b["reply_code"], b["enhanced_status"],
                                              b["reply_text"], b["smtp_stage"]).kind == "hard"
    # a bounce with a transient status: PowerMTA gave up retrying, soft and final
    assert expired["final"] and expired["attempt"] == 2 and expired["message_id"] == t[
        "message_id"]
    c = CLASSIFIER.classify(expired["reply_code"], expired["enhanced_status"],
                            expired["reply_text"], expired["smtp_stage"])
    assert c.kind == "soft" and not c.suppress


def test_other_and_broken_records():
    header = HEADER.split(",")
    blank = ["" for _ in header]
    rows = [",".join(["tq", *blank[1:]]), ",".join(["f", *blank[1:]]),
            ",".join(["zz", *blank[1:]]), ROWS[0][:60], ROWS[0].replace("2026-03-09", "soon")]
    tq, f, zz, cut, bad_time = run([HEADER, *rows])[1:]
    assert tq == Skip("tq record") and f == Skip("f record")
    assert zz.bad and cut.bad and bad_time.bad
    assert run([ROWS[0]])[0] == Skip("record before any header line", bad=True)
    assert run(["type,orig"])[0].bad
