"""The naive baseline: one Faust agent, one event at a time, doing the classify step's work
(decode, classify) — what a first Faust implementation of bounceflow looks like.

Run by ``bench.pipeline`` as ``python -m bench.naive_faust BOOTSTRAP TOPIC N OUT``: it writes
(events, seconds from the first event to the N-th) as JSON to the file OUT and exits."""

from __future__ import annotations

import json
import os
import sys
import time

import faust

from streams.classify import Classifier
from streams.processing import classify_reply

bootstrap, topic_name, target, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
app = faust.App(
    f"naive-{os.getpid()}", broker=f"kafka://{bootstrap}", store="memory://",
    value_serializer="raw", key_serializer="raw", web_enabled=False,
    consumer_auto_offset_reset="earliest", broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0, broker_rebalance_timeout=5.0,
    topic_allow_declare=False, autodiscover=False,
    datadir=os.path.join(os.path.dirname(os.path.abspath(out)), "naive-faust-data"),  # not cwd
)
topic = app.topic(topic_name)
classifier = Classifier()
seen = {"n": 0, "first": 0.0}


@app.agent(topic, concurrency=1)
async def classify(stream: faust.StreamT) -> None:
    async for value in stream:
        if seen["n"] == 0:
            seen["first"] = time.monotonic()
        classify_reply(value, classifier)
        seen["n"] += 1
        if seen["n"] == target:
            with open(out, "w") as f:
                json.dump({"events": target, "seconds": time.monotonic() - seen["first"]}, f)
            os._exit(0)  # a measurement, not a service: no graceful shutdown to wait for


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
