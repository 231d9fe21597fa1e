"""Delivers action hooks to subscriptions (``subscriptions.py``): each subscription has its own
consumer group on action-hooks and its own thread, so a slow or failing target never holds up
another one or the pipeline. A batch goes when it is full or its time is up; the target
(``http_target.py``, ``rabbitmq_target.py``) is tried with back-off (``delivery_policy.py``)
until it succeeds or the retry window ends, then the batch goes to the dead-letter topic with the
last answer; only then are its offsets committed. At least once, in order per partition (hooks
are keyed by address, so per profile)."""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, Message, Producer

from streams import logs
from streams.delivery.policy import GIVE_UP, OK, RETRY, Attempt, next_delay
from streams.delivery.subscriptions import HttpSubscription, RabbitSubscription, Subscription
from streams.ingest.codec import DEAD_LETTER, HOOK, Invalid
from streams.kafka_config import confluent_config, produce
from streams.runtime.health import HEALTH_LOG_INTERVAL_S
from streams.runtime.processing import Source, dead_letter
from streams.settings import Settings
from streams.web import server as web

log = logging.getLogger("bounceflow")
MAX_POLL_INTERVAL_MS = 86_400_000  # librdkafka's maximum: a batch may be retried for a day


class Target(Protocol):
    def send(self, hooks: list[dict[str, Any]]) -> Attempt: ...

    def close(self) -> None: ...


def target_for(sub: Subscription) -> Target:
    if isinstance(sub, HttpSubscription):
        from streams.delivery.http_target import HttpTarget

        return HttpTarget(sub)
    if isinstance(sub, RabbitSubscription):
        from streams.delivery.rabbitmq_target import (
            RabbitTarget,  # aio-pika is imported only when used
        )

        return RabbitTarget(sub)
    raise TypeError(f"no delivery target for {type(sub).__name__}")


@dataclass
class DeliveryHealth:
    sent: int = 0  # hooks delivered
    failed: int = 0  # tries that failed
    retrying: bool = False
    dead_lettered: int = 0  # hooks given up on
    last_latency_ms: float | None = None  # of the last successful try
    last_error: str | None = None


class Deliverer:
    def __init__(self, settings: Settings, sub: Subscription, stop: threading.Event) -> None:
        self.settings, self.sub, self.stop = settings, sub, stop
        self.health = DeliveryHealth()
        self.rng = random.Random()
        self.target = target_for(sub)
        self.producer = Producer(confluent_config(settings))
        self.consumer = Consumer(confluent_config(settings, **{
            "group.id": f"{settings.app_id}-hook-{sub.name}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
            "session.timeout.ms": int(settings.session_timeout_s * 1000),
        }))

    def run(self) -> None:
        self.consumer.subscribe([self.settings.topic_hooks])
        try:
            while not self.stop.is_set():
                msgs = [m for m in self.consumer.consume(self.sub.batch_size,
                                                         timeout=self.sub.batch_seconds)
                        if not m.error()]
                if not msgs:
                    continue
                hooks = []
                for msg in msgs:
                    hook = HOOK.decode(msg.value())
                    if isinstance(hook, Invalid):
                        self._dead_letter(f"not an ActionHook: {hook.reason}", msg.value(), msg)
                    elif self.sub.matches(hook):
                        hooks.append(hook)
                if hooks and not self._deliver(hooks, msgs[0]):
                    return  # stopping in the middle of retries: nothing committed, replayed
                self.consumer.commit(asynchronous=False)
        finally:
            self.target.close()
            self.producer.flush(30)
            self.consumer.close()

    def _deliver(self, hooks: list[dict[str, Any]], first: Message) -> bool:
        started, tries = time.monotonic(), 0
        while True:
            tries += 1
            try:
                attempt = self.target.send(hooks)
            except Exception as exc:  # e.g. an OAuth2 token endpoint's odd answer: try again
                log.exception("hooks to %s: the target failed", self.sub.name)
                attempt = Attempt(RETRY, f"{type(exc).__name__}: {exc}")
            if attempt.result == OK:
                self.health.sent += len(hooks)
                self.health.retrying = False
                self.health.last_latency_ms = attempt.latency_ms
                return True
            self.health.failed += 1
            self.health.last_error = attempt.answer[:200]
            window_over = time.monotonic() - started >= self.sub.retry_window_s
            if attempt.result == GIVE_UP or window_over:
                why = "refused" if attempt.result == GIVE_UP else "retry window ended"
                self._dead_letter(f"hook delivery to {self.sub.name} {why} after {tries} tries; "
                                  f"last answer {self.health.last_error}",
                                  json.dumps(hooks).encode(), first)
                self.health.dead_lettered += len(hooks)
                self.health.retrying = False
                return True
            self.health.retrying = True
            delay = next_delay(tries, attempt.retry_after, self.rng)
            delay = min(delay, max(0.0, started + self.sub.retry_window_s - time.monotonic()))
            log.warning("hooks to %s: %s, retrying in %.1fs", self.sub.name,
                        self.health.last_error, delay)
            if self.stop.wait(delay):
                return False

    def _dead_letter(self, reason: str, value: bytes | None, msg: Message) -> None:
        log.error("hooks to %s: %s", self.sub.name, reason)
        letter = dead_letter(reason, Source(msg.topic(), msg.partition(), msg.offset()),
                             self.sub.name.encode(), value)
        produce(self.producer, self.settings.topic_dead_letters, self.sub.name.encode(),
                DEAD_LETTER.encode(letter))
        self.producer.flush(30)


def send_test_event(sub: Subscription) -> Attempt:
    """One test hook to a subscription's target, as the modelled platform's "test event"."""
    hook = {"hook_id": f"test:{int(time.time())}", "event_type": "test",
            "event_date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "account_id": 0, "list_id": None, "event_data": {"message": "bounceflow test event"}}
    target = target_for(sub)
    try:
        return target.send([hook])
    finally:
        target.close()


class Delivery:
    """Every subscription's deliverer in a thread of its own, inside ``bounceflow deliver`` or
    a worker; ``status()`` is what their health output shows."""

    def __init__(self, settings: Settings, subs: list[Subscription], stop: threading.Event) -> None:
        self.deliverers = [Deliverer(settings, sub, stop) for sub in subs]
        self.threads = [threading.Thread(target=d.run, name=f"hooks-{d.sub.name}", daemon=True)
                        for d in self.deliverers]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        log.info("delivering hooks to %s",
                 ", ".join(f"{d.sub.name} ({d.sub.target})" for d in self.deliverers))

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def status(self) -> dict[str, dict[str, Any]]:
        return {d.sub.name: asdict(d.health) for d in self.deliverers}


def run_delivery(settings: Settings, subs: list[Subscription]) -> None:
    """``bounceflow deliver``: every subscription in its own thread until SIGTERM or SIGINT;
    the delivery figures of each in the log every few seconds."""
    logs.configure(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    delivery = Delivery(settings, subs, stop)
    delivery.start()
    if settings.web_port:  # /health and /metrics: the subscriptions' figures
        web.start(settings, web.health_routes(lambda: {"delivery": delivery.status()}))
    while not stop.wait(HEALTH_LOG_INTERVAL_S):
        log.info("delivery %s", json.dumps(delivery.status()))
        if not delivery.alive():
            break
    delivery.join()
    log.info("stopped; delivery %s", json.dumps(delivery.status()))
