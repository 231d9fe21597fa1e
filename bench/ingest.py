"""The MTA adapters alone, on one core: lines (records) per CPU second per format, on logs rendered
from the demo's stream in each MTA's shape (docs/mta/<name>.md), with and without the Avro
encoding `bounceflow ingest` adds before producing.

    python -m bench.ingest [--replies 50000] [--formats kumomta,postfix,powermta,exim] [--repeat 3]

Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from streams.adapters.common import Options, Skip
from streams.adapters.exim import Exim
from streams.adapters.kumomta import KumoMTA
from streams.adapters.postfix import Postfix
from streams.adapters.powermta import PowerMTA
from streams.ingest.codec import SMTP_REPLY
from streams.local.mta_logs import exim_lines, kumomta_lines, postfix_lines, powermta_lines
from streams.local.synth import generate

FORMATS: dict[str, tuple[Callable[[list[dict[str, Any]]], list[str]], Any]] = {
    "kumomta": (kumomta_lines, KumoMTA), "postfix": (postfix_lines, Postfix),
    "powermta": (powermta_lines, PowerMTA), "exim": (exim_lines, Exim),
}


def rate(adapter: Any, lines: list[bytes], encode: bool) -> tuple[float, int, int]:
    """(lines per CPU second of this process, replies, bad lines) of one pass: CPU time, as
    the cores are shared with whatever else runs."""
    replies = bad = 0
    start = time.process_time()
    for line in lines:
        got = adapter.line(line)
        if isinstance(got, Skip):
            bad += got.bad
            continue
        replies += len(got)
        if encode:
            for reply in got:
                SMTP_REPLY.encode(reply)
    return len(lines) / max(time.process_time() - start, 1e-9), replies, bad


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=50_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes per figure; the best is kept (the cores are shared)")
    args = parser.parse_args(argv)
    formats = args.formats.split(",")
    if args.replies < 1 or args.repeat < 1 or set(formats) - set(FORMATS):
        parser.error("--replies and --repeat must be at least 1, --formats among "
                     + ", ".join(FORMATS))
    events = list(generate(args.replies, seed=5))
    out: dict[str, Any] = {"replies": args.replies}
    options = Options(utc_offset_s=0, sending_ip="203.0.113.10")
    for name in formats:
        render, adapter = FORMATS[name]
        lines = [line.encode() for line in render(events)]
        passes = [rate(adapter(options), lines, encode=False) for _ in range(args.repeat)]
        per_s, replies, bad = max(passes)
        with_avro = max(rate(adapter(options), lines, encode=True)[0]
                        for _ in range(args.repeat))
        out[name] = {"lines": len(lines), "replies": replies, "bad": bad,
                     "lines_per_s": round(per_s), "lines_per_s_with_avro": round(with_avro)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
