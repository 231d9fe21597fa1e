"""Builds ActionHook records (schemas/action_hook.avsc). Pure: the same reply and decision always
give the same hook, with the same ``hook_id``, so a replay re-emits duplicates that consumers drop.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from streams.ingest.avro_writer import compile_flat_writer
from streams.ingest.codec import schema_json
from streams.ingest.validation import AFTER_DELIVERY

HARDBOUNCED = "Hardbounced"


_SECONDS = tuple(f"{s:02d}" for s in range(60))
_MILLIS = tuple(f"{m:03d}" for m in range(1000))  # looked up: half the time of format specs


def rfc3339(ms: int) -> str:
    minutes, millis = divmod(ms, 60_000)
    seconds, millis = divmod(millis, 1000)
    return f"{_rfc3339_minute(minutes)}:{_SECONDS[seconds]}.{_MILLIS[millis]}+00:00"


@lru_cache(maxsize=4096)
def _rfc3339_minute(minutes: int) -> str:
    # Replies arrive in about event-time order: formatting each minute once saves most of the
    # cost of a hook (per second, a stream of a few replies a second missed the cache).
    return datetime.fromtimestamp(minutes * 60, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M")


def hook_id(event_type: str, reply: dict[str, Any]) -> str:
    # A message is undelivered once, whichever reply (or its lifetime) decided it.
    if event_type == "undeliv":
        return f"{reply['message_id']}:undeliv"
    return f"{reply['event_id']}:{event_type}"


# Every reply field a hook is built from: what a pending message keeps of its last reply, so
# that the lifetime expiry can build its undeliv hook (the reply text stays out of the state).
HOOK_FIELDS = ("event_id", "event_time", "account_id", "profile_id", "list_id", "attempt",
               "is_test", "message_id", "campaign_id", "email", "recipient_domain",
               "from_domain", "sending_ip", "reply_code", "enhanced_status", "reason",
               "bounce_text", "basis")


# A hook is the values of its schema's fields in order, the event data's in its place (FIELDS):
# encoded without building the nested record (one or two hooks a reply).
FIELDS, _encode = compile_flat_writer(schema_json("action_hook"))
EMAIL = FIELDS.index("event_data.email")  # the key it is produced with
Hook = tuple[Any, ...]


def hook_values(event_type: str, reply: dict[str, Any], retry_after: int | None = None,
                retry_at: str | None = None, status: str | None = None,
                cause: str | None = None) -> Hook:
    bounce = event_type != "deliv"
    return (
        hook_id(event_type, reply), event_type, rfc3339(reply["event_time"]),
        reply["account_id"], reply.get("profile_id"), reply.get("list_id"), reply["attempt"],
        reply.get("is_test", False),
        # event_data
        reply["event_id"], reply["message_id"], reply.get("campaign_id"), reply["email"],
        reply["recipient_domain"], reply["from_domain"], reply["sending_ip"],
        reply.get("reply_code"), reply.get("enhanced_status"),
        reply["reason"] if bounce else None, reply["bounce_text"] if bounce else None,
        retry_after, retry_at, status, cause,
        None,  # alert: only the provider-health hooks carry one (alerts.py)
        reply.get("smtp_stage") == AFTER_DELIVERY,  # async: a bounce by mail (streams/mail/)
        # reason_basis: None in a pending message kept by a version before it (unknown).
        reply.get("basis") if bounce else None,
    )


def encode(hook: Hook) -> bytes:
    """``HOOK.encode(as_dict(hook))``."""
    return _encode(*hook)


def as_dict(hook: Hook) -> dict[str, Any]:
    """The hook as the ActionHook record, nested."""
    out: dict[str, Any] = {}
    for name, value in zip(FIELDS, hook):
        outer, _, inner = name.partition(".")
        if inner:
            out.setdefault(outer, {})[inner] = value
        else:
            out[name] = value
    return out
