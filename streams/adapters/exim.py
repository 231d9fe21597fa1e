"""Exim main log lines -> SmtpReply (docs/mta/exim.md has the field mapping).

Shape: the Exim specification, chapter "Log files" ("Log line flags": ``<=`` arrival, ``=>``
and ``->`` delivery, ``==`` deferral, ``**`` failure; fields ``R=``, ``T=``, ``H=host [ip]``,
``I=[ip]`` (+outgoing_interface), ``C="..."`` (+smtp_confirmation), and the error text
"SMTP error from remote mail server after RCPT TO:<...>: 550 ..."; ``Completed`` ends a
message). A ``**`` whose reason is the retry timeout is Exim giving up on a deferred address
(the expiry: ``common.gave_up``, with the address's last deferral).
"""

from __future__ import annotations

import re
from datetime import datetime

from streams.adapters.common import (
    NULL_SENDER,
    Options,
    QueueLog,
    Result,
    Skip,
    build,
    event_id,
    gave_up,
    id_values,
    last_reply,
    local_ms,
    log_getters,
    split_reply,
    stage_of,
)

_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?)(?: \[\d+\])? "
    r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) (?P<rest>.*)")
_ADDR = re.compile(r"^(?P<flag><=|=>|->|==|\*\*|\*>) (?P<addr>[^\s:]+)(?: <[^>]*>)?(?P<rest>.*)$")
_HOST = re.compile(r" H=(?P<host>\S+)(?: \([^)]*\))? \[(?P<ip>[^\]]+)\]")
_IFACE = re.compile(r" I=\[(?P<ip>[^\]]+)\]")
_CONFIRM = re.compile(r' C="(?P<c>(?:[^"\\]|\\.)*)"')
_MSGID = re.compile(r" id=(?P<id>\S+)")
_SMTP_ERROR = re.compile(
    r"SMTP error from remote mail server after (?:pipelined )?(?P<cmd>[A-Za-z][A-Za-z ]*?)"
    r"(?::<[^>]*>)?(?: [^:]*)?: (?P<reply>[2-5]\d\d.*)$")
_NO_HEADERS: dict[str, str] = {}  # Exim's main log carries no header values
# Exim did not try: the host's retry time has not come (not a server's reply)
NOT_TRIED = "retry time not reached"
_GAVE_UP = ("retry timeout exceeded", "have been failing for a long time")


class Exim(QueueLog):
    name = "exim"

    def __init__(self, options: Options | None = None) -> None:
        # queue: message id -> {"from", "mid", "rcpts": {rcpt: {"n", "last"}}, "t"}
        super().__init__()
        self.options = options or Options()
        self.getters = log_getters(self.options.sources(self.name), self.options)

    def line(self, line: bytes | str) -> Result:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        m = _LINE.match(line.rstrip("\r\n"))
        if not m:
            return Skip("not an Exim message line")
        mid, rest = m.group("id"), m.group("rest")
        try:
            when = _time(m.group("ts"), self.options)
        except ValueError as exc:
            return Skip(f"bad timestamp: {exc}", bad=True)
        self.idle.tick(when)
        if rest == "Completed":
            self.queue.pop(mid, None)
            return Skip("message completed")
        a = _ADDR.match(rest)
        if not a:
            return Skip("other Exim line")
        flag, addr, fields = a.group("flag"), a.group("addr"), a.group("rest")
        entry = self.queue.setdefault(mid, {"from": None, "mid": None, "rcpts": {}})
        entry["t"] = when
        if flag == "<=":
            entry["from"] = "" if addr == "<>" else addr
            msgid = _MSGID.search(fields)
            entry["mid"] = msgid.group("id") if msgid else None
            return Skip("arrival line")
        if flag == "*>":
            return Skip("delivery suppressed (-N)")
        if entry["from"] == "":
            return Skip(NULL_SENDER)
        r = entry["rcpts"].setdefault(addr, {"n": 0, "last": None})
        host = _HOST.search(fields)
        mx = host.group("host") if host else None
        final = flag == "**"
        if flag in ("=>", "->"):
            confirm = _CONFIRM.search(fields)
            code, enhanced, text = split_reply(
                confirm.group("c").replace('\\"', '"') if confirm else "delivered")
            stage = "dot" if code else None
        else:
            reason = fields.split(": ", 1)[1] if ": " in fields else ""
            if not reason:
                return Skip(f"cut {flag} line", bad=True)
            if flag == "==" and reason.startswith(NOT_TRIED):
                return Skip("Exim's own throttling (retry time not reached)")
            err = _SMTP_ERROR.search(reason)
            if err:
                code, enhanced, text = split_reply(err.group("reply"))
                stage = stage_of(err.group("cmd").strip())
            else:
                code, enhanced, text, stage = None, None, reason, None
            if final and any(g in reason for g in _GAVE_UP):
                gave = gave_up(r["last"], f"expired: {reason}")
                code, enhanced, text, stage = (gave["code"], gave["enhanced"], gave["text"],
                                               gave["stage"])
                r["n"] -= 1  # giving up is not another attempt
        r["n"] += 1
        sender = entry["from"] or ""
        iface = _IFACE.search(fields)
        reply = build(event_id=event_id("exim", line.rstrip("\r\n"), addr), event_time=when,
                      email=addr, message_id=f"{mid}/{addr}", sender=sender,
                      sending_ip=iface.group("ip") if iface else self.options.sending_ip,
                      mx_host=mx, attempt=r["n"], final=final, stage=stage, code=code,
                      enhanced=enhanced, text=text,
                      ids=id_values({k: get(_NO_HEADERS, sender)
                                     for k, get in self.getters.items()}, self.options))
        if isinstance(reply, Skip):
            return reply
        r["last"] = last_reply(reply) if flag == "==" else None
        return [reply]


def _time(text: str, options: Options) -> int:
    """Exim's local time, with its zone when log_timezone is set."""
    stamp, _, zone = text.partition(" ")[2].partition(" ")
    return local_ms(datetime.fromisoformat(f"{text[:10]}T{stamp}{zone}"), options)
