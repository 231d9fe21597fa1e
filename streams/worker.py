"""Runs one bounceflow worker: creates the topics, restores the state of the partitions it is
given, and runs the engine until SIGTERM or SIGINT (then it checkpoints, leaves the group and
exits 0). Logs its health every few seconds and serves it at /health when a web port is set."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .engine import Engine
from .health import Health
from .settings import LOG_LEVELS, Settings
from .topics import ensure_topics

log = logging.getLogger("bounceflow")
HEALTH_LOG_INTERVAL_S = 10.0


def run_worker(settings: Settings) -> None:
    logging.basicConfig(
        level=LOG_LEVELS[settings.log_level],
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
    )
    log.info("starting worker with settings %s", json.dumps(settings.redacted()))
    ensure_topics(settings)
    health = Health()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    if settings.web_port:
        _serve_health(settings.web_port, health)
    next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    def tick() -> None:
        nonlocal next_log
        if time.monotonic() >= next_log:
            log.info("health %s", json.dumps(health.as_dict()))
            next_log = time.monotonic() + HEALTH_LOG_INTERVAL_S

    Engine(settings, health).run(stop.is_set, tick)
    log.info("stopped cleanly; health %s", json.dumps(health.as_dict()))


def _serve_health(port: int, health: Health) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/health":
                self.send_error(404)
                return
            body = json.dumps(health.as_dict()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per probe would drown the worker's own log

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    log.info("health at http://127.0.0.1:%d/health", port)
