"""Checks an SmtpReply must pass before it is classified: what Avro types alone cannot say."""

from __future__ import annotations

import re
from typing import Any

MAX_REPLY_TEXT = 64 * 1024
# A bounce that arrived later by mail (a DSN), after the server had accepted the message.
AFTER_DELIVERY = "after-delivery"
SMTP_STAGES = frozenset({"connect", "helo", "ehlo", "starttls", "mail", "rcpt", "data", "dot",
                         AFTER_DELIVERY})
_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def problems(reply: dict[str, Any]) -> list[str]:
    """Every reason this reply is unusable; empty when it is fine."""
    out = []
    if not reply.get("event_id"):
        out.append("event_id is empty")
    email = reply.get("email") or ""
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        out.append(f"email {email[:100]!r} is not an address")
    code = reply.get("reply_code")
    if code is not None and not 200 <= code <= 599:
        out.append(f"reply_code {code} is outside 200-599")
    status = reply.get("enhanced_status")
    if status is not None and not _ENHANCED.match(status):
        out.append(f"enhanced_status {status[:40]!r} is not RFC 3463 (class.subject.detail)")
    if reply.get("attempt", 0) < 1:
        out.append(f"attempt {reply.get('attempt')} is below 1")
    if not (reply.get("reply_text") or "").strip():
        out.append("reply_text is empty: even a failure with no SMTP reply says what happened")
    elif len(reply["reply_text"]) > MAX_REPLY_TEXT:
        out.append(f"reply_text is longer than {MAX_REPLY_TEXT} characters")
    stage = reply.get("smtp_stage")
    if stage is not None and stage.lower() not in SMTP_STAGES:
        out.append(f"smtp_stage {stage[:20]!r} is not one of {', '.join(sorted(SMTP_STAGES))}")
    return out
