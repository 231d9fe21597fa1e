"""Runs one bounceflow worker: creates the topics, restores the state of the partitions it is
given, and runs the engine until SIGTERM or SIGINT (then it checkpoints, leaves the group and
exits 0). Logs its health every few seconds and serves it at /health when a web port is set."""

from __future__ import annotations

import functools
import gc
import json
import logging
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sinks import provider_health
from sinks.clickhouse import connect
from sinks.ddl import HEALTH_WINDOWS

from . import logs, subscriptions
from .delivery import Delivery
from .engine import Engine
from .health import HEALTH_LOG_INTERVAL_S, Health
from .settings import Settings
from .topics import ensure_topics

log = logging.getLogger("bounceflow")

# The loop allocates and frees a few containers per reply and holds a large, long-lived state:
# at Python's default thresholds (700, 10, 10) the collector ran about 3,500 times per 200k
# replies and its passes over the state took 15-20% of the worker's time. Nothing on the hot
# path makes reference cycles (garbage is freed by reference counts), so collecting rarely
# keeps no more memory.
GC_THRESHOLDS = (50_000, 20, 20)
# The ClickHouse writer thread needs the GIL between its C calls (clickhouse-connect's Python
# around each insert), and a thread waiting for it gets it only when the loop's thread is made
# to let go: every 5 ms by default. Each write waited for that dozens of times: 0.5-0.6 s for a
# checkpoint's ~22k rows, the next checkpoint then waited for the write. At 0.2 ms a write takes
# 0.15 s. The loop's thread pays for a switch only while another thread is waiting.
SWITCH_INTERVAL_S = 0.0002


def run_worker(settings: Settings) -> None:
    logs.configure(settings)
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    log.info("starting worker with settings %s", json.dumps(settings.redacted()))
    ensure_topics(settings)
    health = Health()
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
    if settings.web_port:
        _serve_health(settings, health)
    next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    def tick() -> None:
        nonlocal next_log
        if time.monotonic() >= next_log:
            log.info("health %s", json.dumps(health.as_dict()))
            next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    Engine(settings, health).run(stop.is_set, tick)
    if delivery:
        delivery.join()
    log.info("stopped cleanly; health %s", json.dumps(health.as_dict()))


def _serve_health(settings: Settings, health: Health) -> None:
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

    routes = {"/health": lambda query: health.as_dict(), "/windows": windows,
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
