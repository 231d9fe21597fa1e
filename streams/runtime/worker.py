"""Runs one bounceflow worker: creates the topics, restores the state of the partitions it is
given, and runs the engine until SIGTERM or SIGINT (then it checkpoints, leaves the group and
exits 0). Logs its health every few seconds and serves it at /health when a web port is set.
With ``processes`` > 1 the engines run in processes of their own (``engine_processes.py``)."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading
import time

from streams import logs
from streams.delivery import subscriptions
from streams.delivery.deliverer import Delivery
from streams.ingest import avro_native
from streams.runtime import interpreter
from streams.runtime.engine import Engine
from streams.runtime.engine_processes import EngineProcesses
from streams.runtime.health import HEALTH_LOG_INTERVAL_S, Health
from streams.runtime.topics import ensure_topics
from streams.settings import Settings
from streams.web import server as web
from streams.web import views

log = logging.getLogger("bounceflow")

def run_worker(settings: Settings) -> None:
    logs.configure(settings)
    interpreter.tune()
    log.info("starting worker with settings %s", json.dumps(settings.redacted()))
    log.info("Avro codec: %s", avro_native.CODEC)
    log.info("compiled modules: %s",
             ", ".join(interpreter.compiled_modules()) or "none, all run as Python")
    ensure_topics(settings)
    # The default (0) resolved here, once: engines, /health and the log see the count.
    settings = dataclasses.replace(settings, processes=settings.engine_processes())
    health = Health()
    engines = EngineProcesses(settings, health) if settings.processes > 1 else None
    if engines:
        engines.start()  # forked before any thread of this process starts
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    # Deliverers are threads with consumer groups of their own: a slow target waits in its own
    # thread and never holds up the engine's checkpoints.
    delivery = (Delivery(settings, subscriptions.load(settings.hooks_file), stop)
                if settings.hooks_file else None)
    if delivery:
        health.delivery = delivery.status
        delivery.start()
    status = engines.status if engines else health.as_dict
    if settings.web_port:
        topics = {"replies": settings.topic_replies, "repartitioned": settings.topic_repartition}
        # The report pages too: with chDB only this process may open the data.
        pool = web.ClientPool(settings.clickhouse_dsn)
        web.start(settings, {**web.health_routes(status, topics), **web.live_routes(pool),
                             **views.report_routes(pool)})
    next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    def tick() -> None:
        nonlocal next_log
        if time.monotonic() >= next_log:
            log.info("health %s", json.dumps(status()))
            next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    try:
        (engines or Engine(settings, health)).run(stop.is_set, tick)
    finally:
        stop.set()  # the deliverers stop with the engines, also when one failed
        if delivery:
            delivery.join()
    log.info("stopped cleanly; health %s", json.dumps(status()))
