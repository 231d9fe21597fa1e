"""PowerMTA accounting files (CSV) -> SmtpReply (docs/mta/powermta.md has the field mapping).

Shape: the PowerMTA User's Guide, "Accounting records" (RFC 4180 CSV, a header line naming the
configured ``record-fields``, first column the record type; times as Unix seconds or
``YYYY-MM-DD HH:MM:SS+ZZZZ``). ``d`` is a delivery, ``t`` a transient failure (retried),
``b`` a bounce (final), ``rb`` a remote (asynchronous) bounce; a ``b`` whose DSN status is
transient (4.x.x) is PowerMTA giving up after retries (the expiry: ``common.gave_up``, with
the last reply that ``dsnDiag`` carries). ``tq`` (a queue's failure, no recipient), ``r``
(received), ``rs`` (remote status), ``f`` (feedback loop) give no reply.
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Any

from streams.adapters.common import (
    Options,
    Result,
    Skip,
    build,
    event_id,
    gave_up,
    id_values,
    local_ms,
    split_reply,
    stage_of,
)

REPLIES = {"d": False, "delivery": False, "t": False, "transient": False, "b": True,
           "bounce": True, "rb": True, "remoteBounce": True}
NOT_REPLIES = frozenset({"tq", "r", "rs", "f", "receipt", "feedback", "remoteStatus",
                         "transientQueue"})
REQUIRED = ("type", "timeLogged", "rcpt")


class PowerMTA:
    name = "powermta"

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.sources = self.options.sources(self.name)
        self.columns: list[str] | None = None
        self.attempts: dict[str, int] = {}  # message -> transient failures seen

    def state(self) -> dict[str, Any]:
        return {"columns": self.columns, "attempts": self.attempts}

    def restore(self, state: dict[str, Any]) -> None:
        self.columns = state.get("columns")
        self.attempts.update(state.get("attempts", {}))

    def line(self, line: bytes | str) -> Result:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        try:
            row = next(csv.reader([line.rstrip("\r\n")]), [])
        except csv.Error as exc:
            return Skip(f"not CSV: {exc}", bad=True)
        if not row:
            return Skip("empty line")
        if row[0] == "type":  # a header: each file (and each rotation) starts with one
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                self.columns = None
                return Skip(f"header without {', '.join(missing)}", bad=True)
            self.columns = row
            return Skip("header line")
        if self.columns is None:
            return Skip("record before any header line", bad=True)
        if len(row) != len(self.columns):
            return Skip(f"{len(row)} fields where the header names {len(self.columns)}",
                        bad=True)
        return self.record(dict(zip(self.columns, row)))

    def record(self, rec: dict[str, str]) -> Result:
        kind = rec["type"]
        if kind in NOT_REPLIES:
            return Skip(f"{kind} record")
        if kind not in REPLIES:
            return Skip(f"unknown record type {kind[:20]!r}", bad=True)
        try:
            when = _time(rec["timeLogged"], self.options)
        except ValueError:
            return Skip(f"bad timeLogged {rec['timeLogged'][:40]!r}", bad=True)
        rcpt = rec["rcpt"]
        message = "/".join(rec.get(k) or "" for k in ("orig", "rcpt", "jobId", "envId"))
        status = (rec.get("dsnStatus") or "").split(" ", 1)[0] or None
        diag = rec.get("dsnDiag") or ""
        code, enhanced, text = split_reply(diag.partition(";")[2] if ";" in diag else diag)
        transient = status is not None and status.startswith("4")
        if kind in ("t", "transient"):
            self.attempts[message] = attempt = self.attempts.get(message, 0) + 1
        else:
            attempt = self.attempts.pop(message, 0) + 1
        fields = {"code": code, "enhanced": enhanced or status, "text": text or diag or kind,
                  "stage": stage_of("rcpt") if code else None}
        if REPLIES[kind] and transient:  # given up after retries: the last reply, as soft
            last = {"reply_code": code, "enhanced_status": fields["enhanced"],
                    "reply_text": fields["text"], "smtp_stage": fields["stage"]}
            fields = gave_up(last if code or diag else None, f"expired: {diag or status}")
        reply = build(
            event_id=event_id("pmta", kind, rec["timeLogged"], rec.get("orig"), rcpt,
                              rec.get("jobId"), rec.get("envId"), rec.get("dsnStatus"), diag),
            event_time=when, email=rcpt, message_id=message, sender=rec.get("orig") or "",
            sending_ip=rec.get("dlvSourceIp") or self.options.sending_ip,
            mx_host=_mta_host(rec.get("dsnMta") or ""), attempt=attempt, final=REPLIES[kind],
            ids=id_values({k: rec.get(v) for k, v in self.sources.items()}, self.options),
            **fields,
        )
        return reply if isinstance(reply, Skip) else [reply]

def _time(text: str, options: Options) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text) * 1000
    return local_ms(datetime.fromisoformat(text.replace(" ", "T", 1)), options)


def _mta_host(dsn_mta: str) -> str | None:
    """``dsnMta`` reads ``mx.example.com (192.0.2.1)`` or ``dns;mx.example.com``."""
    host = dsn_mta.partition(";")[2] if ";" in dsn_mta else dsn_mta
    return host.split(" ", 1)[0].strip() or None
