"""Bounces by mail, on one core: mails per second through the parser and correlation
(``streams.mail.events.outcome``: MIME parsing, RFC 3464 fields or Mailman's detectors, VERP
verification, the SmtpReply built and validated), per shape and over the mix. The mails are the
test set's shapes (tests/unit/mail/samples.py), each with its own message id and recipient.

    python -m bench.dsn [--mails 3000]

Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import time

from streams.mail.events import MailOptions, outcome
from streams.mail.verp import Verp
from tests.unit.mail import samples

SHAPES = {
    "postfix": samples.postfix_failed, "exim": samples.exim_failed,
    "exchange": samples.exchange_failed, "gmail": samples.gmail_failed,
    "delay": samples.postfix_delayed, "qmail": samples.qmail_failed,
    "yahoo": samples.yahoo_failed, "autoreply": samples.out_of_office,
}


def rate(mails: list[bytes], options: MailOptions) -> float:
    start = time.perf_counter()
    for i, raw in enumerate(mails):
        got = outcome(raw, i, options)
        if got.problem:
            raise SystemExit(f"a bench mail did not parse: {got.problem}: {got.reason}")
    return len(mails) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=3000, help="mails per shape")
    args = parser.parse_args(argv)
    if args.mails < 1:
        parser.error("--mails must be at least 1")
    verp = Verp("bounces+{token}@{domain}", "bounce.example", "bench-secret")
    options = MailOptions(verp=verp)

    def mails(shape: str) -> list[bytes]:
        out = []
        for i in range(args.mails):
            rcpt = f"user{i}@isp{i % 97}.example"
            out.append(SHAPES[shape](verp.address(f"m{i}", rcpt), rcpt, f"m{i}@shop.example"))
        return out

    per_shape = {shape: round(rate(mails(shape), options)) for shape in SHAPES}
    mix = [m for ms in zip(*(mails(s) for s in SHAPES)) for m in ms]
    print(json.dumps({"mails_per_shape": args.mails,
                      "mix_mails_per_s": round(rate(mix, options)),
                      "mails_per_s": per_shape}))


if __name__ == "__main__":
    main()
