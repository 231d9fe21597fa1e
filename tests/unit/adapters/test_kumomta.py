"""KumoMTA log records. Shape: KumoMTA's docs/reference/log_record.md (KumoCorp/kumomta); the
Expiration's synthetic response (551 5.4.7 "Next delivery time ... > ...", no command, site
"localhost") is the one kumod's queue code logs (kumod/src/queue.rs)."""

from __future__ import annotations

import json

from streams.adapters.common import Options, Skip
from streams.adapters.kumomta import KumoMTA
from streams.classify.classifier import Classifier

CLASSIFIER = Classifier()


def record(kind: str = "Delivery", **over):
    rec = {
        "type": kind, "id": "1d98076abbbc11ed940250ebf67f93bd",
        "sender": "bounce@news.shop.example", "recipient": "user@recipient.example.com",
        "queue": "spring:acme@recipient.example.com",
        "site": "source2->(alt1|alt2)?.mx.recipient.example.com.", "size": 1047,
        "response": {"code": 250, "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
                     "content": "OK ids=8a5475ccbbc611eda12250ebf67f93bd", "command": "."},
        "peer_address": {"name": "mx.recipient.example.com.", "addr": "192.0.2.25"},
        "timestamp": 1678069691, "created": 1678069600, "num_attempts": 1,
        "bounce_classification": "Uncategorized", "egress_pool": "pool0",
        "egress_source": "source2",
        "source_address": {"address": "10.0.0.1:53210", "protocol": None, "server": None},
        "feedback_report": None, "meta": {"account_id": "7", "campaign_id": 100},
        "headers": {"X-List-Id": "12"}, "delivery_protocol": "ESMTP",
        "reception_protocol": "ESMTP", "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173",
    }
    rec.update(over)
    return rec


def transient(n: int, content: str = "Mailbox full, try again later", **over):
    return record("TransientFailure", num_attempts=n, timestamp=1678069691 + n * 600,
                  response={"code": 452, "enhanced_code": {"class": 4, "subject": 2,
                                                           "detail": 2},
                            "content": content, "command": "RCPT TO"}, **over)


def expiration(n: int):
    return record("Expiration", num_attempts=n, timestamp=1678069691 + n * 600 + 1,
                  site="localhost", peer_address=None,
                  response={"code": 551, "enhanced_code": {"class": 5, "subject": 4,
                                                           "detail": 7},
                            "content": "Next delivery time 1day 2h > 1day", "command": None})


def one(result):
    assert isinstance(result, list) and len(result) == 1, result
    return result[0]


def test_delivery_maps_every_field():
    r = one(KumoMTA().record(record()))
    assert r["email"] == "user@recipient.example.com"
    assert r["message_id"] == "1d98076abbbc11ed940250ebf67f93bd"
    assert r["event_time"] == 1678069691000
    assert (r["reply_code"], r["enhanced_status"], r["smtp_stage"]) == (250, "2.0.0", "dot")
    assert r["reply_text"] == "OK ids=8a5475ccbbc611eda12250ebf67f93bd"
    assert (r["sending_ip"], r["mx_host"], r["from_domain"]) == (
        "10.0.0.1", "mx.recipient.example.com", "news.shop.example")
    assert (r["account_id"], r["campaign_id"], r["list_id"]) == (7, 100, None)
    assert r["attempt"] == 1 and r["final"] is False


def test_event_time_prefers_rfc3339_and_ids_are_deterministic():
    rec = record(event_time="2023-03-06T02:28:11.250Z")
    a, b = KumoMTA().record(rec), KumoMTA().line(json.dumps(rec))
    assert one(a)["event_time"] == 1678069691250
    assert one(a)["event_id"] == one(b)["event_id"]
    assert one(a)["event_id"] != one(KumoMTA().record(transient(1)))["event_id"]


def test_configurable_sources_queue_headers_and_default_ip():
    opts = Options(account_id=3, sending_ip="198.51.100.7",
                   fields={"campaign_id": "queue.campaign", "list_id": "headers.X-List-Id",
                           "profile_id": "queue.tenant", "account_id": "meta.missing"})
    r = one(KumoMTA(opts).record(record(source_address=None)))
    assert (r["account_id"], r["campaign_id"], r["list_id"], r["profile_id"]) == (
        3, None, 12, "acme")  # "spring" is not a number: no campaign id
    assert r["sending_ip"] == "198.51.100.7"


def test_bounce_is_final_and_hard():
    r = one(KumoMTA().record(record("Bounce", response={
        "code": 550, "enhanced_code": {"class": 5, "subject": 1, "detail": 1},
        "content": "The email account that you tried to reach does not exist.",
        "command": "RCPT TO"})))
    assert r["final"] and r["smtp_stage"] == "rcpt" and r["enhanced_status"] == "5.1.1"
    assert CLASSIFIER.classify(r["reply_code"], r["enhanced_status"], r["reply_text"],
                               r["smtp_stage"]).kind == "hard"


def test_expiration_is_undeliverable_with_the_last_real_reply_never_hard():
    kumo = KumoMTA()
    first = one(kumo.record(transient(1)))
    assert first["final"] is False and first["attempt"] == 1
    # its own throttling is not a server's reply: skipped, and not the text an expiry shows
    internal = kumo.record(transient(2, "KumoMTA internal: ready queue is full"))
    assert internal == Skip("KumoMTA internal TransientFailure")
    r = one(kumo.record(expiration(2)))
    assert r["final"] is True
    assert (r["reply_code"], r["enhanced_status"], r["reply_text"]) == (
        452, "4.2.2", "Mailbox full, try again later")
    c = CLASSIFIER.classify(r["reply_code"], r["enhanced_status"], r["reply_text"],
                            r["smtp_stage"])
    assert c.kind == "soft" and not c.suppress


def test_expiration_without_a_known_reply_is_soft_expired():
    r = one(KumoMTA().record(expiration(3)))
    assert (r["reply_code"], r["enhanced_status"]) == (None, "4.4.7")
    assert "Next delivery time" in r["reply_text"] and r["final"]
    c = CLASSIFIER.classify(None, r["enhanced_status"], r["reply_text"], None)
    assert (c.kind, c.reason, c.suppress) == ("soft", "expired", False)


def test_state_survives_a_restart():
    kumo = KumoMTA()
    kumo.record(transient(1))
    again = KumoMTA()
    again.restore(json.loads(json.dumps(kumo.state())))
    assert one(again.record(expiration(1)))["reply_code"] == 452


def test_multi_recipient_record_gives_one_reply_each():
    rec = record(recipient=["a@x.example", "b@y.example"])
    out = KumoMTA().record(rec)
    assert [r["email"] for r in out] == ["a@x.example", "b@y.example"]
    assert len({r["event_id"] for r in out}) == 2
    assert out[0]["message_id"] == "1d98076abbbc11ed940250ebf67f93bd/a@x.example"


def test_not_replies_are_counted_skips():
    for kind in ("Reception", "Feedback", "Rejection", "Delay"):
        assert KumoMTA().record(record(kind)) == Skip(f"{kind} record")


def test_broken_input_is_a_bad_skip_never_a_crash():
    whole = json.dumps(record())
    cases = [whole[: len(whole) // 2], "[]", "null", json.dumps(record("Teleport")),
             json.dumps(record(recipient=None)), json.dumps(record(timestamp="soon")),
             json.dumps(record(recipient="not-an-address")), b"\xff\xfe",
             json.dumps({"type": []}), json.dumps(record(response=1)),
             json.dumps(transient(1, content=7))]
    for case in cases:
        got = KumoMTA().line(case)
        assert isinstance(got, Skip) and got.bad, (case, got)
    assert "unknown record type 'Teleport'" in KumoMTA().line(cases[3]).reason
