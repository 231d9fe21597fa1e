"""The demo's stream of SMTP replies written as each MTA logs them (docs/mta/<name>.md): for
`bounceflow demo --from kumomta` and bench/ingest.py. A message the stream gives up on (its
last reply is ``final``) ends, in KumoMTA's log, with an Expiration record after its last
TransientFailure, as KumoMTA logs one."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any

PMTA_HEADER = ["type", "timeLogged", "orig", "rcpt", "dsnAction", "dsnStatus", "dsnDiag",
               "dsnMta", "vmta", "dlvSourceIp", "jobId", "envId"]


def _status(e: dict[str, Any]) -> str:
    code = e["reply_code"]
    return "sent" if code and code < 300 else "bounced" if code and code >= 500 else "deferred"


def _said(e: dict[str, Any]) -> str:
    if e["reply_code"] is None:
        return f"connect to {e['mx_host']}[192.0.2.1]:25: Connection timed out"
    text = f"{e['reply_code']} {e['enhanced_status'] or ''} {e['reply_text']}".replace("  ", " ")
    return f"host {e['mx_host']}[192.0.2.1] said: {text} (in reply to RCPT TO command)"


def postfix_lines(events: list[dict[str, Any]]) -> list[str]:
    """qmgr's from= line for each new queue id, then each reply's to= line."""
    lines, qids = [], {}
    for e in events:
        stamp = datetime.fromtimestamp(e["event_time"] / 1000, timezone.utc).strftime(
            "%b %e %H:%M:%S")
        qid = qids.get(e["message_id"])
        if qid is None:
            qid = qids[e["message_id"]] = f"{0x100000 + len(qids):X}Q"
            lines.append(f"{stamp} mail postfix/qmgr[2]: {qid}: from=<news@{e['from_domain']}>,"
                         " size=2301, nrcpt=1 (queue active)")
        text = _said(e).replace("\n", " ") if _status(e) != "sent" else (
            f"{e['reply_code']} {e['enhanced_status'] or ''} {e['reply_text']}")
        lines.append(f"{stamp} mail postfix/smtp[3]: {qid}: to=<{e['email']}>, relay="
                     f"{e['mx_host']}[192.0.2.1]:25, delay=1, delays=0/0/0.5/0.5, "
                     f"dsn={e['enhanced_status'] or '4.4.1'}, status={_status(e)} ({text})")
    return lines


def kumomta_lines(events: list[dict[str, Any]]) -> list[str]:
    """One JSON log record per reply (docs/reference/log_record.md in KumoCorp/kumomta)."""
    out = []
    for e in events:
        status = _status(e)
        kind = {"sent": "Delivery", "bounced": "Bounce", "deferred": "TransientFailure"}[status]
        enhanced = e["enhanced_status"]
        record = {
            "type": kind, "id": e["message_id"], "sender": f"news@{e['from_domain']}",
            "recipient": e["email"], "queue": f"c{e['campaign_id']}:t@{e['email'].split('@')[1]}",
            "site": f"source->{e['mx_host']}", "size": 2301,
            "response": {"code": e["reply_code"] or 421,
                         "enhanced_code": dict(zip(("class", "subject", "detail"),
                                                   map(int, enhanced.split("."))))
                         if enhanced else None,
                         "content": e["reply_text"], "command": "RCPT TO"},
            "peer_address": {"name": e["mx_host"], "addr": "192.0.2.1"},
            "timestamp": e["event_time"] // 1000, "created": e["event_time"] // 1000,
            "num_attempts": e["attempt"], "bounce_classification": "Uncategorized",
            "egress_pool": "pool0", "egress_source": "source",
            "source_address": {"address": f"{e['sending_ip']}:40000"},
            "meta": {"account_id": e["account_id"], "campaign_id": e["campaign_id"]},
            "headers": {}, "delivery_protocol": "ESMTP", "nodeid": "n1"}
        out.append(json.dumps(record))
        if status == "deferred" and e["final"]:
            out.append(json.dumps({
                **record, "type": "Expiration", "timestamp": record["timestamp"] + 1,
                "site": "localhost", "peer_address": None, "delivery_protocol": None,
                "response": {"code": 551, "enhanced_code": {"class": 5, "subject": 4,
                                                            "detail": 7},
                             "content": "Next delivery time 1day 2h > 1day", "command": None}}))
    return out


def powermta_lines(events: list[dict[str, Any]]) -> list[str]:
    """An accounting file: its header, then a d, t or b record per reply."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PMTA_HEADER)
    for e in events:
        kind = {"sent": "d", "bounced": "b", "deferred": "t"}[_status(e)]
        diag = f"smtp;{e['reply_code'] or 421} {e['reply_text']}".replace("\n", " ")
        writer.writerow([kind, e["event_time"] // 1000, f"news@{e['from_domain']}", e["email"],
                         "relayed", f"{e['enhanced_status'] or '4.4.1'} (status)", diag,
                         f"{e['mx_host']} (192.0.2.1)", "vmta1", e["sending_ip"],
                         e["campaign_id"] or "", e["profile_id"]])
    return out.getvalue().splitlines()


def exim_lines(events: list[dict[str, Any]]) -> list[str]:
    """A main log: the <= line of each new message, then each reply's =>, == or ** line."""
    lines, ids = [], {}
    for e in events:
        stamp = datetime.fromtimestamp(e["event_time"] / 1000, timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S")
        mid = ids.get(e["message_id"])
        if mid is None:
            n = len(ids)
            mid = ids[e["message_id"]] = f"1k{n % 10_000:04d}-{n:06d}-Ab"
            lines.append(f"{stamp} {mid} <= news@{e['from_domain']} H=app [10.0.0.5] P=esmtp "
                         "S=2301 id=x@shop.example")
        host = f"H={e['mx_host']} [192.0.2.1] I=[{e['sending_ip']}]:40000"
        status = _status(e)
        if status == "sent":
            reply = f"{e['reply_code']} {e['reply_text']}".replace('"', "'")
            lines.append(f'{stamp} {mid} => {e["email"]} R=dnslookup T=remote_smtp {host} '
                         f'C="{reply}"')
        else:
            flag = "**" if status == "bounced" else "=="
            reason = (f"SMTP error from remote mail server after RCPT TO:<{e['email']}>: "
                      f"{e['reply_code']} {e['reply_text']}" if e["reply_code"]
                      else "Connection timed out")
            lines.append(f"{stamp} {mid} {flag} {e['email']} R=dnslookup T=remote_smtp {host}: "
                         + reason.replace("\n", " "))
    return lines
