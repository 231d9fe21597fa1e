"""The ClickHouse sink alone, on chDB: the CPU an insert of classified replies and of hooks takes
a row, as the engine's checkpoint writes them (Avro records with their source, through the
tables' inputs), in batches of ``--batch`` rows. No broker, no loop: a change to the tables, to
the insert's settings or to the batch size shows here to a few percent, where the pipeline moves
by ten.

    python -m bench.sink [--replies 200000] [--batch 20000]

CPU is the process's (the inserting thread and chDB's pools), from the first insert to the last,
merges included as they happen. Prints one JSON line: µs a row for each table, its rows, and its
active parts at the end."""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from typing import Any

from sinks.avro_rows import source_suffix
from sinks.base import Batch
from sinks.clickhouse import ClickHouseSink, connect
from streams.classify.classifier import Classifier
from streams.ingest.codec import SMTP_REPLY, Codec, Invalid
from streams.local.synth import generate
from streams.runtime.processing import REPLY_SPANS, classified_record, classify_reply
from streams.settings import Settings
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits
from streams.tracking.state import PartitionState

TOPIC = "smtp-replies"


def rows(replies: int) -> dict[str, list[bytes]]:
    """The rows the engine adds to the replies and hooks sinks for a synthetic stream (one
    partition, so every reply is tracked)."""
    classifier, codec = Classifier(), Codec("smtp_reply", (), REPLY_SPANS)
    defaults = Settings.load(env={})
    state = PartitionState(0, Limits(defaults.max_attempts, defaults.default_retry_s,
                                     defaults.message_lifetime_s))
    out: dict[str, list[bytes]] = {"replies": [], "hooks": []}
    for offset, event in enumerate(generate(replies, seed=1, recipients=max(1, replies // 10))):
        raw = SMTP_REPLY.encode(event)
        reply = classify_reply(raw, classifier, codec)
        if isinstance(reply, Invalid):
            raise RuntimeError(f"a synthetic reply is invalid: {reply.reason}")
        source = source_suffix(0, offset)
        out["replies"].append(classified_record(raw, reply) + source)
        out["hooks"] += [encode_hook(hook) + source for hook in state.apply(reply)]
    return out


def _cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def insert(sink: ClickHouseSink, table_rows: list[bytes], batch: int) -> float:
    """Insert the rows in batches; return the process's CPU seconds."""
    started = _cpu_seconds()
    for first in range(0, len(table_rows), batch):
        written = Batch(TOPIC, 0)
        for offset, row in enumerate(table_rows[first:first + batch], start=first):
            written.add(row, offset)
        sink.write([written])
    return _cpu_seconds() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=20_000, help="rows an insert")
    args = parser.parse_args(argv)
    if min(args.replies, args.batch) < 1:
        parser.error("--replies and --batch must be at least 1")
    table_rows = rows(args.replies)
    client, database = connect(f"chdb://{tempfile.mkdtemp(prefix='bounceflow-sink-')}")
    out: dict[str, Any] = {"replies": args.replies, "batch": args.batch}
    try:
        for table, written in table_rows.items():
            sink = ClickHouseSink(client, database, table)
            sink.setup()
            seconds = insert(sink, written, args.batch)
            out[f"{table}_us_per_row"] = round(seconds / len(written) * 1e6, 2)
            out[f"{table}_rows"] = client.query(
                f"SELECT count() FROM `{database}`.`{table}`").result_rows[0][0]
            out[f"{table}_parts"] = client.query(
                "SELECT count() FROM system.parts WHERE active AND database = "
                f"'{database}' AND table = '{table}'").result_rows[0][0]
    finally:
        client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
