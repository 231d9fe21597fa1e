"""Runs one bounceflow worker: creates the topics, restores the state of the partitions it is
given, and runs the engine until SIGTERM or SIGINT (then it checkpoints, leaves the group and
exits 0). Logs its health every few seconds and serves it at /health when a web port is set.
With ``processes`` > 1 the engines run in processes of their own (``engine_processes.py``)."""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sinks import provider_health
from sinks.clickhouse import connect
from sinks.ddl import HEALTH_WINDOWS
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

log = logging.getLogger("bounceflow")

def run_worker(settings: Settings) -> None:
    logs.configure(settings)
    interpreter.tune()
    log.info("starting worker with settings %s", json.dumps(settings.redacted()))
    log.info("Avro codec: %s", avro_native.CODEC)
    log.info("compiled modules: %s",
             ", ".join(interpreter.compiled_modules()) or "none, all run as Python")
    ensure_topics(settings)
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
        _serve_health(settings, status)
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


def _serve_health(settings: Settings, status: Callable[[], dict[str, Any]]) -> None:
    """/health (the counters), /windows (provider health, closed and current windows) and
    /suppression (an address's status). The last two read ClickHouse, where every worker's
    committed rows are, so any worker answers for any key."""
    clickhouse = functools.cache(lambda: connect(settings.clickhouse_dsn))

    def windows(query: dict[str, str]) -> Any:
        minutes = int(query.get("minutes", "1"))
        if minutes not in HEALTH_WINDOWS:
            raise ValueError("minutes must be 1 or 60")
        filters = {k: query[k] for k in ("provider", "sending_ip", "from_domain") if k in query}
        rows = provider_health.recent_windows(*clickhouse(), minutes, filters,
                                              int(query.get("last", "15")))
        return [{**r, "window_start": r["window_start"].isoformat()} for r in rows]

    def suppression(query: dict[str, str]) -> Any:
        if "email" not in query:
            raise ValueError("give ?email=address")
        return provider_health.suppression(*clickhouse(), query["email"])

    routes = {"/health": lambda query: status(), "/windows": windows,
              "/suppression": suppression}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            route = routes.get(url.path.rstrip("/"))
            if route is None:
                self._send(404, {"error": f"no such page; try {', '.join(routes)}"})
                return
            try:
                self._send(200, route(dict(parse_qsl(url.query))))
            except ValueError as exc:
                self._send(400, {"error": str(exc)})
            except Exception as exc:  # a page must not take the worker down
                log.exception("%s failed", url.path)
                self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per probe would drown the worker's own log

    server = ThreadingHTTPServer(("127.0.0.1", settings.web_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="web").start()
    log.info("health at http://127.0.0.1:%d/health, also /windows and /suppression",
             settings.web_port)
