"""The tracking state of one partition (of smtp-replies and the repartition topic): two
changelogged tables and the index of pending messages, driven by ``tracking.decide``. Pure: no
Kafka, so it is tested alone; ``changelog.py`` restores it and writes what changed.

Tables (a key lives in the partition of the recipient address the stream is keyed by):
- ``recipients[email]``: suppression, soft-bounce streak (see machine.py); none for an address
  with nothing to remember
- ``messages[message_id]``: soft-bounced messages not yet settled

The changelog also records, at each checkpoint, how far the state is into each partition of
smtp-replies (``sources``, in a numbered ``Checkpoint`` with the stream time: checkpoints.py).
A reply's position there (its input record's offset, and its index in the record: one record of
an MTA's own format can hold several replies) tells a reply the state holds already, replayed or
repartitioned twice.
"""

from __future__ import annotations

from typing import Any

from streams.tracking.checkpoints import Checkpoint
from streams.tracking.hooks import Hook
from streams.tracking.machine import Limits, PendingIndex, decide, expiry_hook, is_clean

TABLES = ("recipients", "messages")


class PartitionState:
    def __init__(self, partition: int, limits: Limits,
                 tables: dict[str, dict[str, Any]] | None = None,
                 checkpoint: Checkpoint | None = None) -> None:
        self.partition = partition
        self.limits = limits
        self.tables: dict[str, dict[str, Any]] = tables or {t: {} for t in TABLES}
        self.recipients = self.tables["recipients"]
        self.messages = self.tables["messages"]
        self.pending = PendingIndex([(mid, m["first"]) for mid, m in self.messages.items()])
        # The last checkpoint, and source partition -> the next position not applied since.
        self.checkpoint = checkpoint or Checkpoint()
        self.pending.stream_time = self.checkpoint.stream_time
        self.sources: dict[int, int] = dict(self.checkpoint.sources)
        self._dirty = False  # keys changed since the last checkpoint
        # Keys changed since the last ``take_changes``: the changelog records to write.
        self._changed: dict[str, set[str]] = {t: set() for t in TABLES}
        self._forget_legacy()

    def _forget_legacy(self) -> None:
        """Clean entries of changelogs written before clean addresses had none: deleted at the
        next checkpoint."""
        for email, value in list(self.recipients.items()):
            if is_clean(value):
                self._set("recipients", email, None)

    def apply(self, reply: dict[str, Any]) -> list[Hook]:
        """Process one classified reply; return the hooks it emits, in order."""
        email, mid = reply["email"], reply["message_id"]
        decision = decide(reply, self.recipients.get(email), self.messages.get(mid),
                          self.limits, self.partition)
        hooks = list(decision.hooks)
        if decision.recipient is not None:
            if not is_clean(decision.recipient):
                self._set("recipients", email, decision.recipient)
            elif email in self.recipients:
                self._set("recipients", email, None)
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
        self._dirty = True

    def seen(self, source: int, position: int) -> bool:
        """Whether the reply at ``position`` of smtp-replies[``source``] is applied already;
        if not, it is from now on (call ``apply`` next)."""
        if position < self.sources.get(source, 0):
            return True
        self.sources[source] = position + 1
        return False

    def next_checkpoint(self) -> Checkpoint | None:
        """The next checkpoint; None if nothing was applied or changed since the last."""
        if self.sources == self.checkpoint.sources and not self._dirty:
            return None
        return Checkpoint(self.checkpoint.epoch + 1, dict(self.sources), self.pending.stream_time)

    def checkpointed(self, checkpoint: Checkpoint) -> None:
        """Its marker is written; the changes it holds were written before."""
        self.checkpoint, self._dirty = checkpoint, False

    def rewrite(self, table: str, keys: set[str]) -> None:
        """Write these keys' values at the next checkpoint (after a restore that set them back
        to the last checkpoint's, so that the changelog says so too)."""
        self._changed[table] |= keys

    def take_changes(self) -> dict[str, dict[str, dict[str, Any] | None]]:
        """The latest value (None: deleted) of every key changed since the last call."""
        out = {t: {k: self.tables[t].get(k) for k in keys} for t, keys in self._changed.items()}
        for keys in self._changed.values():
            keys.clear()
        return out
