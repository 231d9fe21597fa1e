"""Provider-health alerts: a pure state machine over closed windows of event time.

A pair (a sending IP or a from domain, at one recipient provider) goes into alert when a window
with at least ``min_volume`` replies has a block-or-deferral rate of ``raise_at`` or more, and
recovers when a window with that volume falls to ``clear_at`` or less. Between the two it stays
as it is (hysteresis), so a rate that hovers at the threshold does not flap. The same windows in
the same order always give the same hooks, with the same ids, so evaluating twice is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.classify.rules_loader import load_reason_group
from streams.tracking.hooks import rfc3339

PAIR_TYPES = ("sending_ip", "from_domain")
# The reasons that are a receiver pushing back on the sender: counted as blocks (hard) and
# deferrals (soft) in provider health.
SENDER_PUSHBACK = load_reason_group("sender_pushback")


@dataclass(frozen=True)
class AlertPolicy:
    raise_at: float
    clear_at: float
    min_volume: int


@dataclass(frozen=True)
class Window:
    """The figures of one pair in one closed window (a row of a provider_health view)."""

    pair_type: str
    pair: str
    provider: str
    start_ms: int
    seconds: int
    volume: int
    blocks: int
    deferrals: int
    top_reason: str
    top_bounce_text: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.pair_type, self.pair, self.provider)

    @property
    def rate(self) -> float:
        return (self.blocks + self.deferrals) / self.volume if self.volume else 0.0


def transitions(
    windows: Iterable[Window], alerting: set[tuple[str, str, str]], policy: AlertPolicy
) -> list[tuple[Window, dict[str, Any]]]:
    """The alert and recovered hooks of ``windows`` (in window order), each with the window
    that decided it; updates ``alerting``."""
    hooks = []
    for w in windows:
        if w.volume < policy.min_volume:
            continue
        if w.key not in alerting and w.rate >= policy.raise_at:
            alerting.add(w.key)
            hooks.append((w, alert_hook("alert", w)))
        elif w.key in alerting and w.rate <= policy.clear_at:
            alerting.discard(w.key)
            hooks.append((w, alert_hook("recovered", w)))
    return hooks


def written_up_to(latest: Mapping[int, int], idle_ms: int) -> int:
    """The event time up to which every partition has written its replies, from each one's
    latest written event time (``latest``, not empty): the earliest of them. Partitions write
    independently (engine processes, workers), so a window that one has passed may still miss
    the rows of another; a partition silent for more than ``idle_ms`` before the newest holds
    the others back no longer."""
    newest = max(latest.values())
    return min(t for t in latest.values() if t >= newest - idle_ms)


def alert_hook(event_type: str, w: Window) -> dict[str, Any]:
    # Hard refusals say stop; deferrals say slow down.
    action = ("resume" if event_type == "recovered"
              else "pause" if w.blocks >= w.deferrals else "reduce_rate")
    window_end = w.start_ms + w.seconds * 1000
    return {
        "hook_id": f"{event_type}:{w.pair_type}:{w.pair}:{w.provider}:{w.start_ms}",
        "event_type": event_type,
        "event_date": rfc3339(window_end),
        "account_id": 0,
        "profile_id": None,
        "list_id": None,
        "sends_trying_num": 0,
        "is_test": False,
        "event_data": {
            "event_id": "", "message_id": "", "campaign_id": None, "email": "",
            "recipient_domain": "",
            "from_domain": w.pair if w.pair_type == "from_domain" else "",
            "sending_ip": w.pair if w.pair_type == "sending_ip" else "",
            "reply_code": None, "enhanced_status": None,
            "reason": w.top_reason or None, "bounce_text": w.top_bounce_text or None,
            "retry_after": None, "retry_at": None, "status": None, "cause": None,
            "alert": {
                "provider": w.provider, "pair_type": w.pair_type, "pair": w.pair,
                "window_start": rfc3339(w.start_ms), "window_seconds": w.seconds,
                "volume": w.volume, "blocks": w.blocks, "deferrals": w.deferrals,
                "rate": round(w.rate, 4), "action": action,
            },
        },
    }
