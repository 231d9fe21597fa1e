"""Per-recipient and per-message state transitions: a pure state machine behind the track step.

State lives in two changelogged tables (``state.py``), both written only while processing an event
of the partition the key belongs to (the stream is keyed by recipient address):

- recipients[email] = {"suppressed_by": event_id | None, "soft_streak": int,
                       "soft_times": [ms, ...] (only with escalation on),
                       "recent": "<flag><digest of event_id>..." (recent.py)}
  An address with nothing to remember (not suppressed, no streak, no soft times) has no entry:
  most addresses are delivered and never need one.
- messages[message_id] = {"first": ms, "attempts": int, "partition": int,
                          "reply": {the HOOK_FIELDS of the last reply}}
  (pending: soft-bounced, not yet delivered, hard-bounced or undelivered)

``decide`` is a function of the event and the state before it, so a replay from the state the
changelog restores (that of the last checkpoint, ``changelog.py``) re-emits exactly the hooks
the events emitted the first time, with the same ids, and reaches the same state. The same event
read again at another input position finds its entry in ``recent`` (the flag is its pre-state)
and re-emits its hooks, changing nothing.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from streams.tracking import recent
from streams.tracking.hooks import HARDBOUNCED, HOOK_FIELDS, Hook, hook_values, rfc3339

# The flag of an entry of ``recent``: flag -> (suppressed_before, escalated).
RECENT_FLAGS = {"0": (False, False), "1": (True, False), "2": (False, True)}
FLAG_OF = {v: k for k, v in RECENT_FLAGS.items()}

CLEAN: dict[str, Any] = {"suppressed_by": None, "soft_streak": 0}


@dataclass(frozen=True)
class Limits:
    max_attempts: int
    default_retry_s: int
    message_lifetime_s: int
    # Escalation: this many soft bounces of one address within the window suppress it (0: off).
    escalate_soft_bounces: int = 0
    escalate_window_s: int = 7 * 86400


@dataclass
class Decision:
    hooks: list[Hook] = field(default_factory=list)  # hooks.py: a hook's field values
    # The recipient's new state; None: unchanged. A clean one (is_clean) removes the entry.
    recipient: dict[str, Any] | None = None
    message: dict[str, Any] | None = None  # new pending-message state
    forget_message: bool = False  # the message is settled: drop it from the pending table


def decide(
    reply: dict[str, Any],
    recipient: dict[str, Any] | None,
    message: dict[str, Any] | None,
    limits: Limits,
    partition: int,
) -> Decision:
    recipient = recipient or CLEAN
    history = recent.parse(recipient.get("recent", ""))
    # Only an address with state has recent events to look in: most replies need no digest.
    event_digest = recent.digest(reply["event_id"]) if history else None
    repeated = None if event_digest is None else recent.flag_of(history, event_digest)
    if repeated is None:
        suppressed_before = recipient["suppressed_by"] is not None
        soft_times = _soft_times(recipient, reply, limits)
        escalated = (not suppressed_before and limits.escalate_soft_bounces > 0
                     and len(soft_times) >= limits.escalate_soft_bounces)
    else:
        suppressed_before, escalated = RECENT_FLAGS[repeated]
    out = Decision()

    if suppressed_before:
        out.hooks.append(hook_values("suppress", reply, cause=recipient["suppressed_by"]))
    else:
        _reply_hooks(reply, message, limits, partition, out)
    if escalated:
        out.hooks.append(hook_values("status", reply, status=HARDBOUNCED, cause="soft_bounces"))
    if repeated is None:
        out.recipient = _next_recipient(recipient, reply, suppressed_before, escalated,
                                        soft_times, history, event_digest)
    return out


def _soft_times(recipient: dict[str, Any], reply: dict[str, Any], limits: Limits) -> list[int]:
    """Event times of the address's soft bounces inside the escalation window, this one too."""
    if not limits.escalate_soft_bounces:
        return []
    horizon = reply["event_time"] - limits.escalate_window_s * 1000
    times = [t for t in recipient.get("soft_times", []) if t > horizon]
    if reply["kind"] == "soft":
        times.append(reply["event_time"])
    return times[-limits.escalate_soft_bounces:]


def _reply_hooks(
    reply: dict[str, Any],
    message: dict[str, Any] | None,
    limits: Limits,
    partition: int,
    out: Decision,
) -> None:
    kind = reply["kind"]
    if kind == "delivered":
        out.hooks.append(hook_values("deliv", reply))
        out.forget_message = message is not None
    elif kind == "hard":
        out.hooks.append(hook_values("hbounce", reply))
        if reply["suppress"]:
            out.hooks.append(hook_values("status", reply, status=HARDBOUNCED))
        out.forget_message = message is not None
    else:
        retry_after = reply.get("retry_after") or limits.default_retry_s
        out.hooks.append(hook_values(
            "sbounce", reply, retry_after=retry_after,
            retry_at=rfc3339(reply["event_time"] + retry_after * 1000),
        ))
        cause = ("final" if reply.get("final")
                 else "max_attempts" if reply["attempt"] >= limits.max_attempts else None)
        if cause:
            out.hooks.append(hook_values("undeliv", reply, cause=cause))
            out.forget_message = message is not None
        else:
            out.message = {
                "first": message["first"] if message else reply["event_time"],
                "attempts": max(reply["attempt"], message["attempts"] if message else 0),
                "partition": partition,
                "reply": {k: reply.get(k) for k in HOOK_FIELDS},
            }


def _next_recipient(
    recipient: dict[str, Any], reply: dict[str, Any], suppressed_before: bool, escalated: bool,
    soft_times: list[int], history: str, event_digest: str | None,
) -> dict[str, Any] | None:
    suppressed_by = recipient["suppressed_by"]
    if not suppressed_before and (reply["suppress"] or escalated):
        suppressed_by = reply["event_id"]
    streak = recipient["soft_streak"] + 1 if reply["kind"] == "soft" else 0
    state: dict[str, Any] = {"suppressed_by": suppressed_by, "soft_streak": streak}
    if soft_times:
        state["soft_times"] = soft_times
    if is_clean(state):
        return None if recipient is CLEAN else state  # never seen, or its entry goes
    state["recent"] = recent.append(history, FLAG_OF[(suppressed_before, escalated)],
                                    event_digest or recent.digest(reply["event_id"]))
    return state


def is_clean(recipient: dict[str, Any]) -> bool:
    """Nothing to remember (its recent events aside): the same as an address never seen."""
    return (recipient["suppressed_by"] is None and not recipient["soft_streak"]
            and not recipient.get("soft_times"))


class PendingIndex:
    """Which pending messages of one partition expire first: a heap with lazy deletion, so the
    per-event check is O(1) unless something expires. Rebuilt from the table after a restart."""

    def __init__(self, items: list[tuple[str, int]] | None = None) -> None:
        self._first: dict[str, int] = dict(items or [])
        self._heap = [(first, mid) for mid, first in self._first.items()]
        heapq.heapify(self._heap)
        self.stream_time = 0

    def __len__(self) -> int:
        return len(self._first)

    def add(self, message_id: str, first: int) -> None:
        if self._first.get(message_id) != first:
            self._first[message_id] = first
            heapq.heappush(self._heap, (first, message_id))

    def discard(self, message_id: str) -> None:
        self._first.pop(message_id, None)
        # Settled messages stay in the heap until their lifetime would end (a week by default):
        # rebuilt when they outnumber the pending ones, or the heap grows with every soft bounce.
        if len(self._heap) > 2 * len(self._first) + 1024:
            self._heap = [(first, mid) for mid, first in self._first.items()]
            heapq.heapify(self._heap)

    def advance(self, event_time: int, lifetime_s: int) -> list[str]:
        """Move stream time forward; return the message ids whose lifetime ran out."""
        self.stream_time = max(self.stream_time, event_time)
        horizon = self.stream_time - lifetime_s * 1000
        out = []
        while self._heap and self._heap[0][0] <= horizon:
            first, mid = heapq.heappop(self._heap)
            if self._first.get(mid) == first:
                del self._first[mid]
                out.append(mid)
        return out


def expiry_hook(message: dict[str, Any]) -> Hook:
    return hook_values("undeliv", message["reply"], cause="lifetime")
