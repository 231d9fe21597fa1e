"""The worker's processing loop: one consumer in the app's group reads smtp-replies and the
app's repartition topic in batches; classify and track are plain functions over each batch.

Why not Faust's agents: faust-streaming 0.15 skipped records after a restart
(``Consumer.getmany`` drops fetched records around its post-recovery seek) and its per-event
path is several times slower (docs/performance-history.md). bounceflow keeps Faust's model — a
repartition topic keyed by address, changelogged tables, at-least-once with idempotent
effects — and owns the loop.

Checkpoint, in this order (nothing is committed that is not durable everywhere):
  1. produce the changelog records of every table key changed since the last checkpoint;
  2. flush the producer (classified replies, hooks, dead letters, changelogs) and check that
     every record was delivered;
  3. write the buffered ClickHouse rows (retried with back-off until they land: the stream
     waits, it neither drops nor double counts; told to stop meanwhile, the engine gives the
     rows up and commits nothing more, and the next start replays them);
  4. produce each partition's checkpoint marker (how far it is into its sources) to its
     changelogs, flush;
  5. commit the consumed offsets.
Step 3 runs in a writer thread while the loop goes on with the next records (chDB releases the
GIL while it inserts, so the insert takes the second core); steps 4-5 ride on the next
checkpoint: its markers are produced just before that one's changelog records and share its
flush, so a checkpoint waits on the broker once. One write is in flight at a time: the next
checkpoint waits for it, which bounds the buffered rows.
A crash before 4 restores the tables of the last marker (``tracking/checkpoints.py``) and
replays from the last commit: replies the marker says the state holds are skipped (their
effects are durable), the others are applied again to the state they first met, so that
classified replies and hooks are produced again with the same ids and values and ClickHouse
folds the repeated rows (``sinks/clickhouse.py``). Hooks are produced as soon as they are
decided; only the commit waits for the checkpoint.

Tracked at once: when producers key smtp-replies by the (normalised) address, a classified reply
belongs to the partition its reply came from, whose state this worker holds (the range assignor
gives a worker the same partitions of both topics). Then the worker tracks it right away and
produces it to classified-replies. Any other reply takes the round trip through the repartition
topic (``<app id>-classified-repartition``, keyed by address, as Faust's repartitioning would),
and the worker that holds its address's state tracks it and produces it to classified-replies.
classified-replies is output only: no worker reads back what it wrote there (reading back every
tracked record only to skip it cost a fetch and a loop turn a reply).

Rebalance: on revoke, checkpoint, then keep the state of partitions that come back; on assign,
restore the others from their changelogs (``changelog.py``); on a lost assignment, drop the state
(another worker owns it now and replays from the last commit).
"""

from __future__ import annotations

import functools
import logging
import struct
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from sinks.avro_rows import source_suffix
from sinks.base import Batch
from sinks.clickhouse import ClickHouseSink, connect, dead_letter_row
from sinks.ddl import health_views
from streams import memory
from streams.alerts.evaluator import AlertEvaluator
from streams.alerts.machine import SENDER_PUSHBACK
from streams.classify.classifier import Classifier
from streams.exceptions import BounceflowError, BrokerError
from streams.ingest.codec import CLASSIFIED, DEAD_LETTER, Codec, Invalid
from streams.kafka_config import confluent_config, produce
from streams.runtime.health import DURATION_BUCKETS, LATENCY_BUCKETS, Health, observe
from streams.runtime.partitioner import partition_of
from streams.runtime.processing import (
    REPLY_SPANS,
    Source,
    classified_record,
    classify_reply,
    dead_letter,
    input_decoder,
)
from streams.settings import Settings
from streams.tracking.changelog import restore, resume, write_changes, write_marker
from streams.tracking.checkpoints import Checkpoint
from streams.tracking.hooks import EMAIL, FIELDS
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits
from streams.tracking.state import PartitionState

log = logging.getLogger("bounceflow")

SINK_RETRY_MAX_S = 30.0
STOP_POLL_S = 0.1  # how often a write waiting to be retried looks at the stop flag
CONSUME_BATCH = 5000
CONSUME_WAIT_S = 0.05  # longest a batch waits to fill: bounds hook latency at low rates
IDLE_CHECKPOINT_S = 0.2  # shortest time between checkpoints when the stream is caught up
SINK_TABLES = ("replies", "hooks", "dead_letters")
# The ClickHouse clients __init__ opens (the loop's, the writer thread's): an engine process is
# given a pipe to the worker's process for each (engine_processes.py).
CLICKHOUSE_CLIENTS = 2
PRODUCED_KEPT = 20_000  # classified replies kept to skip their decoding (about 2 KB each)
EVENT_TYPE = FIELDS.index("event_type")
# A reply's position in its partition of smtp-replies: its record's offset times this, plus its
# index among the record's replies (an MTA's record can name several recipients).
REPLIES_PER_RECORD = 1 << 16
# A repartitioned reply carries its partition of smtp-replies and position there.
SOURCE_HEADER = "bounceflow-source"
SOURCE = struct.Struct(">iq")


Markers = dict[int, Checkpoint]


class WriteAbandoned(BounceflowError):
    """Told to stop while ClickHouse refused a checkpoint's rows: they stay unwritten, their
    offsets and every later one uncommitted, and the next start replays them."""


class Engine:
    def __init__(self, settings: Settings, health: Health,
                 clickhouse: Callable[[str], tuple[Any, str]] = connect,
                 classifier: Classifier | None = None) -> None:
        """``clickhouse``: opens a client of the DSN and names its database (``connect``, or in
        an engine process a relay to the worker's process: ``engine_processes.py``).
        ``classifier``: the settings' one, built by the caller (an engine process is given the
        one its worker built before forking it)."""
        self.settings = settings
        self.health = health
        self.classifier = classifier or Classifier(settings.policy, settings.rules_file or None)
        self.reply_codec = Codec("smtp_reply", settings.accepted_schema_ids(), REPLY_SPANS)
        self.decode_input = input_decoder(settings)  # None: the input is SmtpReply Avro
        self.limits = Limits(settings.max_attempts, settings.default_retry_s,
                             settings.message_lifetime_s, settings.escalate_soft_bounces,
                             int(settings.escalate_window_days * 86400))
        self.states: dict[int, PartitionState] = {}
        self.uncommitted: dict[tuple[str, int], int] = {}
        self.produced: dict[bytes, dict[str, Any]] = {}  # classified replies, by their bytes
        self.failed_deliveries: list[str] = []
        # Set by run(); the writer thread reads it between retries, so that a stop during a
        # ClickHouse outage is not held up by a write that cannot land.
        self.should_stop: Callable[[], bool] = lambda: False
        self.abandoned = False  # a write was given up: nothing more is written or committed
        self.last_checkpoint = self.checkpoint_started = time.monotonic()
        self.home = functools.lru_cache(maxsize=8192)(
            lambda email: partition_of(email, settings.partitions))
        self.clickhouse, database = clickhouse(settings.clickhouse_dsn)
        # The writer thread's own client: a client serves one thread at a time.
        self.sink_client, _ = clickhouse(settings.clickhouse_dsn)
        self.sinks = {t: ClickHouseSink(self.sink_client, database, t) for t in SINK_TABLES}
        for sink in self.sinks.values():
            sink.setup()
        for statement in health_views(database, SENDER_PUSHBACK):
            self.sink_client.command(statement)
        # Keys set here: the writer thread updates the counts while /health reads them.
        health.sink_rows = {t: health.sink_rows.get(t, 0) for t in SINK_TABLES}
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse-writer")
        # The write in flight, and once it is done, the markers to write (partition ->
        # checkpoint) and the offsets to commit.
        self.in_flight: tuple[Future[None], Markers, dict[tuple[str, int], int]] | None = None
        self.producer = Producer(confluent_config(
            settings,
            **{
                # Fewer, larger batches: the local broker's cost per request grows with the
                # batches a topic holds (docs/local-stack.md).
                "linger.ms": settings.produce_linger_ms,
                "batch.num.messages": 10000,
                "queue.buffering.max.messages": 500000,
                "message.max.bytes": settings.max_message_bytes,
                # Retries must not reorder: per-address order is the tracking's input order.
                "max.in.flight.requests.per.connection": 1,
                # Nor drop one and deliver the next: a state skips a repartitioned reply below
                # the positions it applied, so a gap would be lost. A broker that does not take
                # records stops the worker at the checkpoint's flush instead (nothing committed).
                "message.timeout.ms": 0,
                "partitioner": "murmur2_random",  # the Java client's: same key, same partition
                "delivery.report.only.error": True,
                "on_delivery": self._delivered,
            },
        ))
        self.alerts = AlertEvaluator(settings, self.clickhouse, database, self.producer,
                                     self.sinks["hooks"], health)
        self.consumer = Consumer(confluent_config(settings, **{
            "group.id": settings.app_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.session_timeout_s * 1000),
            "heartbeat.interval.ms": max(500, int(settings.session_timeout_s * 200)),
            "max.poll.interval.ms": 600_000,
            # Range gives a worker the same partitions of both topics, so a reply's partition of
            # smtp-replies and its state's partition of the repartition topic move together and
            # tracking at once never overtakes a reply of the same partition still in transit.
            "partition.assignment.strategy": "range",
            "fetch.max.bytes": max(52_428_800, settings.max_message_bytes),
            # A caught-up fetch returns when data arrives or after this: a hook's latency
            # includes it once, twice for a reply that takes the round trip.
            "fetch.wait.max.ms": 20,
            # librdkafka prefetches up to 64 MB and 100,000 records per partition by default;
            # a few batches ahead is enough and holds far less memory. A full queue postpones
            # the partition's next fetch by fetch.queue.backoff.ms, 1 s by default, which with
            # the smaller queue starved the worker: so it is 10 ms.
            "queued.max.messages.kbytes": 16384, "queued.min.messages": 10000,
            "fetch.queue.backoff.ms": 10,
        }))

    # -- the loop -------------------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool], on_tick: Callable[[], None]) -> None:
        s = self.settings
        self.should_stop = should_stop
        self.consumer.subscribe([s.topic_replies, s.topic_repartition],
                                on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_lost)
        try:
            while not should_stop():
                batch = self.consumer.consume(CONSUME_BATCH, timeout=CONSUME_WAIT_S)
                started = time.monotonic()
                for msg in batch:
                    self._process(msg)
                if batch:
                    observe(self.health.processing_seconds, DURATION_BUCKETS,
                            time.monotonic() - started)
                self.producer.poll(0)
                if self._checkpoint_due(caught_up=not batch):
                    self._start_checkpoint()
                if self.alerts.due(owner=0 in self.states):
                    self.alerts.run(self.checkpoint)
                on_tick()
            self.checkpoint()
        except WriteAbandoned as exc:
            log.warning("%s", exc)
        finally:
            self.close()

    def close(self) -> None:
        self.consumer.close()  # leaves the group; on_revoke checkpoints again (a no-op)
        self.writer.shutdown(wait=True)
        self.sink_client.close()
        self.clickhouse.close()  # chDB: lets the next process open the directory

    def _process(self, msg: Message) -> None:
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise BrokerError(f"Kafka consumer failed: {error}")
            log.warning("Kafka: %s", error)
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        self.uncommitted[(topic, partition)] = offset + 1
        if self.health.first_record_at is None:
            self.health.first_record_at = time.time()
        if topic == self.settings.topic_replies:
            self._classify(msg)
        else:
            self._track(msg)

    def _classify(self, msg: Message) -> None:
        self.health.replies += 1
        try:
            raws = ([msg.value()] if self.decode_input is None
                    else self.decode_input(msg.value()))
        except Exception as exc:  # an adapter's bug must not stop the stream on one record
            log.exception("input decoding failed")
            raws = Invalid(f"input decoding failed: {type(exc).__name__}: {exc}")
        if not isinstance(raws, Invalid) and len(raws) > REPLIES_PER_RECORD:
            raws = Invalid(f"{len(raws)} replies in one record (at most {REPLIES_PER_RECORD})")
        if isinstance(raws, Invalid):
            self._dead_letter(raws.reason, msg)
            return
        if not raws:
            self.health.input_skipped += 1
        for index, raw in enumerate(raws):
            self._classify_one(raw, msg, msg.offset() * REPLIES_PER_RECORD + index)

    def _classify_one(self, raw: bytes, msg: Message, position: int) -> None:
        """One SmtpReply of ``msg`` (a record in another input format may hold several), at
        ``position`` of its partition (``PartitionState.seen``)."""
        try:
            result = classify_reply(raw, self.classifier, self.reply_codec)
        except Exception as exc:  # a bug must not stop the stream on one record
            log.exception("classify failed")
            result = Invalid(f"classification failed: {type(exc).__name__}: {exc}")
        if isinstance(result, Invalid):
            self._dead_letter(result.reason, msg)
            return
        value = classified_record(raw, result)
        key = result["email"].encode()
        self.health.classified += 1
        partition = msg.partition()
        state = self.states.get(partition)
        if state is None and self.home(key) == partition:  # never silently: see _track
            raise BrokerError(f"no state for {msg.topic()}[{partition}]@{msg.offset()}")
        # A recipient already in this partition's table lives here: murmur2 only for the others.
        if state is not None and (result["email"] in state.recipients
                                  or self.home(key) == partition):
            self._apply(state, result, value, msg, key, (partition, position))
            self.health.tracked_at_once += 1
            return
        produce(self.producer, self.settings.topic_repartition, key, value,
                headers=[(SOURCE_HEADER, SOURCE.pack(partition, position))])
        self.produced[value] = result
        if len(self.produced) > PRODUCED_KEPT:  # oldest first: consumed by now, or elsewhere
            del self.produced[next(iter(self.produced))]

    def _track(self, msg: Message) -> None:
        # A record this worker produced recently is not decoded again: the
        # decoded record equals the one encoded (tests/unit/test_codec_and_validation.py).
        self.health.repartitioned += 1
        reply = self.produced.pop(msg.value(), None) or CLASSIFIED.decode(msg.value())
        if isinstance(reply, Invalid):
            self._dead_letter(reply.reason, msg)
            return
        state = self.states.get(msg.partition())
        if state is None:  # assigned without a restore: only after a failed one, never silently
            raise BrokerError(f"no state for {msg.topic()}[{msg.partition()}]@{msg.offset()}")
        origin = next((SOURCE.unpack(v) for k, v in msg.headers() or () if k == SOURCE_HEADER),
                      None)  # None: written by a version before sources
        # A record of an older schema (no basis) is written again in the current one: the rows
        # and classified-replies hold one schema.
        value = msg.value() if reply["basis"] is not None else CLASSIFIED.encode(reply)
        self._apply(state, reply, value, msg, msg.key(), origin)

    def _apply(self, state: PartitionState, reply: dict[str, Any], classified: bytes,
               msg: Message, key: bytes, origin: tuple[int, int] | None) -> None:
        """Produce one classified reply to classified-replies in its state's partition and track
        it (``classified``: its Avro record, ``key``: its address); ``msg`` is where it was read
        (a reply or a repartitioned record), which the rows name as their source; ``origin``:
        the reply's partition of smtp-replies and position there. A reply the state holds
        already (replayed after a restart, or repartitioned twice) was done then: skipped."""
        if origin is not None and state.seen(*origin):
            self.health.replays_skipped += 1
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        produce(self.producer, self.settings.topic_classified, key, classified, partition)
        try:
            hooks = state.apply(reply)
        except Exception as exc:  # a bug must not stop the stream on one record
            log.exception("tracking failed")
            self._dead_letter(f"tracking failed: {type(exc).__name__}: {exc}", msg)
            return
        source = source_suffix(partition, offset)  # the rows of a reply and of its hooks
        self.sinks["replies"].add(classified + source, topic, partition, offset)
        types = self.health.hook_types
        for hook in hooks:
            value = encode_hook(hook)
            produce(self.producer, self.settings.topic_hooks, hook[EMAIL].encode(), value)
            self.sinks["hooks"].add(value + source, topic, partition, offset)
            types[hook[EVENT_TYPE]] = types.get(hook[EVENT_TYPE], 0) + 1
        if hooks:
            observe(self.health.hook_latency_seconds, LATENCY_BUCKETS,
                    max(0.0, time.time() - reply["event_time"] / 1000))
        self.health.tracked += 1
        self.health.hooks += len(hooks)

    def _dead_letter(self, reason: str, msg: Message) -> None:
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        log.warning("dead letter %s[%d]@%d: %s", topic, partition, offset, reason)
        letter = dead_letter(reason, Source(topic, partition, offset), msg.key(), msg.value())
        produce(self.producer, self.settings.topic_dead_letters, msg.key(),
                DEAD_LETTER.encode(letter))
        self.sinks["dead_letters"].add(dead_letter_row(letter, partition, offset),
                                       topic, partition, offset)
        self.health.dead_letters += 1
        label = reason.split(":", 1)[0]
        self.health.dead_letter_reasons[label] = self.health.dead_letter_reasons.get(label, 0) + 1

    # -- checkpoint -----------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Steps 1-5 of the module docstring, all done when it returns."""
        self._start_checkpoint()
        self._end_checkpoint(self._await_write(), flush=True)

    def _start_checkpoint(self) -> None:
        """Steps 1-2, and step 3 handed to the writer thread. The previous checkpoint's steps
        4-5 share its flush: its markers go out just before this one's changelog records, and
        its offsets are committed once both are acknowledged."""
        if self.abandoned:  # stopping (the revoke of close()): a commit now would pass the rows
            return
        previous = self._await_write()
        self._end_checkpoint(previous, flush=False)
        self._write_changelogs()
        self._flush()
        self._commit(previous)
        rows = {table: sink.take() for table, sink in self.sinks.items()}
        markers = {p: marker for p, state in self.states.items()
                   if (marker := state.next_checkpoint()) is not None}
        offsets, self.uncommitted = self.uncommitted, {}
        if any(rows.values()) or markers or offsets:
            self.checkpoint_started = time.monotonic()
            self.in_flight = (self.writer.submit(self._write_rows, rows), markers, offsets)
        self._measure_lag()
        self.health.state_keys = sum(len(s.recipients) + len(s.messages)
                                     for s in self.states.values())
        self.last_checkpoint = time.monotonic()

    def _flush(self) -> None:
        remaining = self.producer.flush(60)
        if remaining or self.failed_deliveries:
            raise BrokerError(
                f"Kafka did not take {remaining or len(self.failed_deliveries)} records "
                f"(first: {self.failed_deliveries[:1]}); nothing was committed, a restart "
                "replays from the last commit"
            )

    def _write_changelogs(self) -> None:
        """Step 1: the changelog records of every table key changed since the last one."""
        for partition, state in self.states.items():
            write_changes(self.producer, self.settings, partition, state.take_changes())

    def _await_write(self) -> tuple[Markers, dict[tuple[str, int], int]] | None:
        """Wait for the write in flight: its checkpoint's markers and offsets, None if none."""
        if self.in_flight is None:
            return None
        written, markers, offsets = self.in_flight
        self.in_flight = None
        written.result()
        return markers, offsets

    def _end_checkpoint(self, done: tuple[Markers, dict[tuple[str, int], int]] | None,
                        flush: bool) -> None:
        """Step 4 for a checkpoint whose rows are written; with ``flush``, step 5 too."""
        if done is None:
            return
        for partition, checkpoint in done[0].items():
            write_marker(self.producer, self.settings, partition, checkpoint)
            if (state := self.states.get(partition)) is not None:
                state.checkpointed(checkpoint)
        if flush:
            self._flush()
            self._commit(done)

    def _commit(self, done: tuple[Markers, dict[tuple[str, int], int]] | None) -> None:
        """Step 5, once the checkpoint's markers are acknowledged."""
        if done is None or not done[1]:
            return
        observe(self.health.checkpoint_seconds, DURATION_BUCKETS,
                time.monotonic() - self.checkpoint_started)
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in done[1].items()],
                                 asynchronous=False)
            self.health.commits += 1
            self.health.last_commit_at = time.time()
        except Exception as exc:
            # Lost the partitions (rebalance, eviction): the next owner replays from the last
            # commit; the rebalance callbacks deal with the state.
            self.health.commit_failures += 1
            log.warning("commit failed, the next owner replays these offsets: %s", exc)

    def _checkpoint_due(self, caught_up: bool) -> bool:
        """A batch is full or old enough, or the stream is caught up; and the write in flight
        is done, unless a full batch waits behind it."""
        pending = sum(sink.pending() for sink in self.sinks.values())
        if not pending and not self.uncommitted:
            # The last write is done: its markers and commit need not wait for more records.
            return self.in_flight is not None and self.in_flight[0].done()
        if (self.in_flight is not None and not self.in_flight[0].done()
                and pending < self.settings.sink_batch_size):
            # Waiting for it would stall the loop: the rows join the next checkpoint instead.
            # A full batch waits for it, so that an insert stays one batch (chDB's memory).
            return False
        age = time.monotonic() - self.last_checkpoint
        # Caught up, the rows and commit need not wait out the batch time: the report lag (and
        # the end of a backlog) shrinks from up to a second to the write. Not more often than
        # IDLE_CHECKPOINT_S, as every checkpoint is a ClickHouse insert (a part) per table.
        return (pending >= self.settings.sink_batch_size or age >= self.settings.sink_batch_seconds
                or (caught_up and age >= IDLE_CHECKPOINT_S))

    def _write_rows(self, rows: dict[str, list[Batch]]) -> None:
        """Step 3, in the writer thread: every table's rows, retried until they land, or
        given up (``WriteAbandoned``) when a write fails after the engine was told to stop: a
        stop during a ClickHouse outage then ends within the grace period."""
        delay = 0.5
        for table, batches in rows.items():
            if not batches:
                continue
            while True:
                try:
                    self.sinks[table].write(batches)
                    break
                except Exception as exc:
                    self.health.sink_failures += 1
                    failures = self.health.sink_table_failures
                    failures[table] = failures.get(table, 0) + 1
                    self.health.last_sink_error = str(exc)
                    if self.should_stop():
                        self.abandoned = True
                        raise WriteAbandoned(
                            f"stopped while ClickHouse refused the rows: this checkpoint's "
                            f"offsets are not committed, the next start replays them ({exc})"
                        ) from exc
                    log.error("ClickHouse write failed, retrying in %.1fs: %s", delay, exc)
                    retry_at = time.monotonic() + delay
                    while time.monotonic() < retry_at and not self.should_stop():
                        time.sleep(STOP_POLL_S)
                    delay = min(delay * 2, SINK_RETRY_MAX_S)
            self.health.sink_rows[table] += sum(len(b.rows) for b in batches)
        memory.trim()

    def _measure_lag(self) -> None:
        """Records between each owned partition's position and its high watermark (the one
        the last fetch brought: no request to the broker)."""
        lag: dict[str, dict[str, int]] = {}
        for tp in self.consumer.position(self.consumer.assignment()):
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                lag.setdefault(tp.topic, {})[str(tp.partition)] = max(0, high - tp.offset)
        self.health.lag = lag

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed_deliveries.append(f"{msg.topic()}: {err}")

    # -- rebalance ------------------------------------------------------------------------------

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.rebalances += 1
        self.checkpoint()
        self.alerts.forget()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        owned = sorted(tp.partition for tp in partitions
                       if tp.topic == self.settings.topic_repartition)
        self.states = {p: s for p, s in self.states.items() if p in owned}
        missing = [p for p in owned if p not in self.states]
        if missing:
            started = time.monotonic()
            repaired = False
            for p, restored in restore(self.settings, self.producer, missing).items():
                self.states[p] = resume(self.producer, self.settings, p, self.limits, restored)
                repaired = repaired or restored.repair
                log.info("partition %d at checkpoint %d, sources %s (%d keys set back)",
                         p, restored.checkpoint.epoch, restored.checkpoint.sources,
                         sum(len(k) for k in restored.set_back.values()))
            if repaired:
                self._flush()
            keys = sum(len(t) for p in missing for t in self.states[p].tables.values())
            self.health.restored_keys += keys
            self.health.restore_seconds += time.monotonic() - started
            log.info("restored partitions %s: %d keys in %.1fs", missing, keys,
                     time.monotonic() - started)
        self.health.partitions = owned
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("partitions lost (session timed out): dropping their state and buffers")
        self.states.clear()
        self.uncommitted.clear()
        self.in_flight = None  # its rows may land (duplicates fold); its offsets are not ours
        for sink in self.sinks.values():
            sink.clear()

