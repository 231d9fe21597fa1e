"""The Faust agents: thin ``async for`` loops over the pure functions of ``processing``,
``tracking`` and the sink. Every agent that feeds counts runs with ``concurrency=1``: with more,
at-least-once commit can pass a message still in flight (faust-streaming #606).

Commit order (Faust's): an event is acked when its agent has finished with it; before offsets
are committed Faust flushes the producer, so hooks and changelog records sent for an acked event
are on the broker before its offset is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import faust

from sinks.clickhouse import ClickHouseSink, connect, dead_letter_row, hook_row, reply_row

from .classify import Classifier
from .codec import Invalid
from .processing import CLASSIFIED, DEAD_LETTER, HOOK, Source, classify_reply, dead_letter
from .settings import Settings
from .tracking import Limits, PendingIndex, decide, expiry_hook

log = logging.getLogger("bounceflow")

SINK_RETRY_MAX_S = 30.0


@dataclass
class Health:
    """Counters the worker logs and serves: what happened, not guesses."""

    classified: int = 0
    dead_letters: int = 0
    hooks: int = 0
    sink_rows: dict[str, int] = field(default_factory=dict)
    sink_failures: int = 0
    last_sink_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def register(app: faust.App, settings: Settings) -> Health:
    """Declare topics, tables and agents on ``app``; return the health counters."""
    health = Health()
    classifier = Classifier(settings.policy, settings.rules_file or None)
    limits = Limits(settings.max_attempts, settings.default_retry_s, settings.message_lifetime_s)
    replies = app.topic(settings.topic_replies, partitions=settings.partitions)
    classified = app.topic(settings.topic_classified, partitions=settings.partitions)
    hooks = app.topic(settings.topic_hooks, partitions=settings.partitions)
    dead = app.topic(settings.topic_dead_letters, partitions=settings.partitions)
    recipients = app.Table("recipients", partitions=settings.partitions)
    messages = app.Table("messages", partitions=settings.partitions)

    async def send_dead(reason: str, event: faust.types.EventT) -> None:
        msg = event.message
        source = Source(msg.topic, msg.partition, msg.offset)
        log.warning("dead letter %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
        await dead.send(key=msg.key, value=DEAD_LETTER.encode(
            dead_letter(reason, source, msg.key, msg.value)))
        health.dead_letters += 1

    @app.agent(replies, concurrency=1, name="classify")
    async def classify_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                result = classify_reply(event.value, classifier)
            except Exception as exc:  # a bug must not crash-loop the agent on one record
                log.exception("classify failed")
                result = Invalid(f"classification failed: {type(exc).__name__}: {exc}")
            if isinstance(result, Invalid):
                await send_dead(result.reason, event)
                continue
            await classified.send(key=result["email"].encode(), value=CLASSIFIED.encode(result))
            health.classified += 1

    pending: dict[int, PendingIndex] = {}

    @app.on_partitions_assigned.connect
    async def _reset_pending(app: faust.App, assigned: Any, **kwargs: Any) -> None:
        # Partitions may have moved: rebuild each index from the table on its next event.
        pending.clear()

    def index_for(partition: int) -> PendingIndex:
        index = pending.get(partition)
        if index is None:
            index = pending[partition] = PendingIndex([
                (mid, state["first"]) for mid, state in messages.items()
                if state["partition"] == partition
            ])
        return index

    async def emit(hook: dict[str, Any]) -> None:
        await hooks.send(key=hook["event_data"]["email"].encode(), value=HOOK.encode(hook))
        health.hooks += 1

    @app.agent(classified, concurrency=1, name="track")
    async def track_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            reply = CLASSIFIED.decode(event.value)
            if isinstance(reply, Invalid):
                await send_dead(reply.reason, event)
                continue
            try:
                await track(reply, event.message.partition)
            except Exception as exc:  # a bug must not crash-loop the agent on one record
                log.exception("track failed")
                await send_dead(f"tracking failed: {type(exc).__name__}: {exc}", event)

    async def track(reply: dict[str, Any], partition: int) -> None:
        email, mid = reply["email"], reply["message_id"]
        decision = decide(reply, recipients.get(email), messages.get(mid), limits, partition)
        for hook in decision.hooks:
            await emit(hook)
        if decision.recipient is not None:
            recipients[email] = decision.recipient
        index = index_for(partition)
        if decision.message is not None:
            messages[mid] = decision.message
            index.add(mid, decision.message["first"])
        elif decision.forget_message:
            messages.pop(mid, None)
            index.discard(mid)
        for expired_id in index.advance(reply["event_time"], limits.message_lifetime_s):
            state = messages.get(expired_id)
            if state is not None:
                await emit(expiry_hook(state))
                messages.pop(expired_id, None)

    # One thread owns the ClickHouse client: chDB is one session per process, and the event loop
    # must not block on inserts.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    @functools.cache
    def clickhouse() -> tuple[Any, str]:
        return connect(settings.clickhouse_dsn)

    def open_sink(table: str) -> ClickHouseSink:
        sink = ClickHouseSink(*clickhouse(), table)
        sink.setup()
        return sink

    def sink_agent(topic: faust.TopicT, table: str, codec: Any, to_row: Any) -> None:
        async def run(stream: faust.StreamT) -> None:
            loop = asyncio.get_running_loop()
            sink = await loop.run_in_executor(executor, open_sink, table)
            async for events in stream.take_events(
                settings.sink_batch_size, within=settings.sink_batch_seconds
            ):
                for event in events:
                    record = codec.decode(event.value)
                    if isinstance(record, Invalid):
                        await send_dead(record.reason, event)
                        continue
                    msg = event.message
                    sink.add(to_row(record, msg.partition, msg.offset),
                             msg.topic, msg.partition, msg.offset)
                await _flush_with_backoff(loop, executor, sink, table, health)

        run.__name__ = f"sink_{table}"
        app.agent(topic, concurrency=1, name=f"sink-{table}")(run)

    sink_agent(classified, "replies", CLASSIFIED, reply_row)
    sink_agent(hooks, "hooks", HOOK, hook_row)
    sink_agent(dead, "dead_letters", DEAD_LETTER, dead_letter_row)
    return health


async def _flush_with_backoff(
    loop: asyncio.AbstractEventLoop,
    executor: ThreadPoolExecutor,
    sink: ClickHouseSink,
    table: str,
    health: Health,
) -> None:
    """Flush until it succeeds: the stream waits (its events stay unacked) instead of dropping
    or double counting."""
    delay = 0.5
    while True:
        try:
            written = await loop.run_in_executor(executor, sink.flush)
        except Exception as exc:
            health.sink_failures += 1
            health.last_sink_error = str(exc)
            log.error("ClickHouse write failed, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, SINK_RETRY_MAX_S)
            continue
        health.sink_rows[table] = health.sink_rows.get(table, 0) + written
        return
