"""``bounceflow ingest``: MTA log files (or stdin) through an adapter (streams/adapters/) to the
replies topic as Avro SmtpReply.

Neither lost nor repeated across a restart: lines are read in chunks; before a chunk is
produced, the state file records the topic's end offsets ("pending"); once Kafka has
acknowledged the chunk, it records the new file positions and the adapter's open correlation
state (Postfix queue ids waiting for their lines). A run that finds a pending chunk reads the
topic from those offsets and does not produce again the event ids already there (ids are
derived from the records, so the same lines give the same ids).
A line the adapter cannot read goes to the dead-letters topic with its reason and its source
(``file:<path>``, partition 0, the line's byte offset).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Consumer, TopicPartition

from streams.adapters.common import Options, Skip
from streams.adapters.exim import Exim
from streams.adapters.kumomta import KumoMTA
from streams.adapters.postfix import Postfix
from streams.adapters.powermta import PowerMTA
from streams.exceptions import BrokerError, ConfigError
from streams.ingest.adapter_options import options_from
from streams.ingest.codec import DEAD_LETTER, SMTP_REPLY, Invalid, Source, dead_letter
from streams.ingest.produce import reply_producer, send_reply
from streams.kafka_config import confluent_config
from streams.kafka_config import produce as send
from streams.settings import Settings

ADAPTERS = {"kumomta": KumoMTA, "postfix": Postfix, "powermta": PowerMTA, "exim": Exim}
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK_LINES = 20_000
BLOCK = 1 << 20
FOLLOW_WAIT_S = 0.2


def make_adapter(fmt: str, options: Options) -> Any:
    return ADAPTERS[fmt](options)


@dataclass
class Summary:
    lines: int = 0
    replies: int = 0  # produced and acknowledged
    already: int = 0  # found on the topic after an unfinished chunk: not produced again
    skipped: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)
    open: int = 0  # correlation still waiting for lines (Postfix queue ids, Exim messages)
    abandoned: int = 0  # queue ids that never completed

    def lines_text(self) -> list[str]:
        out = [f"lines read {self.lines}, replies produced {self.replies}"
               + (f", already on the topic {self.already}" if self.already else "")
               + f", skipped {sum(self.skipped.values())}, bad {sum(self.bad.values())}"
               + (f", open queue ids {self.open}" if self.open else "")
               + (f", never completed {self.abandoned}" if self.abandoned else "")]
        out += [f"  skipped {n}: {reason}" for reason, n in self.skipped.most_common()]
        out += [f"  bad {n}: {reason}" for reason, n in self.bad.most_common(20)]
        return out


class LineSource:
    """One input: a file (plain or zstd) read by complete lines from a byte position, followed
    across rotation; or stdin."""

    def __init__(self, path: str, position: dict[str, Any] | None, follow: bool) -> None:
        self.name = path  # as given: the key of its position in the state file
        self.path = path  # the file read: an older one while finishing a rotated file
        self.pending_rotation: str | None = None
        self.follow = follow and path != "-"
        self.offset = 0
        self.inode: int | None = None
        self.buffer = b""
        self.handle: IO[bytes] | None = None
        self.done = False
        self.zstd = False
        self.starts: list[int] = []  # the byte offset of each line of the last chunk
        self._open(position or {})

    def position(self) -> dict[str, Any]:
        return {"inode": self.inode, "offset": self.offset}

    def _open(self, saved: dict[str, Any]) -> None:
        if self.path == "-":
            self.handle = sys.stdin.buffer
            return
        st = os.stat(self.path)
        offset = saved.get("offset", 0)
        if saved.get("inode") not in (None, st.st_ino):
            # Rotated while we were down: finish the old file if it is still beside this one.
            old = _sibling_with_inode(self.path, saved["inode"])
            if old is None:
                offset = 0
            else:
                self.path, self.pending_rotation = old, self.path
                st = os.stat(old)
        self.handle = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        self.inode = st.st_ino
        if self.handle.read(4) == ZSTD_MAGIC:
            import zstandard

            self.handle.seek(0)
            self.handle = zstandard.ZstdDecompressor().stream_reader(self.handle)
            self.zstd, self.follow = True, False  # a segment is read whole, once closed
            _skip(self.handle, offset)
        else:
            if offset > st.st_size:  # truncated (copytruncate): start over
                offset = 0
            self.handle.seek(offset)
        self.offset = offset

    def chunk(self, limit: int) -> list[bytes]:
        """Up to ``limit`` complete lines; [] at the end (for now, when following)."""
        self.starts = []
        lines = self._split(limit)
        while len(lines) < limit:
            assert self.handle is not None
            block = (self.handle.read(BLOCK) if self.path != "-"
                     else self.handle.read1(BLOCK))  # type: ignore[attr-defined]
            if block:
                self.buffer += block
                lines += self._split(limit - len(lines))
                continue
            newer = self._newer_file()
            if self.buffer and (newer or not self.follow):  # a closed file's last line
                lines.append(self.buffer)
                self.starts.append(self.offset)
                self.offset += len(self.buffer)
                self.buffer = b""
            if newer:
                self.close()
                self.path, self.pending_rotation, self.buffer = newer, None, b""
                self._open({})
                continue
            if not self.follow:
                self.done = True
            break
        return lines

    def _split(self, limit: int) -> list[bytes]:
        """Up to ``limit`` complete lines from the buffer (the position counts every line,
        empty ones too)."""
        lines: list[bytes] = []
        start = 0
        buffer = self.buffer
        while len(lines) < limit:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if end > start:
                lines.append(buffer[start:end])
                self.starts.append(self.offset + start)
            start = end + 1
        self.offset += start
        self.buffer = buffer[start:]
        return lines

    def _newer_file(self) -> str | None:
        """The file that replaced this one (rotation), if any; starts a truncated file over."""
        if self.pending_rotation:
            return self.pending_rotation
        if not self.follow:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None  # between rename and create
        if st.st_ino != self.inode:
            return self.path
        if st.st_size < self.offset:
            assert self.handle is not None
            self.handle.seek(0)
            self.offset, self.buffer = 0, b""
        return None

    def close(self) -> None:
        if self.handle is not None and self.path != "-":
            self.handle.close()


def _sibling_with_inode(path: str, inode: int) -> str | None:
    p = Path(path)
    for candidate in sorted(p.parent.glob(p.name + "*")):
        try:
            if candidate.stat().st_ino == inode:
                return str(candidate)
        except OSError:
            continue
    return None


def _skip(handle: Any, n: int) -> None:
    while n > 0:
        got = handle.read(min(n, BLOCK))
        if not got:
            return
        n -= len(got)


class Ingest:
    """One ``bounceflow ingest`` run over ``paths`` in ``fmt``."""

    def __init__(self, settings: Settings, fmt: str, paths: list[str],
                 state_file: str | None = None, follow: bool = False,
                 chunk_lines: int = CHUNK_LINES) -> None:
        self.settings, self.fmt, self.paths = settings, fmt, paths
        self.state_file = Path(state_file) if state_file else None
        self.follow, self.chunk_lines = follow, chunk_lines
        self.adapter = make_adapter(fmt, options_from(settings))
        self.summary = Summary()
        self.failed: list[str] = []
        self.producer = reply_producer(settings, self.failed)
        self.positions: dict[str, dict[str, Any]] = {}
        self.already_there: set[str] = set()
        self._marks_consumer: Consumer | None = None
        state = self._load()
        if state:
            self.positions = state.get("positions", {})
            self.adapter.restore(state.get("adapter", {}))
            if state.get("pending") is not None:
                self.already_there = self._ids_since(state["pending"])
        self._committed = self._snapshot()

    # -- state file ------------------------------------------------------------------------

    def _load(self) -> dict[str, Any] | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"state file {self.state_file}: {exc}") from None
        if state.get("format") != self.fmt:
            raise ConfigError(f"state file {self.state_file} is for --format "
                              f"{state.get('format')}, not {self.fmt}")
        committed: dict[str, Any] = state.get("committed", {})
        committed["pending"] = state.get("pending")
        return committed

    def _snapshot(self) -> str:
        """The committed state as JSON, serialised once and written with every pending mark."""
        if self.state_file is None:
            return ""
        return json.dumps({"positions": self.positions, "adapter": self.adapter.state()})

    def _write(self, pending: dict[str, int] | None) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(f'{{"format": {json.dumps(self.fmt)}, "committed": {self._committed}, '
                       f'"pending": {json.dumps(pending)}}}')
        os.replace(tmp, self.state_file)

    # -- the topic's end, and what a pending chunk already put there -----------------------

    def _consumer(self) -> Consumer:
        return Consumer(confluent_config(self.settings, **{
            "group.id": "bounceflow-ingest", "enable.auto.commit": False,
            "auto.offset.reset": "earliest"}))

    def _marks(self) -> dict[str, int]:
        if self._marks_consumer is None:
            self._marks_consumer = self._consumer()
        topic = self.settings.topic_replies
        meta = self._marks_consumer.list_topics(topic, timeout=10).topics[topic]
        return {str(p): self._marks_consumer.get_watermark_offsets(
            TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions}

    def _ids_since(self, marks: dict[str, int], idle_s: float = 2.0) -> set[str]:
        """Event ids on the topic from ``marks`` on (the local broker may report an end
        below the true one: reading from it only reads more)."""
        consumer = self._consumer()
        ids: set[str] = set()
        topic = self.settings.topic_replies
        try:
            if not marks:  # the topic did not exist yet: all of it is the pending chunk's
                meta = consumer.list_topics(topic, timeout=10).topics[topic]
                marks = {str(p): 0 for p in meta.partitions}
            consumer.assign([TopicPartition(topic, int(p), o) for p, o in marks.items()])
            quiet_since = time.monotonic()
            while time.monotonic() - quiet_since < idle_s:
                batch = consumer.consume(1000, timeout=0.2)
                for msg in batch:
                    if msg.error() is None:
                        reply = SMTP_REPLY.decode(msg.value())
                        if not isinstance(reply, Invalid):
                            ids.add(reply["event_id"])
                if batch:
                    quiet_since = time.monotonic()
        finally:
            consumer.close()
        return ids

    # -- the run -----------------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool] = lambda: False,
            on_progress: Callable[[Summary], None] | None = None) -> Summary:
        """Files one after the other (a log's order is its correlation's order); when
        following, every file in turn, each as far as it has grown."""
        last_progress = time.monotonic()
        groups = ([self.paths] if self.follow else [[p] for p in self.paths])
        for paths in groups:
            sources = [LineSource(p, self.positions.get(p), self.follow) for p in paths]
            try:
                while not should_stop() and not all(s.done for s in sources):
                    idle = True
                    for source in sources:
                        lines = [] if source.done else source.chunk(self.chunk_lines)
                        if lines:
                            self._chunk(source, lines)
                            idle = False
                        else:
                            self.positions[source.name] = source.position()
                    if idle and self.follow:
                        time.sleep(FOLLOW_WAIT_S)
                    if on_progress and time.monotonic() - last_progress > 1:
                        on_progress(self.summary)
                        last_progress = time.monotonic()
            finally:
                for source in sources:
                    source.close()
            if should_stop():
                break
        if self._marks_consumer is not None:
            self._marks_consumer.close()
        self._committed = self._snapshot()
        self._write(None)
        self.summary.open = getattr(self.adapter, "open", 0)
        self.summary.abandoned = getattr(self.adapter, "abandoned", 0)
        return self.summary

    def _chunk(self, source: LineSource, lines: list[bytes]) -> None:
        if self.state_file is not None:
            self._write(self._marks())
        adapter, summary, topic = self.adapter, self.summary, self.settings.topic_replies
        produced = 0
        for line, start in zip(lines, source.starts):
            summary.lines += 1
            result = adapter.line(line)
            if isinstance(result, Skip):
                if result.bad:
                    summary.bad[result.reason] += 1
                    send(self.producer, self.settings.topic_dead_letters, None, DEAD_LETTER.encode(
                        dead_letter(f"{self.fmt}: {result.reason}",
                                    Source(f"file:{source.path}", 0, start), None, line)))
                else:
                    summary.skipped[result.reason] += 1
                continue
            for reply in result:
                if reply["event_id"] in self.already_there:
                    summary.already += 1
                    continue
                send_reply(self.producer, topic, reply)
                produced += 1
            self.producer.poll(0)
        remaining = self.producer.flush(60)
        if remaining or self.failed:
            raise BrokerError(f"Kafka did not take {remaining or len(self.failed)} replies "
                              f"(first: {self.failed[:1]}); the state file still names the "
                              "chunk: a restart produces only what is missing")
        summary.replies += produced
        self.positions[source.name] = source.position()
        self._committed = self._snapshot()
        self._write(None)
