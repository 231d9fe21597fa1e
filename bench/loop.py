"""The worker's loop in one process, without waiting on anything: the engine's per-reply path
(``Engine._process``: classify, produce, track, hooks, sink rows) over replies held in memory as
Kafka messages, each in its address's partition as ``bench.pipeline`` produces them, and every
20,000 replies the checkpoint's changelog step. The broker is the local one (the producer
delivers, on librdkafka's threads); no consume, no flush, no ClickHouse insert.

It sits between ``bench.steps`` (the functions alone) and ``bench.pipeline`` (everything, on a
noisy machine to ±10%): a change to the loop's own path shows here to a few percent.

    python -m bench.loop [--replies 60000] [--recipients N] [--passes 5]

Each pass is a fresh engine (cold caches, empty state). Prints one JSON line: µs a reply of the
best pass, of which the changelog step, and what the engine counted."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

from streams.ingest.codec import SMTP_REPLY
from streams.local.broker import LocalBroker
from streams.local.synth import generate
from streams.local.testing import Consumed
from streams.runtime.engine import Engine
from streams.runtime.health import Health
from streams.runtime.partitioner import partition_of
from streams.runtime.topics import ensure_topics
from streams.settings import Settings
from streams.tracking.state import PartitionState

CHECKPOINT_REPLIES = 20_000  # the default sink_batch_size: a checkpoint's worth


def messages(settings: Settings, replies: int, recipients: int) -> list[Consumed]:
    out = []
    for offset, event in enumerate(generate(replies, seed=1, recipients=recipients)):
        key = event["email"].encode()
        out.append(Consumed(topic_=settings.topic_replies, offset_=offset, key_=key,
                            partition_=partition_of(key, settings.partitions),
                            value_=SMTP_REPLY.encode(event)))
    return out


def one_pass(settings: Settings, batch: list[Consumed]) -> dict[str, Any]:
    engine = Engine(settings, Health())
    engine.states = {p: PartitionState(p, engine.limits) for p in range(settings.partitions)}
    clock = time.perf_counter
    changelog = 0.0
    started = clock()
    for i, msg in enumerate(batch, start=1):
        engine._process(msg)
        if i % CHECKPOINT_REPLIES == 0 or i == len(batch):
            at = clock()
            engine._write_changelogs()
            changelog += clock() - at
            for sink in engine.sinks.values():
                sink.take()
            engine.producer.poll(0)
    spent = clock() - started
    engine.producer.flush(60)
    engine.close()
    return {"seconds": spent, "changelog_seconds": changelog,
            "tracked": engine.health.tracked, "hooks": engine.health.hooks,
            "dead_letters": engine.health.dead_letters}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=60_000)
    parser.add_argument("--recipients", type=int, help="distinct addresses (default replies/10)")
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    if min(args.replies, args.passes) < 1 or (args.recipients is not None and args.recipients < 1):
        parser.error("--replies, --recipients and --passes must be at least 1")
    root = tempfile.mkdtemp(prefix="bounceflow-loop-")
    with LocalBroker() as broker:
        settings = Settings.load(env={}, kafka_bootstrap=broker.bootstrap, app_id="loop",
                                 clickhouse_dsn=f"chdb://{root}/chdb", alert_check_s=1e9)
        ensure_topics(settings)
        batch = messages(settings, args.replies, args.recipients or max(10, args.replies // 10))
        best = min((one_pass(settings, batch) for _ in range(args.passes)),
                   key=lambda p: p["seconds"])
    n = len(batch)
    print(json.dumps({"replies": n, "loop_us": round(best["seconds"] / n * 1e6, 2),
                      "changelog_us": round(best["changelog_seconds"] / n * 1e6, 2),
                      "tracked": best["tracked"], "hooks": best["hooks"],
                      "dead_letters": best["dead_letters"]}))


if __name__ == "__main__":
    main()
