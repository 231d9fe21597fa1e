"""``bounceflow ingest serve --format kumomta``: an HTTP endpoint for KumoMTA's log hooks.

A POST body is one JSON log record, a JSON array of them (a batch) or JSON Lines. Each request is
all or nothing: its replies are produced and the answer is 200 only once Kafka acknowledged every
one of them (so KumoMTA retries what was not stored); a body that does not parse, or holds a
record the adapter cannot read, is refused whole with 400 and the reason; a broker that does not
take the records gives 503. Requests are produced one at a time: Kafka's acknowledgement of a
flush is then the request's own. GET /metrics has the counters (Prometheus), GET /health "ok".
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from streams.adapters.common import Skip, options_from
from streams.ingest.files import make_adapter
from streams.ingest.produce import reply_producer, send_reply
from streams.settings import Settings

log = logging.getLogger("bounceflow.ingest")
# Largest POST body read: a log hook's batch is far smaller; this bounds what one request
# may make the process hold in memory.
MAX_BODY = 16 * 1024 * 1024
FLUSH_S = 30.0
PURGED_S = 5.0  # the wait for a refused request's purged records' reports: they are local


class LogHookServer:
    def __init__(self, settings: Settings, fmt: str, host: str, port: int) -> None:
        self.settings = settings
        self.adapter = make_adapter(fmt, options_from(settings))
        self.failed: list[str] = []
        self.producer = reply_producer(settings, self.failed)
        self.lock = threading.Lock()
        self.flush_s = FLUSH_S  # how long a request waits for Kafka's acknowledgement
        self.registry = CollectorRegistry()
        self.records = Counter("bounceflow_ingest_records", "Log records received, by outcome "
                               "(produced: gave replies; skipped: not a reply; refused: bad)",
                               ["outcome"], registry=self.registry)
        self.replies = Counter("bounceflow_ingest_replies", "SmtpReply records Kafka acknowledged",
                               registry=self.registry)
        self.requests = Counter("bounceflow_ingest_requests", "POST requests, by answer",
                                ["status"], registry=self.registry)
        handler = type("Handler", (_Handler,), {"app": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.producer.flush(self.flush_s)

    def authorized(self, header: str | None) -> bool:
        secret = self.settings.ingest_secret
        if not secret:
            return True
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                                  secret.encode())

    def post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """(status, answer) for one POST body."""
        records = _records(body)
        if isinstance(records, str):
            return 400, {"error": records}
        with self.lock:
            replies: list[dict[str, Any]] = []
            skipped = 0
            for i, record in enumerate(records):
                result = self.adapter.record(record)
                if isinstance(result, Skip) and result.bad:
                    self.records.labels("refused").inc()
                    return 400, {"error": f"record {i}: {result.reason}"}
                if isinstance(result, Skip):
                    skipped += 1
                else:
                    replies.extend(result)
            del self.failed[:]
            for reply in replies:
                send_reply(self.producer, self.settings.topic_replies, reply)
            remaining = self.producer.flush(self.flush_s)
            if remaining or self.failed:
                # Not sent yet: dropped, so KumoMTA's retry is not added to a late delivery.
                self.producer.purge(in_queue=True, in_flight=False)
                # The purged ones' reports (and those in flight) now, not in the next request.
                self.producer.flush(PURGED_S)
                log.warning("Kafka did not take %d replies: %s", remaining or len(self.failed),
                            self.failed[:1])
                return 503, {"error": f"Kafka did not acknowledge {remaining or len(self.failed)}"
                                      " replies; retry"}
        self.records.labels("produced").inc(len(records) - skipped)
        self.records.labels("skipped").inc(skipped)
        self.replies.inc(len(replies))
        return 200, {"records": len(records), "replies": len(replies), "skipped": skipped}


def _records(body: bytes) -> list[Any] | str:
    """The records of a body, or why it is not one."""
    if not body.strip():
        return "empty body"
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # JSON Lines
            parsed = [orjson.loads(line) for line in body.splitlines() if line.strip()]
        except orjson.JSONDecodeError as exc:
            return f"not JSON (an object, an array of objects or JSON Lines): {exc}"
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list):
        return parsed
    return "not a JSON object or array"


def _length(header: str | None) -> int | tuple[int, dict[str, Any]]:
    """The body length a Content-Length header gives, or the answer to a bad one."""
    if header is None:
        return 411, {"error": "Content-Length required (a chunked body is not read)"}
    text = header.strip()
    if not (text.isascii() and text.isdigit()):
        return 400, {"error": f"Content-Length {text[:20]!r} is not a number of bytes"}
    if int(text) > MAX_BODY:
        return 413, {"error": f"body over {MAX_BODY} bytes"}
    return int(text)


class _Handler(BaseHTTPRequestHandler):
    app: LogHookServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if not self.app.authorized(self.headers.get("Authorization")):
            self.close_connection = True  # the body is not read
            self._answer(401, {"error": "missing or wrong bearer token"})
            return
        length = _length(self.headers.get("Content-Length"))
        if isinstance(length, tuple):
            self.close_connection = True
            self._answer(*length)
            return
        status, answer = self.app.post(self.rfile.read(length))
        self._answer(status, answer)

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._send(200, generate_latest(self.app.registry), CONTENT_TYPE_LATEST)
        elif self.path == "/health":
            self._send(200, b"ok\n", "text/plain")
        else:
            self._answer(404, {"error": "POST log records to any path; GET /metrics, /health"})

    def _answer(self, status: int, answer: dict[str, Any]) -> None:
        if self.command == "POST":
            self.app.requests.labels(str(status)).inc()
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
