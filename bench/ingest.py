"""The MTA adapters alone, on one core: lines (records) per CPU second per format, on logs rendered
from the demo's stream in each MTA's shape (docs/mta/<name>.md), with and without the Avro
encoding `bounceflow ingest` adds before producing.

    python -m bench.ingest [--replies 50000] [--formats kumomta,postfix,powermta,exim] [--repeat 3]

Prints one JSON line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from streams.adapters.common import Options, Skip
from streams.adapters.exim import Exim
from streams.adapters.kumomta import KumoMTA
from streams.adapters.postfix import Postfix
from streams.adapters.powermta import PowerMTA
from streams.ingest.codec import SMTP_REPLY
from streams.local.synth import generate

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
    out = []
    for e in events:
        status = _status(e)
        kind = {"sent": "Delivery", "bounced": "Bounce", "deferred": "TransientFailure"}[status]
        enhanced = e["enhanced_status"]
        out.append(json.dumps({
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
            "headers": {}, "delivery_protocol": "ESMTP", "nodeid": "n1"}))
    return out


def powermta_lines(events: list[dict[str, Any]]) -> list[str]:
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


FORMATS: dict[str, tuple[Callable[[list[dict[str, Any]]], list[str]], Any]] = {
    "kumomta": (kumomta_lines, KumoMTA), "postfix": (postfix_lines, Postfix),
    "powermta": (powermta_lines, PowerMTA), "exim": (exim_lines, Exim),
}


def rate(adapter: Any, lines: list[bytes], encode: bool) -> tuple[float, int, int]:
    """(lines per CPU second of this process, replies, bad lines) of one pass: CPU time, as
    the cores are shared with whatever else runs."""
    replies = bad = 0
    start = time.process_time()
    for line in lines:
        got = adapter.line(line)
        if isinstance(got, Skip):
            bad += got.bad
            continue
        replies += len(got)
        if encode:
            for reply in got:
                SMTP_REPLY.encode(reply)
    return len(lines) / max(time.process_time() - start, 1e-9), replies, bad


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=50_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes per figure; the best is kept (the cores are shared)")
    args = parser.parse_args(argv)
    formats = args.formats.split(",")
    if args.replies < 1 or args.repeat < 1 or set(formats) - set(FORMATS):
        parser.error("--replies and --repeat must be at least 1, --formats among "
                     + ", ".join(FORMATS))
    events = list(generate(args.replies, seed=5))
    out: dict[str, Any] = {"replies": args.replies}
    options = Options(utc_offset_s=0, sending_ip="203.0.113.10")
    for name in formats:
        render, adapter = FORMATS[name]
        lines = [line.encode() for line in render(events)]
        passes = [rate(adapter(options), lines, encode=False) for _ in range(args.repeat)]
        per_s, replies, bad = max(passes)
        with_avro = max(rate(adapter(options), lines, encode=True)[0]
                        for _ in range(args.repeat))
        out[name] = {"lines": len(lines), "replies": replies, "bad": bad,
                     "lines_per_s": round(per_s), "lines_per_s_with_avro": round(with_avro)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
