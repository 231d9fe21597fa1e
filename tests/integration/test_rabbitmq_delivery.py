"""Hook delivery to a real RabbitMQ server, from a worker that classifies a stream: every hook
arrives in the queue, and under its routing key through an exchange, in order per address,
including the hooks made while the RabbitMQ server was stopped and started again; a target that
never takes them ends in dead-letters; the worker's /health shows each subscription's figures."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import aio_pika
import pytest

from streams.ingest.codec import DEAD_LETTER, HOOK
from streams.local.broker import free_port
from streams.local.synth import generate
from tests.conftest import jsonl, run_cli
from tests.integration.checks import read_topic, wait_until
from tests.integration.rabbitmq import RabbitServer

pytestmark = pytest.mark.integration
EXCHANGE = "bf-routed"
BINDINGS = {"routed-all": "#", "routed-hbounce": "*.hbounce"}


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory):
    server = RabbitServer(tmp_path_factory.mktemp("rabbitmq"))
    server.start()
    yield server
    server.close()


async def _bind(url: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EXCHANGE, "topic", durable=True)
        for queue, key in BINDINGS.items():
            await (await channel.declare_queue(queue, durable=True)).bind(exchange, key)


async def _count(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True)
        return declared.declaration_result.message_count


async def _drain(url: str, queue: str) -> list[tuple[str, str, dict]]:
    """(routing key, message id, hook) of every message in the queue, in queue order."""
    out = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True)
        while (message := await declared.get(no_ack=True, fail=False)) is not None:
            out.append((message.routing_key, message.message_id, json.loads(message.body)))
    return out


def _health(settings) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/health", timeout=5) as r:
        return json.loads(r.read())


def test_hooks_reach_rabbitmq_across_a_broker_restart(rabbit, settings_factory, worker_factory,
                                                      tmp_path):
    asyncio.run(_bind(rabbit.url))
    hooks_file = tmp_path / "hooks.toml"
    hooks_file.write_text(f'''
[[rabbitmq]]
name = "queue"
url = "{rabbit.url}"
queue = "bf-hooks"
batch_seconds = 0.2

[[rabbitmq]]
name = "routed"
url = "{rabbit.url}"
exchange = "{EXCHANGE}"
batch_seconds = 0.2

[[rabbitmq]]
name = "nowhere"
url = "{rabbit.url}"
exchange = "bf-unbound"
event_types = ["hbounce"]
retry_window_s = 2
''')
    settings = settings_factory(hooks_file=str(hooks_file), web_port=free_port())
    events = list(generate(1600, seed=11))
    half = len(events) // 2
    worker = worker_factory(settings)

    def hooks_so_far() -> list[dict]:
        """The hooks the subscriptions want: all but those of test sends."""
        hooks = [HOOK.decode(m.value()) for m in read_topic(settings, settings.topic_hooks)]
        return [h for h in hooks if not h["is_test"]]

    def produce(part: list[dict], name: str) -> None:
        done = run_cli(settings, "produce", str(jsonl(part, tmp_path / name)), "--quiet")
        assert done.returncode == 0, done.stderr

    produce(events[:half], "first.jsonl")
    worker.wait(half)
    first = hooks_so_far()
    wait_until(lambda: asyncio.run(_count(rabbit.url, "bf-hooks")) >= len(first), 60)

    # The broker goes away while the second half's hooks are made, then comes back.
    rabbit.stop()
    produce(events[half:], "second.jsonl")
    worker.wait(len(events))
    wait_until(lambda: _health(settings)["delivery"]["queue"]["retrying"], 30)
    during = _health(settings)["delivery"]["queue"]
    assert during["failed"] > 0 and during["sent"] >= len(first)
    rabbit.start()
    hooks = hooks_so_far()
    assert len(hooks) > len(first)
    wait_until(lambda: asyncio.run(_count(rabbit.url, "bf-hooks")) >= len(hooks), 120)
    wait_until(lambda: asyncio.run(_count(rabbit.url, "routed-all")) >= len(hooks), 60)
    hbounce_ids = {h["hook_id"] for h in hooks if h["event_type"] == "hbounce"}
    wait_until(lambda: _health(settings)["delivery"]["nowhere"]["dead_lettered"]
               == len(hbounce_ids), 60)
    figures = _health(settings)["delivery"]
    assert worker.stop() == 0

    want = {h["hook_id"] for h in hooks}
    # The queue: every hook at least once, one message each, in order per address.
    queued = asyncio.run(_drain(rabbit.url, "bf-hooks"))
    assert {message_id for _, message_id, _ in queued} == want
    assert all(hook["hook_id"] == message_id for _, message_id, hook in queued)
    for email in {h["event_data"]["email"] for h in hooks}:
        order = [h["hook_id"] for h in hooks if h["event_data"]["email"] == email]
        got = [m for _, m, h in queued if h["event_data"]["email"] == email]
        assert list(dict.fromkeys(got)) == list(dict.fromkeys(order))
    # The exchange: each hook under "<list_id>.<event_type>", and only where the key binds.
    routed = asyncio.run(_drain(rabbit.url, "routed-all"))
    assert {m for _, m, _ in routed} == want
    assert all(key == f"{h['list_id'] or 0}.{h['event_type']}" for key, _, h in routed)
    hbounces = asyncio.run(_drain(rabbit.url, "routed-hbounce"))
    assert {m for _, m, _ in hbounces} == hbounce_ids
    # Nothing binds bf-unbound: its hard bounces end in dead-letters with the last answer (the
    # broker's NO_ROUTE, or no connection while it was down).
    letters = [DEAD_LETTER.decode(m.value())
               for m in read_topic(settings, settings.topic_dead_letters) if m.key() == b"nowhere"]
    assert all("retry window ended" in dl["reason"] for dl in letters)
    assert any("NO_ROUTE" in dl["reason"] for dl in letters)
    assert {h["hook_id"] for dl in letters for h in json.loads(dl["value"])} == hbounce_ids
    # The worker's health counted it all.
    assert figures["queue"]["sent"] >= len(hooks) and not figures["queue"]["retrying"]
    assert figures["routed"]["last_latency_ms"] is not None

    # The platform's "test event" goes to the queue too.
    done = run_cli(settings, "hooks", "test", "queue",
                   env={"BOUNCEFLOW_HOOKS_FILE": str(hooks_file)})
    assert done.returncode == 0 and "1 confirmed" in done.stdout, done.stderr
    (test_event,) = asyncio.run(_drain(rabbit.url, "bf-hooks"))
    assert test_event[2]["event_type"] == "test"
