"""What to do with an HTTP response, when to try again, and how requests are signed. Pure.

Retries follow the practice of the webhook senders users trust (SendGrid retries for a day,
Postmark backs off over hours): exponential back-off with full jitter, capped, ``Retry-After``
honoured, and a 4xx other than 408 (timeout) and 429 (too many requests) is final."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

OK, RETRY, GIVE_UP = "ok", "retry", "give_up"
BASE_DELAY_S = 1.0
MAX_DELAY_S = 600.0
SIGNATURE_HEADER = "X-Bounceflow-Signature"
TIMESTAMP_HEADER = "X-Bounceflow-Timestamp"


@dataclass(frozen=True)
class Attempt:
    """One try at delivering a batch, whatever the target."""

    result: str  # OK, RETRY or GIVE_UP
    answer: str  # what the target said ("503 Service Unavailable", "no response: ...")
    retry_after: float | None = None  # seconds the target asked us to wait
    latency_ms: float | None = None


def outcome(status: int | None, body: str, success_regex: str = "") -> str:
    """``status`` None means no response (connection error or timeout)."""
    if status is None or status in (408, 429) or status >= 500:
        return RETRY
    if 200 <= status < 300:
        if success_regex and not re.search(success_regex, body):
            return RETRY  # the receiver answered 2xx but not what it promised
        return OK
    return GIVE_UP


def next_delay(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds before try ``attempt + 1`` (attempt counts from 1)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY_S)
    return rng.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110);
    None when absent or unreadable (our own back-off applies)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>"): the timestamp is signed
    too, so a receiver can reject replays of old requests."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, now: float,
           tolerance_s: float = 300.0) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    return abs(now - ts) <= tolerance_s and hmac.compare_digest(signature(secret, ts, body), header)
