"""Delivers action hooks to subscriptions (``subscriptions.py``): each subscription has its own
consumer group on action-hooks and its own thread, so a slow or failing target never holds up
another one or the pipeline. A batch goes when it is full or its time is up; the target
(``http_target.py``, ``rabbitmq_target.py``) is tried with back-off (``delivery_policy.py``)
until it succeeds or the retry window ends, then the batch goes to the dead-letter topic with the
last answer; only then are its offsets committed. At least once, in order per partition (hooks
are keyed by address, so per profile).

A deliverer that fails is seen and started again (``Delivery``): a refused commit (a rebalance)
is counted and the next owner of those offsets sends their hooks again; a fatal consumer error or
a bug ends its thread, which ``status()`` (/health) shows as ``alive: false`` with the error, and
a supervising thread starts a new deliverer for the subscription after a back-off.
"""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaException, Message, Producer

from streams import logs
from streams.delivery.policy import GIVE_UP, OK, RETRY, Attempt, next_delay
from streams.delivery.subscriptions import HttpSubscription, RabbitSubscription, Subscription
from streams.exceptions import BrokerError
from streams.ingest.codec import DEAD_LETTER, HOOK, Invalid
from streams.kafka_config import confluent_config, produce
from streams.runtime.health import HEALTH_LOG_INTERVAL_S
from streams.runtime.processing import Source, dead_letter
from streams.settings import Settings
from streams.web import server as web

log = logging.getLogger("bounceflow")
MAX_POLL_INTERVAL_MS = 86_400_000  # librdkafka's maximum: a batch may be retried for a day
SUPERVISE_INTERVAL_S = 0.5  # how often the deliverers' threads are checked
RESTART_DELAY_S = 1.0  # before a dead deliverer's first restart; doubled each time, up to
RESTART_DELAY_MAX_S = 60.0


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
    commit_failures: int = 0  # commits refused (a rebalance): the next owner sends them again
    restarts: int = 0  # times its thread ended on an error and a new deliverer was started


class Deliverer:
    def __init__(self, settings: Settings, sub: Subscription, stop: threading.Event,
                 health: DeliveryHealth | None = None) -> None:
        """``health``: the figures of the deliverer this one replaces, to go on counting."""
        self.settings, self.sub, self.stop = settings, sub, stop
        self.health = health or DeliveryHealth()
        self.rng = random.Random()
        self.target = target_for(sub)
        self.producer = Producer(confluent_config(settings))
        self.consumer = Consumer(confluent_config(settings, **{
            "group.id": f"{settings.app_id}-hook-{sub.name}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
            "session.timeout.ms": int(settings.session_timeout_s * 1000),
        }))

    def run(self) -> None:
        """Deliver until ``stop``; an error that ends it is kept in the health figures for
        ``Delivery`` to see (the thread then ends and is started again)."""
        try:
            self._run()
        except Exception as exc:
            self.health.last_error = f"{type(exc).__name__}: {exc}"[:200]
            log.exception("hooks to %s: the deliverer failed", self.sub.name)

    def _run(self) -> None:
        self.consumer.subscribe([self.settings.topic_hooks])
        try:
            while not self.stop.is_set():
                msgs = self._consume()
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
                self._commit()
        finally:
            self.target.close()
            self.producer.flush(30)
            self.consumer.close()

    def _consume(self) -> list[Message]:
        """The next records; an error is logged, or raised when it is fatal (this consumer
        can do nothing more: a new deliverer gets a new one)."""
        msgs = []
        for msg in self.consumer.consume(self.sub.batch_size, timeout=self.sub.batch_seconds):
            error = msg.error()
            if error is None:
                msgs.append(msg)
            elif error.fatal():
                raise BrokerError(f"Kafka consumer failed: {error}")
            else:
                log.warning("hooks to %s: Kafka: %s", self.sub.name, error)
        return msgs

    def _commit(self) -> None:
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            # The partitions moved (a rebalance): their next owner reads these hooks from the
            # last commit and sends them again, at least once as always.
            self.health.commit_failures += 1
            log.warning("hooks to %s: commit failed, these hooks may be sent again: %s",
                        self.sub.name, exc)

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
    a worker; ``status()`` is what their health output shows, ``alive`` included.

    A deliverer whose thread ended before ``stop`` is started again (a new consumer in the same
    group, the same figures, ``restarts`` counted), after a back-off that doubles up to a minute,
    rather than stopping the worker: a deliverer commits only what it delivered, so the new one
    resumes where the dead one stopped and nothing is lost; the stream, the reports and the other
    subscriptions do not depend on it, and a worker stopped for it would halt them all to do what
    the restart does (a new consumer). An error that comes back every time shows in /health as
    restarts that keep growing, with the error."""

    def __init__(self, settings: Settings, subs: list[Subscription], stop: threading.Event) -> None:
        self.settings, self.stop = settings, stop
        self.deliverers = [Deliverer(settings, sub, stop) for sub in subs]
        self.threads = [self._thread(d) for d in self.deliverers]
        self.supervisor = threading.Thread(target=self._supervise, name="hooks-supervisor",
                                           daemon=True)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        self.supervisor.start()
        log.info("delivering hooks to %s",
                 ", ".join(f"{d.sub.name} ({d.sub.target})" for d in self.deliverers))

    def join(self) -> None:
        self.supervisor.join()  # ends with stop: then it starts nothing more
        for thread in self.threads:
            thread.join()

    def status(self) -> dict[str, dict[str, Any]]:
        return {d.sub.name: {**asdict(d.health), "alive": t.is_alive()}
                for d, t in zip(self.deliverers, self.threads)}

    @staticmethod
    def _thread(deliverer: Deliverer) -> threading.Thread:
        return threading.Thread(target=deliverer.run, name=f"hooks-{deliverer.sub.name}",
                                daemon=True)

    def _supervise(self) -> None:
        restart_at: dict[int, float] = {}
        while not self.stop.wait(SUPERVISE_INTERVAL_S):
            for i, thread in enumerate(self.threads):
                if thread.is_alive():
                    continue
                health = self.deliverers[i].health
                delay = min(RESTART_DELAY_S * 2 ** health.restarts, RESTART_DELAY_MAX_S)
                if time.monotonic() >= restart_at.setdefault(i, time.monotonic() + delay):
                    del restart_at[i]
                    self._restart(i)

    def _restart(self, i: int) -> None:
        old = self.deliverers[i]
        old.health.restarts += 1
        try:
            new = Deliverer(self.settings, old.sub, self.stop, old.health)
        except Exception as exc:  # e.g. a target that cannot be built now: tried again later
            old.health.last_error = f"restart failed: {type(exc).__name__}: {exc}"[:200]
            log.exception("hooks to %s: the deliverer could not be started again", old.sub.name)
            return
        self.deliverers[i], self.threads[i] = new, self._thread(new)
        self.threads[i].start()
        log.warning("hooks to %s: the deliverer was started again (restart %d, after: %s)",
                    old.sub.name, old.health.restarts, old.health.last_error)


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
    delivery.join()
    log.info("stopped; delivery %s", json.dumps(delivery.status()))
