"""Runs one bounceflow worker: creates the topics, builds the app, registers the agents, and runs
until SIGTERM or SIGINT (Faust then stops the agents and commits what was processed)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import faust

from .agents import register
from .app import build_app
from .settings import Settings
from .topics import ensure_topics

log = logging.getLogger("bounceflow")
HEALTH_LOG_INTERVAL_S = 10.0


def run_worker(settings: Settings) -> None:
    ensure_topics(settings)
    Path(settings.data_dir, "faust").mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    health = register(app, settings)

    @app.timer(HEALTH_LOG_INTERVAL_S)
    async def log_health() -> None:
        log.info("health %s", json.dumps(health.as_dict()))

    if settings.web_port:
        @app.page("/health")
        async def health_page(
            self: faust.web.View, request: faust.web.Request
        ) -> faust.web.Response:
            return self.json(health.as_dict())

    log.info("starting worker with settings %s", json.dumps(settings.redacted()))
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
