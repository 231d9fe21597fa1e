"""The naive baselines: one Faust agent, one event at a time — what a first Faust implementation
of bounceflow looks like.

- classify only (the default): decode, validate and classify each reply; no state, no output.
- ``--hooks-topic T`` (the track step too): then look the recipient and the message up in two
  Faust tables, decide with bounceflow's state machine (``streams/tracking/machine.py``), write both
  tables back (a changelog record each) and send the hooks to T. No ClickHouse: still less than
  the pipeline does.

Run by ``bench.pipeline`` as ``python -m bench.naive_faust BOOTSTRAP TOPIC N OUT [options]``: it
writes (events, seconds from the first event to the N-th, hooks decided) as JSON to the file
OUT, flushes the hooks it sent and exits."""

from __future__ import annotations

import argparse
import json
import os
import time

import faust

from streams.classify.classifier import Classifier
from streams.runtime.processing import classify_reply
from streams.settings import Settings
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits, decide

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("bootstrap")
parser.add_argument("topic")
parser.add_argument("events", type=int)
parser.add_argument("out")
parser.add_argument("--hooks-topic", help="track in Faust tables and send hooks here")
parser.add_argument("--partitions", type=int, default=4, help="of TOPIC (the tables' too)")
parser.add_argument("--app-id", default=f"naive-{os.getpid()}")
args = parser.parse_args()

app = faust.App(
    args.app_id, broker=f"kafka://{args.bootstrap}", store="memory://",
    value_serializer="json", key_serializer="json", web_enabled=False,  # the tables' values
    consumer_auto_offset_reset="earliest", broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0, broker_rebalance_timeout=5.0,
    topic_allow_declare=False, autodiscover=False, topic_partitions=args.partitions,
    datadir=os.path.join(os.path.dirname(os.path.abspath(args.out)), f"{args.app_id}-data"),
)
topic = app.topic(args.topic, key_serializer="raw", value_serializer="raw")
classifier = Classifier()
seen = {"n": 0, "first": 0.0, "hooks": 0}
if args.hooks_topic:
    # Changelog topics ``<app id>-<table>-changelog`` are created by bench.pipeline beforehand.
    recipients = app.Table("recipients")
    messages = app.Table("messages")
    hooks = app.topic(args.hooks_topic, key_serializer="raw", value_serializer="raw")
    d = Settings.load(env={})
    limits = Limits(d.max_attempts, d.default_retry_s, d.message_lifetime_s)


def counted() -> bool:
    """Count an event; at the N-th write the result and say so."""
    if seen["n"] == 0:
        seen["first"] = time.monotonic()
    seen["n"] += 1
    if seen["n"] == args.events:
        with open(args.out, "w") as f:
            json.dump({"events": args.events, "seconds": time.monotonic() - seen["first"],
                       "hooks": seen["hooks"]}, f)
    return seen["n"] == args.events


@app.agent(topic, concurrency=1)
async def classify(stream: faust.StreamT) -> None:
    async for event in stream.events():
        reply = classify_reply(event.value, classifier)
        if args.hooks_topic and isinstance(reply, dict):
            email, message_id = reply["email"], reply["message_id"]
            decision = decide(reply, recipients.get(email), messages.get(message_id), limits,
                              event.message.partition)
            if decision.recipient is not None:
                recipients[email] = decision.recipient
            if decision.message is not None:
                messages[message_id] = decision.message
            elif decision.forget_message:
                messages.pop(message_id, None)
            for hook in decision.hooks:
                await hooks.send(key=email.encode(), value=encode_hook(hook))
            seen["hooks"] += len(decision.hooks)
        if counted():
            if args.hooks_topic:  # the hooks still buffered, as the Quix app's stop flushes
                await app.producer.flush()
            os._exit(0)  # a measurement, not a service: no graceful shutdown to wait for


if __name__ == "__main__":
    import sys

    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
