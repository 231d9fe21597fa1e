"""Restoring to the last complete checkpoint: a partition's state driven through crashes that
leave any part of a checkpoint's changelog records written, the restore, and the replay, must
emit the hooks and reach the tables an uninterrupted run does."""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.settings import Settings
from streams.tracking.changelog import fold, resume, write_changes, write_marker
from streams.tracking.checkpoints import MARKER_KEY, Checkpoint, TableFold, complete
from streams.tracking.hooks import as_dict
from streams.tracking.machine import Limits
from streams.tracking.state import TABLES, PartitionState
from tests.examples import examples
from tests.unit.tracking.test_changelog import RecordingProducer
from tests.unit.tracking.test_machine import reply

# A lifetime of 20 s against event times that step 1 s with 30 s of disorder: messages expire
# inside the stream, at a point the stream time decides.
LIMITS = Limits(max_attempts=3, default_retry_s=600, message_lifetime_s=20,
                escalate_soft_bounces=2, escalate_window_s=3600)
SETTINGS = Settings.load(env={}, app_id="app")
TOPIC = {f"app-{t}-changelog": t for t in TABLES}


def stream(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["delivered", "delivered", "soft", "soft", "hard"])
        r = reply(f"e{i}", kind, attempt=rng.randint(1, 3), message_id=f"m{rng.randrange(6)}",
                  t=1_000_000 + i * 1000 + rng.randint(-30_000, 30_000),
                  suppress=kind == "hard" and rng.random() < 0.6)
        r["email"] = f"r{rng.randrange(5)}@x.com"
        out.append(r)
    return out


class Partition:
    """One partition's changelogs (a list of records per table) and the worker on it."""

    def __init__(self) -> None:
        self.logs: dict[str, list[tuple[bytes, bytes | None]]] = {t: [] for t in TABLES}
        self.hooks: dict[str, set[str]] = {}  # hook id -> the values it was emitted with

    def write(self, records: list[tuple[str, bytes, bytes | None, int]],
              rng: random.Random | None) -> None:
        """Append what a producer was given; with ``rng``, a crash keeps a prefix per table."""
        new: dict[str, list] = {t: [] for t in TABLES}
        for topic, key, value, _ in records:
            new[TOPIC[topic]].append((key, value))
        for table, kept in new.items():
            self.logs[table] += kept[:len(kept) if rng is None else rng.randint(0, len(kept))]

    def emit(self, hooks) -> None:
        for hook in hooks:
            values = as_dict(hook)
            self.hooks.setdefault(values["hook_id"], set()).add(repr(values))

    def restore(self, rng: random.Random | None) -> PartitionState:
        folds = {t: TableFold() for t in TABLES}
        for table, records in self.logs.items():
            for key, value in records:
                folds[table].record(key, value)
        restored = complete(folds)
        producer = RecordingProducer()
        state = resume(producer, SETTINGS, 0, LIMITS, restored)  # the engine's, repair and all
        if restored.repair:
            self.write(producer.records, rng)
        return state

    def run(self, replies: list[dict], every: int, crashes: dict[int, int]) -> None:
        """Apply the stream, a checkpoint every ``every`` records; ``crashes``: at the
        checkpoint after record i, crash (seed) after writing a part of it, restore (a second
        crash during the repair, for odd seeds), and go on from the restored offsets."""
        state = self.restore(None)
        i = 0
        while i < len(replies):
            if not state.seen(0, i):  # below the checkpoint's position: skipped
                self.emit(state.apply(replies[i]))
            i += 1
            if i % every and i != len(replies):
                continue
            checkpoint = state.next_checkpoint()
            seed = crashes.pop(i, None)
            rng = None if seed is None else random.Random(seed)
            # The changes are flushed before the markers are written: a crash while they are
            # written leaves no marker.
            during_changes = rng is not None and rng.random() < 0.5
            producer = RecordingProducer()
            write_changes(producer, SETTINGS, 0, state.take_changes())
            self.write(producer.records, rng if during_changes else None)
            if checkpoint is not None and not during_changes:
                producer = RecordingProducer()
                write_marker(producer, SETTINGS, 0, checkpoint)
                self.write(producer.records, rng)
                state.checkpointed(checkpoint)
            if rng is not None:
                if seed % 2:
                    self.restore(rng)  # a crash during the repair too
                state = self.restore(None)
                # From an older commit: the replies below the checkpoint are seen, not applied.
                i = max(0, state.sources.get(0, 0) - rng.randint(0, every))

    def tables(self) -> dict[str, dict]:
        """What any reader of the topics folds: the last value of each key."""
        out: dict[str, dict] = {t: {} for t in TABLES}
        for table, records in self.logs.items():
            for key, value in records:
                fold(out[table], key, value)
        return out


@settings(max_examples=examples(300), deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), every=st.integers(1, 7),
       crashes=st.dictionaries(st.integers(1, 60), st.integers(0, 1000), max_size=4))
def test_crashes_anywhere_in_a_checkpoint_emit_and_keep_what_an_uninterrupted_run_does(
        seed, n, every, crashes):
    replies = stream(seed, n)
    calm = Partition()
    calm.run(copy.deepcopy(replies), every, {})
    crashed = Partition()
    crashed.run(copy.deepcopy(replies), every, dict(crashes))
    assert crashed.hooks == calm.hooks
    assert crashed.tables() == calm.tables()


def test_a_clean_address_has_no_entry_and_a_settled_one_a_tombstone():
    state = PartitionState(0, Limits(max_attempts=3, default_retry_s=600,
                                     message_lifetime_s=86400))
    for r in (reply("e1", "delivered"), reply("e2", "soft", message_id="m2"),
              reply("e3", "delivered", message_id="m2")):
        state.apply(r)
    assert state.recipients == {} and state.messages == {}
    changes = state.take_changes()
    assert changes["recipients"] == {"a@x.com": None}  # soft-bounced once, then delivered


def test_keys_written_after_the_last_marker_are_set_back():
    folds = {t: TableFold() for t in TABLES}
    folds["recipients"].record(b'"a@x"', b'{"suppressed_by":"e1","soft_streak":0}')
    for fold_ in folds.values():
        fold_.record(MARKER_KEY, Checkpoint(3, {0: 10}).value())
    folds["recipients"].record(b'"a@x"', None)
    folds["recipients"].record(b'"b@x"', b'{"suppressed_by":null,"soft_streak":1}')
    restored = complete(folds)
    assert restored.tables["recipients"] == {"a@x": {"suppressed_by": "e1", "soft_streak": 0}}
    assert restored.checkpoint == Checkpoint(3, {0: 10})
    assert restored.set_back == {"recipients": {"a@x", "b@x"}, "messages": set()}
    assert restored.repair


def test_a_table_one_marker_ahead_is_set_back_to_the_other_s():
    folds = {t: TableFold() for t in TABLES}
    for fold_ in folds.values():
        fold_.record(MARKER_KEY, Checkpoint(1, {0: 5}).value())
    folds["messages"].record(b'"m1"', b'{"first":1}')
    folds["messages"].record(MARKER_KEY, Checkpoint(2, {0: 9}).value())
    restored = complete(folds)
    assert restored.tables["messages"] == {}
    assert restored.checkpoint == Checkpoint(1, {0: 5})


def test_a_changelog_written_before_markers_stands_as_it_is():
    folds = {t: TableFold() for t in TABLES}
    folds["recipients"].record(b'"a@x"', b'{"suppressed_by":"e1","soft_streak":0,"recent":"x"}')
    folds["recipients"].record(b'"b@x"', b'{"suppressed_by":null,"soft_streak":0,"recent":"y"}')
    restored = complete(folds)
    assert restored.tables["recipients"] == {
        "a@x": {"suppressed_by": "e1", "soft_streak": 0, "recent": "x"},
        "b@x": {"suppressed_by": None, "soft_streak": 0, "recent": "y"}}
    assert (restored.checkpoint, restored.repair) == (Checkpoint(), True)
    state = PartitionState(0, LIMITS, restored.tables)
    # An address with nothing to remember but its recent events loses its entry.
    assert state.take_changes()["recipients"] == {"b@x": None}
    assert list(state.recipients) == ["a@x"]


def test_a_marker_the_other_table_never_had_is_an_error():
    folds = {t: TableFold() for t in TABLES}
    folds["recipients"].record(MARKER_KEY, Checkpoint(5).value())
    folds["messages"].record(MARKER_KEY, Checkpoint(2).value())
    with pytest.raises(ValueError, match="no checkpoint 2"):
        complete(folds)
