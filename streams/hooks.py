"""Builds ActionHook records (schemas/action_hook.avsc). Pure: the same reply and decision always
give the same hook, with the same ``hook_id``, so a replay re-emits duplicates that consumers drop.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

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
               "bounce_text")


def make_hook(event_type: str, reply: dict[str, Any], **data: Any) -> dict[str, Any]:
    bounce = event_type != "deliv"
    return {
        "hook_id": hook_id(event_type, reply),
        "event_type": event_type,
        "event_date": rfc3339(reply["event_time"]),
        "account_id": reply["account_id"],
        "profile_id": reply.get("profile_id"),
        "list_id": reply.get("list_id"),
        "sends_trying_num": reply["attempt"],
        "is_test": reply.get("is_test", False),
        "event_data": {
            "event_id": reply["event_id"],
            "message_id": reply["message_id"],
            "campaign_id": reply.get("campaign_id"),
            "email": reply["email"],
            "recipient_domain": reply["recipient_domain"],
            "from_domain": reply["from_domain"],
            "sending_ip": reply["sending_ip"],
            "reply_code": reply.get("reply_code"),
            "enhanced_status": reply.get("enhanced_status"),
            "reason": reply["reason"] if bounce else None,
            "bounce_text": reply["bounce_text"] if bounce else None,
            "retry_after": data.get("retry_after"),
            "retry_at": data.get("retry_at"),
            "status": data.get("status"),
            "cause": data.get("cause"),
            "alert": None,
        },
    }
