"""The tracking state of one partition (of smtp-replies and the repartition topic): two
changelogged tables and the index of pending messages, driven by ``tracking.decide``. Pure: no
Kafka, so it is tested alone; ``changelog.py`` restores it and writes what changed.

Tables (a key lives in the partition of the recipient address the stream is keyed by):
- ``recipients[email]``: suppression, soft-bounce streak, recent event ids (see machine.py)
- ``messages[message_id]``: soft-bounced messages not yet settled
"""

from __future__ import annotations

from typing import Any

from streams.tracking.hooks import Hook
from streams.tracking.machine import Limits, PendingIndex, decide, expiry_hook

TABLES = ("recipients", "messages")


class PartitionState:
    def __init__(self, partition: int, limits: Limits,
                 tables: dict[str, dict[str, Any]] | None = None) -> None:
        self.partition = partition
        self.limits = limits
        self.tables: dict[str, dict[str, Any]] = tables or {t: {} for t in TABLES}
        self.recipients = self.tables["recipients"]
        self.messages = self.tables["messages"]
        self.pending = PendingIndex([(mid, m["first"]) for mid, m in self.messages.items()])
        # Keys changed since the last ``take_changes``: the changelog records to write.
        self._changed: dict[str, set[str]] = {t: set() for t in TABLES}

    def apply(self, reply: dict[str, Any]) -> list[Hook]:
        """Process one classified reply; return the hooks it emits, in order."""
        email, mid = reply["email"], reply["message_id"]
        decision = decide(reply, self.recipients.get(email), self.messages.get(mid),
                          self.limits, self.partition)
        hooks = list(decision.hooks)
        if decision.recipient is not None:
            self._set("recipients", email, decision.recipient)
        if decision.message is not None:
            self._set("messages", mid, decision.message)
            self.pending.add(mid, decision.message["first"])
        elif decision.forget_message:
            self._set("messages", mid, None)
            self.pending.discard(mid)
        for expired in self.pending.advance(reply["event_time"], self.limits.message_lifetime_s):
            message = self.messages.get(expired)
            if message is not None:
                hooks.append(expiry_hook(message))
                self._set("messages", expired, None)
        return hooks

    def _set(self, table: str, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.tables[table].pop(key, None)
        else:
            self.tables[table][key] = value
        self._changed[table].add(key)

    def take_changes(self) -> dict[str, dict[str, dict[str, Any] | None]]:
        """The latest value (None: deleted) of every key changed since the last call."""
        out = {t: {k: self.tables[t].get(k) for k in keys} for t, keys in self._changed.items()}
        for keys in self._changed.values():
            keys.clear()
        return out
