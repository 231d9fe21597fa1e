"""The classifier alone, on one core: replies per second on a realistic mix (the demo's stream:
deliveries, bounces from the big providers, texts that repeat with per-message ids, addresses and
IPs in them) and on all-distinct texts (no reply seen twice: every one pays for masking and the
rules).

    python -m bench.classifier [--replies 200000] [--policy recipient]

Each mix runs on a fresh classifier (cold caches). Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from streams.classify.classifier import Classifier
from streams.local.synth import generate
from streams.settings import POLICIES


def rate(policy: str, replies: list[tuple[Any, ...]]) -> float:
    classify = Classifier(policy).classify
    start = time.perf_counter()
    for reply in replies:
        classify(*reply)
    return len(replies) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=200_000)
    parser.add_argument("--policy", choices=POLICIES, default="recipient")
    args = parser.parse_args(argv)
    if args.replies < 1:
        parser.error("--replies must be at least 1")
    mix = [(e["reply_code"], e["enhanced_status"], e["reply_text"], e["smtp_stage"])
           for e in generate(args.replies, seed=5)]
    distinct = [(code, status, f"{text} [session {i:09d}]", stage)
                for i, (code, status, text, stage) in enumerate(mix)]
    print(json.dumps({
        "replies": args.replies,
        "distinct_texts_in_mix": round(len({m[2] for m in mix}) / len(mix), 3),
        "realistic_mix_replies_per_s": round(rate(args.policy, mix)),
        "all_distinct_replies_per_s": round(rate(args.policy, distinct)),
    }))


if __name__ == "__main__":
    main()
