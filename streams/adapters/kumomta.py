"""KumoMTA log records -> SmtpReply (docs/mta/kumomta.md has the field mapping).

Record shape: KumoMTA's reference, docs/reference/log_record.md (KumoCorp/kumomta). Delivery,
Bounce, TransientFailure, OOB give replies; Expiration and AdminBounce end a message that was
being retried (the MTA gave up: ``common.gave_up``); Reception, Feedback, Rejection, Delay and
"KumoMTA internal:" TransientFailures (its own throttling, not a server's reply) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from streams.adapters.common import (
    LastReplies,
    Options,
    Result,
    Skip,
    build,
    event_id,
    gathered,
    gave_up,
    id_values,
    stage_of,
)

REPLIES = frozenset({"Delivery", "Bounce", "TransientFailure", "OOB"})
GAVE_UP = frozenset({"Expiration", "AdminBounce"})
NOT_REPLIES = frozenset({"Reception", "Feedback", "Rejection", "Delay"})
KNOWN = REPLIES | GAVE_UP | NOT_REPLIES
INTERNAL = "KumoMTA internal"


class KumoMTA:
    """One adapter per stream of records: it remembers each pending message's last real reply
    (``options.remember`` of them) so that an expiry shows it."""

    name = "kumomta"

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.getters = {f: _getter(s) for f, s in self.options.sources(self.name).items()}
        self.last = LastReplies(self.options.remember)

    def state(self) -> dict[str, Any]:
        return {"last": list(self.last.items.items())}

    def restore(self, state: dict[str, Any]) -> None:
        for key, value in state.get("last", []):
            self.last.keep(key, value)

    def line(self, line: bytes | str) -> Result:
        """One JSON record (a line of a log segment, a Kafka value, an element of a POST)."""
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return Skip(f"not JSON: {exc}", bad=True)
        return self.record(record)

    def record(self, record: Any) -> Result:
        if not isinstance(record, dict):
            return Skip("not a JSON object", bad=True)
        kind = record.get("type")
        if not isinstance(kind, str) or kind not in KNOWN:
            return Skip(f"unknown record type {str(kind)[:40]!r}", bad=True)
        if kind in NOT_REPLIES:
            return Skip(f"{kind} record")
        response = record.get("response") or {}
        if not isinstance(response, dict):
            return Skip(f"malformed {kind} record: response is not an object", bad=True)
        content = response.get("content") or ""
        if not isinstance(content, str):
            return Skip(f"malformed {kind} record: response.content is not a string", bad=True)
        if kind == "TransientFailure" and content.startswith(INTERNAL):
            return Skip("KumoMTA internal TransientFailure")
        # Deeper fields of any JSON type: whatever a wrong one raises is the record's reason.
        try:
            return self._replies(record, kind, response, content)
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            return Skip(f"malformed {kind} record: {type(exc).__name__}: {exc}", bad=True)

    def _replies(self, record: dict[str, Any], kind: str, response: dict[str, Any],
                 content: str) -> Result:
        msg_id = record["id"]
        recipients = record["recipient"]
        many = isinstance(recipients, list)
        when = _event_time(record)
        peer = record.get("peer_address")
        mx = (peer.get("name") or "").rstrip(".") or None if peer else None
        get = record.get
        ids = id_values({f: g(record) for f, g in self.getters.items()}, self.options)
        code, status = response.get("code"), response.get("enhanced_code")
        enhanced = f"{status['class']}.{status['subject']}.{status['detail']}" if status else None
        stage = stage_of(response.get("command"))
        attempts = get("num_attempts")
        sender, ip = get("sender") or "", _source_ip(record) or self.options.sending_ip
        stamp, event_time = get("timestamp"), get("event_time")
        results: list[dict[str, Any] | Skip] = []
        for rcpt in recipients if many else (recipients,):
            message = f"{msg_id}/{rcpt}" if many else str(msg_id)
            eid = event_id("kumo", msg_id, kind, stamp, event_time, attempts, rcpt)
            if kind in GAVE_UP:
                fields = gave_up(self.last.pop(message), f"{kind}: {content}".strip())
                results.append(build(
                    event_id=eid, event_time=when, email=rcpt, message_id=message,
                    sender=sender, sending_ip=ip, mx_host=mx, attempt=attempts or 1,
                    final=True, ids=ids, **fields))
                continue
            # An OOB report with a 4xx status is a delay notice: the message is still retried.
            final = kind == "Bounce" or (kind == "OOB" and (code or 0) >= 500)
            reply = build(event_id=eid, event_time=when, email=rcpt, message_id=message,
                          sender=sender, sending_ip=ip, mx_host=mx, attempt=attempts or 1,
                          final=final, stage=stage, code=code, enhanced=enhanced,
                          text=content or kind, ids=ids)
            if kind == "TransientFailure":
                if not isinstance(reply, Skip):
                    self.last.keep(message, reply)
            elif self.last.items:
                self.last.pop(message)
            if not many:
                return reply if isinstance(reply, Skip) else [reply]
            results.append(reply)
        return gathered(results)


def _event_time(record: dict[str, Any]) -> int:
    """``event_time`` (RFC 3339, newer versions) to the millisecond, else ``timestamp`` (s)."""
    text = record.get("event_time")
    if isinstance(text, str):
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    return int(float(record["timestamp"]) * 1000)


def _source_ip(record: dict[str, Any]) -> str | None:
    source = record.get("source_address")
    address = source.get("address") if isinstance(source, dict) else None
    if not address:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return address
    return host.strip("[]")


def _getter(source: str) -> Callable[[dict[str, Any]], Any]:
    """The value of a field source in a record: ``meta.<key>``, ``headers.<Name>``,
    ``queue.campaign|tenant|domain`` (KumoMTA's ``campaign:tenant@domain`` queue names) or a
    top-level key."""
    where, _, key = source.partition(".")
    if where in ("meta", "headers") and key:
        def nested(record: dict[str, Any]) -> Any:
            value = record.get(where)
            return value.get(key) if isinstance(value, dict) else None
        return nested
    if where == "queue" and key:
        return lambda record: _queue_parts(record.get("queue") or "").get(key)
    return lambda record: record.get(source)


def _queue_parts(queue: str) -> dict[str, str]:
    """``campaign:tenant@domain``, ``tenant@domain``, ``campaign:@domain`` or ``domain``."""
    campaign, colon, rest = queue.partition(":")
    if not colon:
        campaign, rest = "", queue
    tenant, at, domain = rest.rpartition("@")
    if not at:
        tenant, domain = "", rest
    return {k: v for k, v in (("campaign", campaign), ("tenant", tenant), ("domain", domain))
            if v}
