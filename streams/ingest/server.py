"""``bounceflow ingest serve --format kumomta``: an HTTP endpoint for KumoMTA's log hooks.

A POST body is one JSON log record, a JSON array of them (a batch) or JSON Lines. The replies of
its good records are produced, each bad record (one the adapter cannot read, a JSON Lines line
that is not JSON) goes to the dead-letters topic with its reason, and the answer is 200 only once
Kafka acknowledged all of them (so KumoMTA retries what was not stored, and one bad record
neither holds up nor loses its batch); 400 only for a body that is not JSON at all; a broker
that does not take the records gives 503. Requests are produced one at a time: Kafka's
acknowledgement of a flush is then the request's own. GET /metrics has the counters
(Prometheus), GET /health "ok".
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

from streams.adapters.common import Skip
from streams.ingest.adapter_options import options_from
from streams.ingest.codec import DEAD_LETTER, Source, dead_letter
from streams.ingest.files import make_adapter
from streams.ingest.produce import reply_producer, send_reply
from streams.kafka_config import produce
from streams.settings import Settings
from streams.web.http import Auth, Response, check_exposure, json_response, send

log = logging.getLogger("bounceflow.ingest")
# Largest POST body read: a log hook's batch is far smaller; this bounds what one request
# may make the process hold in memory.
MAX_BODY = 16 * 1024 * 1024
MAX_REASONS = 20  # bad records whose reason an answer lists (all are in the dead letters)
FLUSH_S = 30.0
PURGED_S = 5.0  # the wait for a refused request's purged records' reports: they are local


class LogHookServer:
    def __init__(self, settings: Settings, fmt: str, host: str, port: int) -> None:
        self.settings, self.fmt = settings, fmt
        # The endpoint writes to the replies topic: beyond loopback only with the secret.
        self.auth = Auth(token=settings.ingest_secret)
        check_exposure(host, self.auth, "--listen", "BOUNCEFLOW_INGEST_SECRET, so that log "
                       "hooks must send it as a bearer token")
        self.adapter = make_adapter(fmt, options_from(settings))
        self.failed: list[str] = []
        self.producer = reply_producer(settings, self.failed)
        self.lock = threading.Lock()
        self.flush_s = FLUSH_S  # how long a request waits for Kafka's acknowledgement
        self.registry = CollectorRegistry()
        self.records = Counter("bounceflow_ingest_records", "Log records received, by outcome "
                               "(produced: gave replies; skipped: not a reply; dead_lettered: bad)",
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

    def post(self, body: bytes, path: str = "/") -> tuple[int, dict[str, Any]]:
        """(status, answer) for one POST body: 200 once Kafka acknowledged its replies and the
        dead letters of its bad records, 400 for a body that is not JSON, 503 when Kafka did
        not take them."""
        records = _records(body)
        if isinstance(records, str):
            return 400, {"error": records}
        with self.lock:
            replies: list[dict[str, Any]] = []
            bad: list[dict[str, Any]] = []
            skipped = 0
            del self.failed[:]
            for i, (record, raw) in enumerate(records):
                result = self.adapter.record(record) if raw is None else Skip(record, bad=True)
                if isinstance(result, Skip) and result.bad:
                    bad.append({"record": i, "reason": result.reason})
                    produce(self.producer, self.settings.topic_dead_letters, None,
                         DEAD_LETTER.encode(dead_letter(
                             f"{self.fmt}: {result.reason}", Source(f"http:{path}", 0, i), None,
                             raw or orjson.dumps(record))))
                elif isinstance(result, Skip):
                    skipped += 1
                else:
                    replies.extend(result)
            for reply in replies:
                send_reply(self.producer, self.settings.topic_replies, reply)
            remaining = self.producer.flush(self.flush_s)
            if remaining or self.failed:
                # Not sent yet: dropped, so KumoMTA's retry is not added to a late delivery.
                self.producer.purge(in_queue=True, in_flight=False)
                # The purged ones' reports (and those in flight) now, not in the next request.
                self.producer.flush(PURGED_S)
                log.warning("Kafka did not take %d records: %s", remaining or len(self.failed),
                            self.failed[:1])
                return 503, {"error": f"Kafka did not acknowledge {remaining or len(self.failed)}"
                                      " records; retry"}
        self.records.labels("produced").inc(len(records) - skipped - len(bad))
        self.records.labels("skipped").inc(skipped)
        self.records.labels("dead_lettered").inc(len(bad))
        self.replies.inc(len(replies))
        answer = {"records": len(records), "replies": len(replies), "skipped": skipped,
                  "dead_lettered": len(bad)}
        return 200, {**answer, "bad": bad[:MAX_REASONS]} if bad else answer


def _records(body: bytes) -> list[tuple[Any, bytes | None]] | str:
    """The records of a body, each with None, or the reason a JSON Lines line is not JSON with
    the line; or why the body is not JSON at all."""
    if not body.strip():
        return "empty body"
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as whole:
        lines = [_line(line) for line in body.splitlines() if line.strip()]
        if all(raw is not None for _, raw in lines):
            return f"not JSON (an object, an array of objects or JSON Lines): {whole}"
        return lines
    return [(r, None) for r in parsed] if isinstance(parsed, list) else [(parsed, None)]


def _line(line: bytes) -> tuple[Any, bytes | None]:
    try:
        return orjson.loads(line), None
    except orjson.JSONDecodeError as exc:
        return f"not JSON: {exc}", line


def _length(header: str | None) -> int | Response:
    """The body length a Content-Length header gives, or the answer to a bad one."""
    if header is None:
        return json_response({"error": "Content-Length required (a chunked body is not read)"},
                             411)
    text = header.strip()
    if not (text.isascii() and text.isdigit()):
        return json_response({"error": f"Content-Length {text[:20]!r} is not a number of bytes"},
                             400)
    if int(text) > MAX_BODY:
        return json_response({"error": f"body over {MAX_BODY} bytes"}, 413)
    return int(text)


class _Handler(BaseHTTPRequestHandler):
    app: LogHookServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if not self.app.auth.allows(self.headers.get("Authorization")):
            self.close_connection = True  # the body is not read
            self._answer(Response(401, b'{"error": "missing or wrong bearer token"}',
                                  headers={"WWW-Authenticate": "Bearer"}))
            return
        length = _length(self.headers.get("Content-Length"))
        if isinstance(length, Response):
            self.close_connection = True
            self._answer(length)
            return
        status, answer = self.app.post(self.rfile.read(length), urlsplit(self.path).path)
        self._answer(json_response(answer, status))

    def do_GET(self) -> None:
        if self.path == "/metrics":
            send(self, Response(200, generate_latest(self.app.registry), CONTENT_TYPE_LATEST))
        elif self.path == "/health":
            send(self, Response(200, b"ok\n", "text/plain"))
        else:
            send(self, json_response(
                {"error": "POST log records to any path; GET /metrics, /health"}, 404))

    def _answer(self, response: Response) -> None:
        self.app.requests.labels(str(response.status)).inc()
        send(self, response)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
