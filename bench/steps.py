"""The worker's per-reply functions alone, on one core: decode, validate and classify, the
classified record, the track step, the hooks and the ClickHouse rows, on the demo's mix, with no
broker, no ClickHouse and no loop around them. What the loop adds is the rest of a reply's cost
(``bench.pipeline``); what this prints moves only with the functions, so it compares two
versions of them better than a whole run on a noisy machine.

    python -m bench.steps [--replies 60000] [--recipients 6000]

Best of three passes, each on a fresh classifier (cold caches) and state. Prints one JSON line:
µs a reply for each step and in all."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from sinks.avro_rows import source_suffix
from streams.classify.classifier import Classifier
from streams.ingest.codec import SMTP_REPLY, Codec
from streams.local.synth import generate
from streams.runtime.processing import REPLY_SPANS, classified_record, classify_reply
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits
from streams.tracking.state import PartitionState

LIMITS = Limits(max_attempts=5, default_retry_s=600, message_lifetime_s=86400)


def one_pass(replies: list[bytes]) -> Counter[str]:
    """Seconds spent in each step over ``replies``."""
    codec = Codec("smtp_reply", (), REPLY_SPANS)  # the worker's codec
    classifier, state = Classifier(), PartitionState(0, LIMITS)
    spent: Counter[str] = Counter()
    rows: list[bytes] = []  # the sinks' rows, kept as the engine keeps them to a checkpoint
    clock = time.perf_counter
    for offset, raw in enumerate(replies, start=10_000_000):  # offsets of a topic in use
        t0 = clock()
        reply = classify_reply(raw, classifier, codec)
        t1 = clock()
        value = classified_record(raw, reply)
        t2 = clock()
        hooks = state.apply(reply)
        t3 = clock()
        source = source_suffix(0, offset)  # as the engine does: once for a reply and its hooks
        rows.append(value + source)
        rows += [encode_hook(hook) + source for hook in hooks]
        t4 = clock()
        spent["classify_reply"] += t1 - t0
        spent["classified_record"] += t2 - t1
        spent["track"] += t3 - t2
        spent["hooks_and_rows"] += t4 - t3
    return spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=60_000)
    parser.add_argument("--recipients", type=int, help="distinct addresses (default replies/10)")
    args = parser.parse_args(argv)
    if args.replies < 1 or (args.recipients is not None and args.recipients < 1):
        parser.error("--replies and --recipients must be at least 1")
    replies = [SMTP_REPLY.encode(e) for e in generate(
        args.replies, seed=1, recipients=args.recipients or max(10, args.replies // 10))]
    best = min((one_pass(replies) for _ in range(3)), key=lambda spent: sum(spent.values()))
    out = {"replies": args.replies,
           **{f"{step}_us": round(s / len(replies) * 1e6, 2) for step, s in best.items()},
           "total_us": round(sum(best.values()) / len(replies) * 1e6, 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
