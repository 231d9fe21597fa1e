"""`bounceflow deliver` with a web port: /health and /metrics show each subscription's
deliveries, the same figures in both."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from streams.ingest.codec import HOOK
from streams.kafka_config import confluent_config
from streams.local.broker import free_port
from streams.local.testing import worker_env
from streams.runtime.topics import ensure_topics
from streams.tracking.hooks import as_dict, hook_values
from tests.integration.checks import wait_until
from tests.integration.test_http_delivery import Receiver
from tests.unit.tracking.test_machine import reply

pytestmark = pytest.mark.integration


def page(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def test_deliver_serves_its_figures_as_metrics(settings_factory, tmp_path):
    settings = settings_factory(web_port=free_port())
    ensure_topics(settings)
    hooks = [as_dict(hook_values("sbounce", {**reply(f"e{i}", "soft", message_id=f"m{i}", t=i),
                                             "email": f"u{i % 4}@x.com"})) for i in range(20)]
    producer = Producer(confluent_config(settings))
    for h in hooks:
        producer.produce(settings.topic_hooks, key=h["event_data"]["email"].encode(),
                         value=HOOK.encode(h))
    producer.flush()
    receiver = Receiver({"/good": [200], "/refuses": [400]})
    hooks_file = tmp_path / "hooks.toml"
    hooks_file.write_text(f'''
[[http]]
name = "good"
url = "{receiver.url}/good"
batch_seconds = 0.2

[[http]]
name = "refuses"
url = "{receiver.url}/refuses"
batch_seconds = 0.2
''')
    env = {**worker_env(settings), "BOUNCEFLOW_HOOKS_FILE": str(hooks_file)}
    with open(tmp_path / "deliver.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "streams.cli", "deliver"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        def figures() -> dict:
            try:
                return json.loads(page(settings.web_port, "/health"))["delivery"]
            except OSError:
                return {}

        wait_until(lambda: figures().get("good", {}).get("sent") == 20 and
                   figures()["refuses"]["dead_lettered"] == 20, 90)
        health = figures()
        text = page(settings.web_port, "/metrics")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "deliver.log").read_text()[-3000:]

    got = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for f in text_string_to_metric_families(text) for s in f.samples}
    for name, figure in health.items():
        for outcome in ("sent", "dead_lettered"):
            assert got[("bounceflow_hook_deliveries_total",
                        (("outcome", outcome), ("subscription", name)))] == figure[outcome]
        assert got[("bounceflow_hook_delivery_failures_total",
                    (("subscription", name),))] == figure["failed"]
        assert got[("bounceflow_hook_delivery_retrying", (("subscription", name),))] == 0
    assert health["refuses"]["failed"] >= 1 and health["good"]["failed"] == 0
    assert {n for n, _ in got} == {"bounceflow_hook_deliveries_total",
                                   "bounceflow_hook_delivery_failures_total",
                                   "bounceflow_hook_delivery_retrying"}
