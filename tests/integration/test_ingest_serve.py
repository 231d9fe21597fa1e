"""`bounceflow ingest serve --format kumomta`: KumoMTA's log hook POSTs (one record per body, as
policy-extras/log_hooks.lua's new_json sends them, or batches) reach the replies topic before
the answer; bad bodies, missing tokens and an unreachable broker are refused with the reason."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import orjson
import pytest

from bench.pipeline import paused
from streams.exceptions import ConfigError
from streams.ingest.codec import DEAD_LETTER, SMTP_REPLY
from streams.ingest.server import MAX_BODY, LogHookServer
from streams.local.testing import worker_env
from streams.runtime.topics import ensure_topics
from tests.integration.checks import read_topic
from tests.unit.adapters.test_kumomta import expiration, record, transient

pytestmark = pytest.mark.integration


def post(url: str, body: bytes, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def serve():
    servers = []

    def start(settings, host: str = "127.0.0.1") -> LogHookServer:
        server = LogHookServer(settings, "kumomta", host, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.shutdown()


def test_records_are_on_the_topic_when_the_answer_is_200(settings_factory, serve):
    settings = settings_factory(ingest_secret="s3cret")
    ensure_topics(settings)
    server = serve(settings)
    url = server.address + "/log"
    one = json.dumps(record()).encode()
    assert post(url, one)[0] == 401
    assert post(url, one, "wrong")[0] == 401
    assert post(url, one, "s3cret") == (200, {"records": 1, "replies": 1, "skipped": 0,
                                              "dead_lettered": 0})
    batch = [transient(1), record("Reception"), expiration(1),
             record(recipient=["a@x.example", "b@y.example"])]
    assert post(url, json.dumps(batch).encode(), "s3cret") == (
        200, {"records": 4, "replies": 4, "skipped": 1, "dead_lettered": 0})
    lines = b"\n".join(json.dumps(r).encode() for r in (record(), transient(2)))
    assert post(url, lines, "s3cret")[0] == 200

    status, answer = post(url, one[:40], "s3cret")
    assert status == 400 and "not JSON" in answer["error"]
    # One bad record does not refuse its batch: the good ones are produced, the bad one is a
    # dead letter, and KumoMTA does not retry (or drop) the batch.
    status, answer = post(url, json.dumps([record(), record("Teleport")]).encode(), "s3cret")
    assert (status, answer["replies"], answer["dead_lettered"]) == (200, 1, 1)
    assert answer["bad"][0]["record"] == 1
    assert answer["bad"][0]["reason"].startswith("unknown record type")
    status, answer = post(url, one + b"\n" + one[:40], "s3cret")  # JSON Lines, one cut
    assert (status, answer["replies"], answer["dead_lettered"]) == (200, 1, 1)
    assert post(url, b"42", "s3cret")[1]["dead_lettered"] == 1

    replies = [SMTP_REPLY.decode(m.value()) for m in read_topic(settings, settings.topic_replies)]
    assert len(replies) == 1 + 4 + 2 + 1 + 1  # nothing of the refused body
    expired = [r for r in replies if r["final"] and r["reply_code"] == 452]
    assert len(expired) == 1  # the expiry shows the last real reply of the batch before it
    dead = sorted((DEAD_LETTER.decode(m.value())
                   for m in read_topic(settings, settings.topic_dead_letters)),
                  key=lambda d: d["value"])
    assert [(d["source_topic"], d["source_offset"], d["value"]) for d in dead] == sorted([
        ("http:/log", 1, orjson.dumps(record("Teleport"))),
        ("http:/log", 1, one[:40]), ("http:/log", 0, b"42")], key=lambda d: d[2])
    assert sorted(d["reason"][:30] for d in dead) == [
        "kumomta: not JSON: unexpected ", "kumomta: not a JSON object",
        "kumomta: unknown record type '"]

    with urllib.request.urlopen(server.address + "/metrics", timeout=10) as resp:
        metrics = resp.read().decode()
    assert 'bounceflow_ingest_replies_total 9.0' in metrics
    assert 'bounceflow_ingest_records_total{outcome="skipped"} 1.0' in metrics
    assert 'bounceflow_ingest_records_total{outcome="dead_lettered"} 3.0' in metrics
    assert 'bounceflow_ingest_requests_total{status="401"} 2.0' in metrics
    assert 'bounceflow_ingest_requests_total{status="400"} 1.0' in metrics


def test_an_unreachable_broker_gives_503(settings_factory, serve):
    settings = settings_factory(kafka_bootstrap="127.0.0.1:9")
    server = serve(settings)
    server.flush_s = 2.0
    status, answer = post(server.address, json.dumps(record()).encode())
    assert status == 503 and "retry" in answer["error"]


def test_a_503_leaves_nothing_behind_for_the_next_request(settings_factory, serve, broker):
    settings = settings_factory()
    ensure_topics(settings)
    server = serve(settings)
    batch = json.dumps([record(recipient=f"u{i}@x.example") for i in range(200)]).encode()
    # The broker stopped: Kafka cannot acknowledge, the request is refused. (A flush of no time
    # was not enough: on a slow machine the broker acknowledged while the batch was produced.)
    server.flush_s = 1.0
    with paused([broker.process.pid]):
        assert post(server.address, batch)[0] == 503
    server.flush_s = 30.0
    assert post(server.address, json.dumps(record()).encode()) == (
        200, {"records": 1, "replies": 1, "skipped": 0, "dead_lettered": 0})


def raw_post(address: str, headers: str, body: bytes = b"") -> tuple[int, bytes]:
    """A POST with the headers as given (http.client would correct them)."""
    host, port = address.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /log HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_a_bad_content_length_is_answered(settings_factory, serve):
    server = serve(settings_factory())
    body = json.dumps(record()).encode()
    for headers, status in [("Content-Length: abc\r\n", 400), ("Content-Length: -1\r\n", 400),
                            ("Content-Length: 1_0\r\n", 400), ("", 411),
                            (f"Content-Length: {MAX_BODY + 1}\r\n", 413)]:
        got, answer = raw_post(server.address, headers, body)
        assert got == status and json.loads(answer)["error"], (headers, got, answer)


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    """`bounceflow ingest serve ARGS`; one that starts serving instead of stopping fails."""
    try:
        return subprocess.run([sys.executable, "-m", "streams.cli", "ingest", "serve",
                               "--format", "kumomta", *args], capture_output=True, text=True,
                              env=worker_env(settings), timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ingest serve {args} served instead of stopping")


def test_beyond_loopback_only_with_the_secret(settings_factory, serve):
    settings = settings_factory()
    done = cli(settings, "--listen", "0.0.0.0:0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--listen 0.0.0.0 is not a loopback address: set BOUNCEFLOW_INGEST_SECRET" \
        in done.stderr
    with pytest.raises(ConfigError, match="not a loopback address"):
        LogHookServer(settings, "kumomta", "0.0.0.0", 0)
    secured = serve(settings_factory(ingest_secret="s3cret"), "0.0.0.0")
    assert post(secured.address, json.dumps(record()).encode())[0] == 401
    assert post(secured.address, json.dumps(record()).encode(), "s3cret")[0] == 200


def test_a_bad_listen_address_is_one_line(settings_factory):
    settings = settings_factory()
    for listen in ("h:70000", "h:0x50", "8040", "h:-1"):
        done = cli(settings, "--listen", listen)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (listen, done.stderr)
        assert "is not HOST:PORT" in done.stderr, done.stderr
