"""The naive Quix Streams baselines: what a first Quix Streams implementation of bounceflow
looks like, written the idiomatic way with the library's defaults (RocksDB state with its
changelog topic, at-least-once, a commit every 5 s).

- classify only (the default): decode, validate and classify each reply; no state, no output.
- ``--hooks-topic T`` (the track step too): a stateful ``apply`` per recipient (the records'
  key) holds the recipient's state and its pending messages, decides with bounceflow's state
  machine (``streams/tracking/machine.py``), and the hooks go to T through ``to_topic``. No
  ClickHouse: still less than the pipeline does.

Run by ``bench.pipeline`` as ``python -m bench.naive_quix BOOTSTRAP TOPIC N OUT [options]``: it
writes (events, seconds from the first event to the N-th, hooks decided) as JSON to the file OUT
once the N-th event is processed, then stops the application (its producer flushes) and exits.
The source topic must have been created with ``retention.ms`` and ``retention.bytes`` given
(docs/local-stack.md): Quix copies them to its changelog topic."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from typing import Any

from quixstreams import Application, State, message_context

from streams.classify.classifier import Classifier
from streams.runtime.processing import classify_reply
from streams.settings import Settings
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits, decide


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("events", type=int)
    parser.add_argument("out")
    parser.add_argument("--hooks-topic", help="track in Quix state and send hooks here")
    parser.add_argument("--app-id", default=f"naive-quix-{os.getpid()}")
    args = parser.parse_args(argv)

    app = Application(
        broker_address=args.bootstrap, consumer_group=args.app_id,
        auto_offset_reset="earliest", loglevel="WARNING",
        state_dir=os.path.join(os.path.dirname(os.path.abspath(args.out)), f"{args.app_id}-state"),
        on_message_processed=lambda topic, partition, offset: counted(),
    )
    source = app.topic(args.topic, key_deserializer="bytes", value_deserializer="bytes")
    classifier = Classifier()
    seen = {"n": 0, "first": 0.0, "hooks": 0}

    def counted() -> None:
        if seen["n"] == 0:
            seen["first"] = time.monotonic()
        seen["n"] += 1
        if seen["n"] == args.events:
            with open(args.out, "w") as f:
                json.dump({"events": args.events, "seconds": time.monotonic() - seen["first"],
                           "hooks": seen["hooks"]}, f)
            app.stop()

    sdf = app.dataframe(source).apply(lambda raw: classify_reply(raw, classifier))
    if args.hooks_topic:
        d = Settings.load(env={})
        limits = Limits(d.max_attempts, d.default_retry_s, d.message_lifetime_s)

        def track(reply: dict[str, Any], state: State) -> list[bytes]:
            # The state is the key's (the recipient's): its own entry and its pending messages.
            message_key = "m:" + reply["message_id"]
            decision = decide(reply, state.get("recipient"), state.get(message_key), limits,
                              message_context().partition)
            if decision.recipient is not None:
                state.set("recipient", decision.recipient)
            if decision.message is not None:
                state.set(message_key, decision.message)
            elif decision.forget_message:
                state.delete(message_key)
            seen["hooks"] += len(decision.hooks)
            return [encode_hook(hook) for hook in decision.hooks]

        hooks = app.topic(args.hooks_topic, key_serializer="bytes", value_serializer="bytes")
        sdf = sdf.filter(lambda reply: isinstance(reply, dict))
        sdf = sdf.apply(track, stateful=True, expand=True).to_topic(hooks)
    app.run(sdf)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main()
