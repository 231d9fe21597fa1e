"""Delivers action hooks to HTTP subscriptions (``subscriptions.py``): each subscription has its
own consumer group on action-hooks and its own thread, so a slow or failing target never holds
up another one or the pipeline. A batch (a JSON array) goes when it is full or its time is up;
it is retried with back-off (``delivery_policy.py``) until it succeeds or the retry window ends,
then goes to the dead-letter topic with the last response; only then are its offsets committed.
At least once, in order per partition (hooks are keyed by address, so per profile)."""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import Consumer, Message, Producer

from . import logs
from .codec import Invalid
from .delivery_policy import (
    GIVE_UP,
    OK,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    next_delay,
    outcome,
    parse_retry_after,
    signature,
)
from .kafka_config import confluent_config, produce
from .processing import DEAD_LETTER, HOOK, Source, dead_letter
from .settings import Settings
from .subscriptions import HttpSubscription

log = logging.getLogger("bounceflow")
HEALTH_LOG_INTERVAL_S = 10.0
MAX_POLL_INTERVAL_MS = 86_400_000  # librdkafka's maximum: a batch may be retried for a day


@dataclass
class DeliveryHealth:
    sent: int = 0  # hooks delivered
    failed: int = 0  # attempts that failed
    retrying: bool = False
    dead_lettered: int = 0  # hooks given up on
    last_latency_ms: float | None = None
    last_error: str | None = None


class HttpTarget:
    """A subscription's endpoint: signed, authenticated POSTs of JSON bodies."""

    def __init__(self, sub: HttpSubscription) -> None:
        self.sub = sub
        self._token: tuple[str, float] | None = None
        self.last_latency_ms: float | None = None

    def post(self, body: bytes) -> tuple[int | None, str, float | None]:
        headers = {"Content-Type": "application/json", "User-Agent": "bounceflow"}
        if self.sub.secret:
            now = int(time.time())
            headers[TIMESTAMP_HEADER] = str(now)
            headers[SIGNATURE_HEADER] = signature(self.sub.secret, now, body)
        if self.sub.auth != "none":
            headers["Authorization"] = f"Bearer {self._bearer()}"
        request = urllib.request.Request(self.sub.url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.sub.timeout_s) as response:
                status, text = response.status, response.read(64 * 1024).decode(errors="replace")
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read(64 * 1024).decode(errors="replace")
            retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            if status == 401:
                self._token = None  # an expired OAuth2 token: fetch a new one next time
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}", None
        self.last_latency_ms = round((time.monotonic() - started) * 1000, 1)
        return status, text, retry_after

    def _bearer(self) -> str:
        if self.sub.auth == "bearer":
            return self.sub.token
        if self._token is None or self._token[1] <= time.monotonic():
            form = urllib.parse.urlencode({
                "grant_type": "client_credentials", "client_id": self.sub.client_id,
                "client_secret": self.sub.client_secret}).encode()
            with urllib.request.urlopen(self.sub.token_url, data=form,
                                        timeout=self.sub.timeout_s) as response:
                answer = json.loads(response.read())
            lifetime = float(answer.get("expires_in", 3600))
            self._token = (answer["access_token"], time.monotonic() + max(lifetime - 30, 1))
        return self._token[0]



class HttpDeliverer:
    def __init__(self, settings: Settings, sub: HttpSubscription, stop: threading.Event) -> None:
        self.settings, self.sub, self.stop = settings, sub, stop
        self.health = DeliveryHealth()
        self.rng = random.Random()
        self.target = HttpTarget(sub)
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
            self.producer.flush(30)
            self.consumer.close()

    def _deliver(self, hooks: list[dict[str, Any]], first: Message) -> bool:
        body = json.dumps(hooks).encode()
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            status, text, retry_after = self.target.post(body)
            self.health.last_latency_ms = self.target.last_latency_ms
            result = outcome(status, text, self.sub.success_regex)
            if result == OK:
                self.health.sent += len(hooks)
                self.health.retrying = False
                return True
            self.health.failed += 1
            self.health.last_error = f"{status or 'no response'}: {text[:200]}"
            window_over = time.monotonic() - started >= self.sub.retry_window_s
            if result == GIVE_UP or window_over:
                why = "refused" if result == GIVE_UP else "retry window ended"
                self._dead_letter(f"hook delivery to {self.sub.name} {why} after {attempt} tries; "
                                  f"last response {self.health.last_error}", body, first)
                self.health.dead_lettered += len(hooks)
                self.health.retrying = False
                return True
            self.health.retrying = True
            delay = next_delay(attempt, retry_after, self.rng)
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

    def status(self) -> dict[str, Any]:
        return asdict(self.health)


def send_test_event(sub: HttpSubscription) -> tuple[int | None, str]:
    """One test hook to a subscription's target, as the modelled platform's "test event"."""
    hook = {"hook_id": f"test:{int(time.time())}", "event_type": "test",
            "event_date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            "account_id": 0, "event_data": {"message": "bounceflow test event"}}
    status, text, _ = HttpTarget(sub).post(json.dumps([hook]).encode())
    return status, text


def run_delivery(settings: Settings, subs: list[HttpSubscription]) -> None:
    """``bounceflow deliver``: every subscription in its own thread until SIGTERM or SIGINT;
    the delivery figures of each in the log every few seconds."""
    logs.configure(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    deliverers = [HttpDeliverer(settings, sub, stop) for sub in subs]
    threads = [threading.Thread(target=d.run, name=f"hooks-{d.sub.name}") for d in deliverers]
    for thread in threads:
        thread.start()
    log.info("delivering hooks to %s", ", ".join(f"{s.name} ({s.url})" for s in subs))
    while not stop.wait(HEALTH_LOG_INTERVAL_S):
        log.info("delivery %s", json.dumps({d.sub.name: d.status() for d in deliverers}))
        if not any(t.is_alive() for t in threads):
            break
    for thread in threads:
        thread.join()
    log.info("stopped; delivery %s", json.dumps({d.sub.name: d.status() for d in deliverers}))
