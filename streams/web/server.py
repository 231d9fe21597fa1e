"""The HTTP server of the web port: routes, authentication, and ClickHouse clients for the
request threads.

Every request runs in a thread of its own (``ThreadingHTTPServer``) and reads ClickHouse with a
client that no other thread uses meanwhile (``ClientPool``): a clickhouse-connect client serves
one thread at a time (with a ClickHouse server, its session is locked while a query runs, and a
second query on it fails with SESSION_IS_LOCKED; chDB's handle is serialised by a lock, so one
slow page would hold up every other)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sinks import provider_health
from sinks.clickhouse import connect, database_of
from sinks.ddl import HEALTH_WINDOWS
from streams.settings import Settings
from streams.web import metrics
from streams.web.http import Auth, Response, check_exposure, json_response, send

log = logging.getLogger("bounceflow")
POOL_SIZE = 8  # ClickHouse clients the pages use at once, at most


class ClientPool:
    """ClickHouse clients of one DSN, each lent to one request thread at a time; opened when
    every open one is lent, kept for the next request. At most ``size``: a burst of requests
    waits for a client rather than opening a session each on the server."""

    def __init__(self, dsn: str, size: int = POOL_SIZE) -> None:
        self.dsn, self.database = dsn, database_of(dsn)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def client(self) -> Iterator[Any]:
        with self._slots:
            with self._lock:
                client = self._idle.pop() if self._idle else None
            if client is None:
                client, _ = connect(self.dsn)
            try:
                yield client
            finally:
                with self._lock:
                    self._idle.append(client)

    def close(self) -> None:
        """Close the clients (chDB: lets another process open the data)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()


class BadRequest(ValueError):
    """A query parameter a page cannot use: answered 400 with the message."""


Route = Callable[[dict[str, str]], Response]


def live_routes(pool: ClientPool) -> dict[str, Route]:
    """/windows (provider health, closed and current windows) and /suppression (an address's
    status). They read ClickHouse, where every worker's committed rows are, so any worker
    answers for any key."""

    def windows(query: dict[str, str]) -> Response:
        minutes = int(query.get("minutes", "1"))
        if minutes not in HEALTH_WINDOWS:
            raise BadRequest("minutes must be 1 or 60")
        filters: dict[str, str] = {k: query[k] for k in ("provider", "sending_ip", "from_domain")
                                   if k in query}
        with pool.client() as client:
            rows = provider_health.recent_windows(client, pool.database, minutes, filters,
                                                  int(query.get("last", "15")))
        return json_response([{**r, "window_start": r["window_start"].isoformat()}
                              for r in rows])

    def suppression(query: dict[str, str]) -> Response:
        if "email" not in query:
            raise BadRequest("give ?email=address")
        with pool.client() as client:
            return json_response(provider_health.suppression(client, pool.database,
                                                             query["email"]))

    return {"/windows": windows, "/suppression": suppression}


def health_routes(status: Callable[[], dict[str, Any]],
                  topics: dict[str, str] | None = None) -> dict[str, Route]:
    """/health (the figures as JSON) and /metrics (the same figures for Prometheus;
    ``metrics.families`` tells what ``topics`` is)."""
    exposition = metrics.exposition(status, topics or {})

    def scrape(query: dict[str, str]) -> Response:
        body, content_type = exposition()
        return Response(200, body, content_type)

    return {"/health": lambda query: json_response(status()), "/metrics": scrape}


def make_server(host: str, port: int, routes: dict[str, Route],
                auth: Auth) -> ThreadingHTTPServer:
    check_exposure(host, auth)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if not auth.allows(self.headers.get("Authorization")):
                self._send(Response(401, b'{"error": "authentication required"}', headers={
                    "WWW-Authenticate": "Bearer" if auth.token else 'Basic realm="bounceflow"'}))
                return
            route = routes.get(url.path.rstrip("/") or "/")
            if route is None:
                self._send(json_response(
                    {"error": f"no such page; try {', '.join(sorted(routes))}"}, 404))
                return
            try:
                self._send(route(dict(parse_qsl(url.query))))
            except ValueError as exc:  # a bad parameter the route did not answer itself
                self._send(json_response({"error": str(exc)}, 400))
            except Exception as exc:  # a page must not take the process down
                log.exception("%s failed", url.path)
                self._send(json_response({"error": f"{type(exc).__name__}: {exc}"}, 500))

        _send = send

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per probe would drown the process's own log

    return ThreadingHTTPServer((host, port), Handler)


def start(settings: Settings, routes: dict[str, Route]) -> ThreadingHTTPServer:
    """Serve ``routes`` on the settings' web host and port, in a daemon thread."""
    server = make_server(settings.web_host, settings.web_port, routes, Auth.of(settings))
    threading.Thread(target=server.serve_forever, daemon=True, name="web").start()
    log.info("web pages at http://%s:%d/: %s", settings.web_host, settings.web_port,
             ", ".join(sorted(routes)))
    return server
