"""Postfix mail log lines -> SmtpReply (docs/mta/postfix.md has the field mapping).

Line shapes: Postfix's own logging (src/global/log_adhoc.c writes ``to=<...>, relay=...,
delay=..., delays=..., dsn=..., status=... (text)``; qmgr writes ``from=<...>, size=...,
nrcpt=...`` and ``from=<...>, status=expired, returned to sender``; cleanup writes
``message-id=<...>`` and header_checks ``info: header ...`` lines; qmgr ``removed``), as
syslog (``Mmm dd hh:mm:ss host postfix/smtp[pid]: ...``, RFC 3164) or RFC 3339 stamped lines
(rsyslog, Postfix 3.4+ ``maillog_file``).

Correlation: a queue id collects its sender, Message-ID and header values until ``removed``;
each recipient's deliveries are counted (the attempt) and its last deferral is kept, so an
expiry ends every recipient still deferred with that reply (``common.gave_up``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from streams.adapters.common import (
    NULL_SENDER,
    Options,
    QueueLog,
    Result,
    Skip,
    build,
    event_id,
    gathered,
    gave_up,
    id_values,
    last_reply,
    local_ms,
    log_getters,
    split_reply,
    stage_of,
)

_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
_LINE = re.compile(
    r"^(?:(?P<syslog>[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d)"
    r"|(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?))"
    r" \S+ (?P<prog>\S*?postfix[^/\s]*/[\w/-]+)(?:\[\d+\])?: "
    r"(?P<qid>[0-9A-Za-z]{5,}): (?P<rest>.*)")
_TO = re.compile(r"^to=<(?P<to>[^>]*)>,(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,]*),"
                 r"(?P<fields>[^(]*?) status=(?P<status>\w+)(?: \((?P<text>.*)\))?$")
_DSN = re.compile(r" dsn=(\d\.\d{1,3}\.\d{1,3}),")
_FROM = re.compile(r"^from=<(?P<from>[^>]*)>, (?:(?P<expired>status=expired)|size=)")
_HEADER = re.compile(r"^info: header (?P<name>[^:\s]+): (?P<value>.*?) from \S+;")
_DURING = re.compile(r"while (?:receiving|sending|performing) (?:the )?(?P<cmd>.+?)(?: --|$)")
# Postfix did not try: the destination is marked dead after failures (not a server's reply)
SUSPENDED = "delivery temporarily suspended: "
STATUSES = {"sent": False, "deferred": False, "bounced": True, "expired": True}


class Postfix(QueueLog):
    name = "postfix"

    def __init__(self, options: Options | None = None, reference_ms: int | None = None) -> None:
        """``reference_ms``: the time syslog stamps (no year) are read near; now by default."""
        # queue: queue id -> {"from", "mid", "headers", "rcpts": {rcpt: {"n", "last"}}, "t"}
        super().__init__()
        self.options = options or Options()
        self.getters = log_getters(self.options.sources(self.name), self.options)
        self.reference_ms = (reference_ms if reference_ms is not None
                             else int(datetime.now(timezone.utc).timestamp() * 1000))
        self.reference_year = datetime.fromtimestamp(self.reference_ms / 1000, timezone.utc).year
        self._stamp: tuple[str | None, int] = (None, 0)

    def line(self, line: bytes | str) -> Result:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        m = _LINE.match(line.rstrip("\r\n"))
        if not m:
            return Skip("not a Postfix queue-id line")
        try:
            when = self._time(m.group("syslog"), m.group("iso"))
        except ValueError as exc:
            return Skip(f"bad timestamp: {exc}", bad=True)
        self.idle.tick(when)
        qid, rest = m.group("qid"), m.group("rest")
        if rest.startswith("to="):
            return self._status(line, qid, rest, when)
        if rest.startswith("from="):
            f = _FROM.match(rest)
            if not f:
                return Skip("cut Postfix from= line", bad=True)
            entry = self._entry(qid, when)
            entry["from"] = f.group("from")
            if f.group("expired"):
                return self._expired(line, qid, entry, when)
            return Skip("queue manager line")
        if rest.startswith("message-id="):
            self._entry(qid, when)["mid"] = rest[len("message-id="):].strip("<>")
            return Skip("cleanup line")
        if rest.startswith("info: header "):
            h = _HEADER.match(rest)
            if h:
                self._entry(qid, when)["headers"][h.group("name").lower()] = h.group("value")
            return Skip("header_checks line")
        if rest == "removed":
            self.queue.pop(qid, None)
            return Skip("queue id removed")
        return Skip("other Postfix line")

    def _entry(self, qid: str, when: int) -> dict[str, Any]:
        entry = self.queue.get(qid)
        if entry is None:
            entry = self.queue[qid] = {"from": None, "mid": None, "headers": {}, "rcpts": {}}
        entry["t"] = when
        return entry

    def _time(self, syslog: str | None, iso: str | None) -> int:
        stamp = syslog or iso
        if stamp == self._stamp[0]:  # a log's consecutive lines share their second
            return self._stamp[1]
        ms = self._parse_time(syslog, iso)
        self._stamp = (stamp, ms)
        return ms

    def _parse_time(self, syslog: str | None, iso: str | None) -> int:
        if iso:
            return local_ms(datetime.fromisoformat(iso.replace("Z", "+00:00")
                                                   .replace(" ", "T")), self.options)
        assert syslog is not None
        month, day, clock = syslog.split()
        h, mi, s = (int(x) for x in clock.split(":"))
        if month not in _MONTHS:
            raise ValueError(f"unknown month {month!r}")
        # No year in a syslog stamp: the reference's, or the one before when that would put
        # the line more than a week after the reference (December's lines read in January).
        for year in (self.reference_year, self.reference_year - 1):
            ms = local_ms(datetime(year, _MONTHS[month], int(day), h, mi, s), self.options)
            if ms <= self.reference_ms + 7 * 86_400_000:
                break
        return ms

    def _status(self, line: str, qid: str, rest: str, when: int) -> Result:
        m = _TO.match(rest)
        if not m or m.group("text") is None:
            return Skip("cut Postfix to= line", bad=True)
        status = m.group("status")
        if status not in STATUSES:
            return Skip(f"status={status[:20]}")
        entry = self._entry(qid, when)
        if entry["from"] == "":
            return Skip(NULL_SENDER)
        if m.group("text").startswith(SUSPENDED):
            return Skip("Postfix's own throttling (delivery temporarily suspended)")
        rcpt = m.group("to")
        r = entry["rcpts"].setdefault(rcpt, {"n": 0, "last": None})
        r["n"] += 1
        code, enhanced, text, stage, mx = _reply(m.group("text"), m.group("relay"))
        if enhanced is None:
            dsn = _DSN.search(m.group("fields"))
            enhanced = dsn.group(1) if dsn else None
        reply = self._build(line, qid, entry, rcpt, when, r["n"], STATUSES[status], stage,
                            code, enhanced, text, mx)
        if status == "deferred" and not isinstance(reply, Skip):
            r["last"] = last_reply(reply, "mx_host")
        else:
            r["last"] = None
        return reply if isinstance(reply, Skip) else [reply]

    def _expired(self, line: str, qid: str, entry: dict[str, Any], when: int) -> Result:
        results: list[dict[str, Any] | Skip] = []
        for rcpt, r in entry["rcpts"].items():
            if r["last"] is None:
                continue
            fields = gave_up(r["last"], "expired: returned to sender")
            results.append(self._build(line, qid, entry, rcpt, when, r["n"], True, mx=
                                       r["last"]["mx_host"], **fields))
            r["last"] = None
        return gathered(results) or Skip("expiry with no deferred recipient")

    def _build(self, line: str, qid: str, entry: dict[str, Any], rcpt: str, when: int,
               attempt: int, final: bool, stage: str | None, code: int | None,
               enhanced: str | None, text: str, mx: str | None) -> dict[str, Any] | Skip:
        sender = entry["from"] or ""
        headers = entry["headers"]
        return build(event_id=event_id("postfix", line.rstrip("\r\n"), rcpt), event_time=when,
                     email=rcpt, message_id=f"{qid}/{rcpt}", sender=sender,
                     sending_ip=self.options.sending_ip, mx_host=mx, attempt=attempt,
                     final=final, stage=stage, code=code, enhanced=enhanced, text=text,
                     ids=id_values({k: get(headers, sender) for k, get in self.getters.items()},
                                   self.options))


def _reply(text: str, relay: str) -> tuple[int | None, str | None, str, str | None, str | None]:
    """(code, enhanced status, reply text, stage, mx host) of a status line's parenthesis:
    "host H[A] said: REPLY (in reply to COMMAND command)", "connect to H[A]:25: ...", "lost
    connection with H[A] while sending RCPT TO", or a reply alone."""
    bracket = relay.find("[")
    mx = relay[:bracket] if bracket > 0 else None
    if text.startswith("host "):
        said = text.find("] said: ")
        if said > 0:
            host = text[5:text.find("[", 5)]
            reply, cmd = text[said + 8:], None
            if reply.endswith(" command)"):
                at = reply.rfind(" (in reply to ")
                if at >= 0:
                    reply, cmd = reply[:at], reply[at + 14:-9]
            code, enhanced, reply = split_reply(reply)
            return code, enhanced, reply, stage_of(cmd), host
    if text.startswith("connect to "):
        return None, None, text, "connect", mx
    during = _DURING.search(text)
    code, enhanced, reply = split_reply(text)
    if during:
        return code, enhanced, reply, stage_of(during.group("cmd")), mx
    return code, enhanced, reply, "dot" if code is not None else None, mx
