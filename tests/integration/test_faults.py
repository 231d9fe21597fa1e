"""Faults injected into a running engine or deliverer (issue 34): ClickHouse errors while alerts
are evaluated, a stop while ClickHouse is down, deliverer threads that fail. None of them may stop
the stream, hang the stop, lose or double a record, or pass unseen in the health figures."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from sinks.clickhouse import connect
from streams.classify.classifier import Classifier
from streams.delivery import subscriptions
from streams.delivery.deliverer import Delivery
from streams.ingest.codec import HOOK
from streams.kafka_config import confluent_config
from streams.local.broker import free_port
from streams.local.reference import expected
from streams.local.synth import generate
from streams.local.testing import Consumed
from streams.runtime import clickhouse_relay
from streams.runtime.engine import CLICKHOUSE_CLIENTS, Engine
from streams.runtime.health import Health
from streams.runtime.progress import committed, wait_drained
from streams.runtime.topics import ensure_topics
from streams.tracking.hooks import as_dict, hook_values
from tests.integration.checks import assert_exact, wait_until
from tests.integration.test_http_delivery import Receiver
from tests.integration.test_provider_health import alert_hooks, health_stream
from tests.integration.test_rebalance_and_sink_failure import EngineThread, produce
from tests.unit.tracking.test_machine import reply

pytestmark = pytest.mark.integration


def test_alert_evaluation_survives_clickhouse_errors(settings_factory, tmp_path, caplog):
    """The evaluator's progress table is detached, then refuses inserts: every check fails and
    is counted, the stream goes on, and the alert and its recovery are emitted once each."""
    settings = settings_factory(alert_check_s=0.3, alert_grace_s=0, alert_min_volume=40)
    ensure_topics(settings)
    events = health_stream()
    produce(settings, events, tmp_path, "e.jsonl")
    engine = EngineThread(settings)
    client, db = connect(settings.clickhouse_dsn)
    try:
        with caplog.at_level(logging.ERROR, logger="bounceflow"):
            # It cannot read its progress: nothing is evaluated, the stream is not held up.
            client.command(f"DETACH TABLE `{db}`.alert_state")
            wait_drained(settings, len(events), lambda: engine.thread.is_alive(), timeout=120)
            wait_until(lambda: engine.health.alert_failures >= 2 or engine.error, 60)
            assert engine.error is None, engine.error
            assert engine.health.alerts == 0
            assert "alert_state" in engine.health.last_alert_error

            # It reads and alerts, but cannot save its progress: tried again at every check,
            # without emitting the alerts again.
            client.command(f"ATTACH TABLE `{db}`.alert_state")
            client.command(f"ALTER TABLE `{db}`.alert_state ADD CONSTRAINT refuse CHECK 0")
            wait_until(lambda: engine.health.alerts == 2 or engine.error, 60)
            failed = engine.health.alert_failures
            wait_until(lambda: engine.health.alert_failures >= failed + 3 or engine.error, 60)
            assert engine.error is None, engine.error
            client.command(f"ALTER TABLE `{db}`.alert_state DROP CONSTRAINT refuse")
            wait_until(lambda: client.query(f"SELECT count() FROM `{db}`.alert_state"
                                            ).result_rows[0][0] > 0, 60)
        assert "provider health check failed" in caplog.text
    finally:
        client.close()
    engine.stop()
    assert engine.health.alerts == 2

    second = EngineThread(settings)  # reloads the saved progress: nothing is raised again
    wait_until(lambda: second.health.partitions, 60)
    wait_until(lambda: second.engine.alerts.state is not None, 30)
    second.stop()
    assert second.health.alerts == 0 and second.health.alert_failures == 0
    assert [h["event_type"] for h in alert_hooks(settings)] == ["alert", "recovered"]
    client, db = connect(settings.clickhouse_dsn)
    try:
        stored = client.query(f"SELECT event_type FROM `{db}`.hooks FINAL WHERE event_type IN "
                              f"('alert', 'recovered') ORDER BY event_time").result_rows
    finally:
        client.close()
    assert stored == [("alert",), ("recovered",)]


STOP_GRACE_S = 30.0  # docker-compose.yml gives 60 s; a worker must stop well within it


@contextlib.contextmanager
def clickhouse_outage(engine: Engine, outage: str) -> Iterator[None]:
    """Every insert of ``engine`` fails while inside: its replies table is detached (chDB), or
    its writer's calls go to a ClickHouse server that does not answer: an ``http://`` DSN on a
    closed port, reached as an engine process reaches ClickHouse (``clickhouse_relay``)."""
    if outage == "detached table":
        client, db = connect(engine.settings.clickhouse_dsn)
        client.command(f"DETACH TABLE `{db}`.replies")
        try:
            yield
        finally:
            client.command(f"ATTACH TABLE `{db}`.replies")
            client.close()
        return
    dsn = f"http://127.0.0.1:{free_port()}/bounceflow"  # nothing listens there
    ours, theirs = multiprocessing.Pipe()
    threading.Thread(target=clickhouse_relay.serve, args=(theirs, lambda: connect(dsn)[0]),
                     daemon=True).start()
    relay = clickhouse_relay.RelayClient(ours, dsn)
    for sink in engine.sinks.values():
        sink.client = relay
    try:
        yield
    finally:
        ours.close()


@pytest.mark.parametrize("outage", ["detached table", "unreachable server"])
def test_a_stop_during_a_clickhouse_outage(settings_factory, tmp_path, outage):
    """The writer retries while ClickHouse is down; a stop then ends the engine within the grace
    period, commits nothing that was not written, and the next start replays it exactly."""
    settings = settings_factory(sink_batch_seconds=0.2)
    ensure_topics(settings)
    topics = [settings.topic_replies, settings.topic_repartition]
    events = list(generate(3000, seed=31))
    first = EngineThread(settings)
    produce(settings, events[:1000], tmp_path, "a.jsonl")
    wait_drained(settings, 1000, lambda: first.thread.is_alive(), timeout=60)
    with clickhouse_outage(first.engine, outage):
        produce(settings, events[1000:], tmp_path, "b.jsonl")
        wait_until(lambda: first.health.sink_failures >= 3, timeout=60)
        stuck = committed(settings, topics)
        started = time.monotonic()
        first._stop.set()  # what SIGTERM does in a worker
        first.thread.join(STOP_GRACE_S)
        took = time.monotonic() - started
        assert not first.thread.is_alive(), f"still retrying {STOP_GRACE_S:.0f} s after the stop"
        assert first.error is None, first.error
        print(f"stopped {took:.1f} s after the stop; {first.health.sink_failures} failed writes")
        assert committed(settings, topics) == stuck  # nothing unwritten was committed
        assert stuck[settings.topic_replies] < len(events)

    second = EngineThread(settings)
    wait_drained(settings, len(events), lambda: second.thread.is_alive(), timeout=120)
    second.stop()
    assert_exact(settings, expected(events, Classifier(settings.policy), settings.max_attempts))


class FaultyConsumer:
    """A deliverer's real consumer, with one fault injected: a fatal error as the first thing
    it reads, or a refused first commit (as after a rebalance)."""

    def __init__(self, consumer, fault: str) -> None:
        self.consumer, self.fault = consumer, fault

    def consume(self, *args, **kwargs):
        if self.fault == "fatal":
            self.fault = ""
            return [Consumed(error_=KafkaError(KafkaError._FATAL, "injected", fatal=True))]
        return self.consumer.consume(*args, **kwargs)

    def commit(self, *args, **kwargs):
        if self.fault == "commit":
            self.fault = ""
            raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS, "injected"))
        return self.consumer.commit(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.consumer, name)


def test_deliverers_that_fail_are_seen_and_restarted(settings_factory, tmp_path):
    """A refused commit does not end a deliverer; a fatal consumer error does, and the
    deliverer is started again. Every hook arrives; /health's delivery figures tell what
    happened."""
    settings = settings_factory()
    ensure_topics(settings)
    hooks = [as_dict(hook_values("sbounce", {**reply(f"e{i}", "soft", message_id=f"m{i}", t=i),
                                             "email": f"u{i % 8}@x.com"})) for i in range(60)]
    producer = Producer(confluent_config(settings))
    for h in hooks:
        producer.produce(settings.topic_hooks, key=h["event_data"]["email"].encode(),
                         value=HOOK.encode(h))
    producer.flush()
    receiver = Receiver({"/commit": [200], "/fatal": [200]})
    path = tmp_path / "hooks.toml"
    path.write_text("".join(f'''
[[http]]
name = "{name}"
url = "{receiver.url}/{name}"
batch_size = 10
batch_seconds = 0.2
''' for name in ("commit", "fatal")))
    stop = threading.Event()
    delivery = Delivery(settings, subscriptions.load(str(path)), stop)
    for deliverer in delivery.deliverers:
        deliverer.consumer = FaultyConsumer(deliverer.consumer, deliverer.sub.name)
    health = Health(delivery=delivery.status)  # as the worker's /health shows it
    delivery.start()
    try:
        want = {h["hook_id"] for h in hooks}
        for name in ("commit", "fatal"):
            wait_until(lambda name=name: {h["hook_id"] for h in receiver.delivered(f"/{name}")}
                       == want, 60)
        figures = health.as_dict()["delivery"]
    finally:
        stop.set()
        delivery.join()
    assert (figures["commit"]["commit_failures"], figures["commit"]["restarts"]) == (1, 0)
    assert figures["commit"]["alive"]
    assert figures["fatal"]["restarts"] == 1 and figures["fatal"]["alive"]
    assert "injected" in figures["fatal"]["last_error"]
    assert all(f["sent"] >= len(hooks) for f in figures.values())


def test_an_engine_opens_as_many_clickhouse_clients_as_it_declares(settings_factory):
    """An engine process is given a pipe per client (engine_processes.py): the count the
    engine declares must be the count it opens."""
    settings = settings_factory()
    ensure_topics(settings)
    opened = []

    def counting(dsn: str):
        opened.append(connect(dsn))
        return opened[-1]

    engine = Engine(settings, Health(), clickhouse=counting)
    engine.run(lambda: True, lambda: None)  # stops at once: closes what it opened
    assert len(opened) == CLICKHOUSE_CLIENTS
