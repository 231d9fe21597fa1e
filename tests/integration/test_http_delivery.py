"""Hook delivery over HTTP against a real local server that fails, times out and answers 429
with Retry-After on a schedule: every hook arrives at least once, in order per address, signed;
what a target refuses or never accepts within its window ends in dead-letters with the last
response; one failing target does not hold up another."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from streams.delivery.policy import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from streams.ingest.codec import DEAD_LETTER, HOOK
from streams.kafka_config import confluent_config
from streams.local.broker import free_port
from streams.local.testing import worker_env
from streams.runtime.topics import ensure_topics
from streams.tracking.hooks import as_dict, hook_values
from tests.conftest import run_cli
from tests.integration.checks import read_topic, wait_until
from tests.unit.tracking.test_machine import reply

pytestmark = pytest.mark.integration
SECRET = "receiver-shared-secret"


class Receiver:
    """Answers each path from a script (the last answer repeats) and records every request."""

    def __init__(self, script: dict[str, list]) -> None:
        self.script, self.requests, self.lock = script, [], threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    answers = receiver.script[self.path]
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                    receiver.requests.append((self.path, dict(self.headers), body, answer,
                                              time.monotonic()))
                if answer == "timeout":
                    time.sleep(1.5)
                    answer = 200
                code, headers = answer if isinstance(answer, tuple) else (answer, {})
                try:
                    self.send_response(code)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is the timeout being tested

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self, path: str) -> list[dict]:
        return [h for p, _, body, answer, _ in self.requests if p == path and answer == 200
                for h in json.loads(body)]


def test_hooks_reach_http_targets_through_failures(settings_factory, tmp_path):
    from confluent_kafka import Producer

    settings = settings_factory()
    ensure_topics(settings)
    hooks = [as_dict(hook_values("sbounce", {**reply(f"e{i}", "soft", message_id=f"m{i}", t=i),
                                             "email": f"u{i % 8}@x.com"})) for i in range(40)]
    producer = Producer(confluent_config(settings))
    for h in hooks:
        producer.produce(settings.topic_hooks, key=h["event_data"]["email"].encode(),
                         value=HOOK.encode(h))
    producer.flush()

    receiver = Receiver({"/good": [500, "timeout", (429, {"Retry-After": "1"}), 200],
                         "/refuses": [400], "/down": [503]})
    hooks_file = tmp_path / "hooks.toml"
    hooks_file.write_text(f'''
[[http]]
name = "good"
url = "{receiver.url}/good"
secret = "{SECRET}"
batch_size = 7
batch_seconds = 0.2
timeout_s = 0.5

[[http]]
name = "refuses"
url = "{receiver.url}/refuses"

[[http]]
name = "down"
url = "{receiver.url}/down"
retry_window_s = 2
''')
    env = {**worker_env(settings), "BOUNCEFLOW_HOOKS_FILE": str(hooks_file)}
    with open(tmp_path / "deliver.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "streams.cli", "deliver"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        want = {h["hook_id"] for h in hooks}
        wait_until(lambda: {h["hook_id"] for h in receiver.delivered("/good")} == want, 90)
        wait_until(lambda: {m.key() for m in read_topic(settings, settings.topic_dead_letters)}
                   >= {b"refuses", b"down"}, 60)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "deliver.log").read_text()[-3000:]

    # In order per address, at least once.
    for n in range(8):
        order = [h["hook_id"] for h in receiver.delivered("/good")
                 if h["event_data"]["email"] == f"u{n}@x.com"]
        assert list(dict.fromkeys(order)) == [f"e{i}:sbounce" for i in range(n, 40, 8)]
    # Retried through 500, a timeout and a 429; the 429's Retry-After was honoured.
    good = [r for r in receiver.requests if r[0] == "/good"]
    assert [r[3] for r in good[:4]] == [500, "timeout", (429, {"Retry-After": "1"}), 200]
    assert good[3][4] - good[2][4] >= 0.9
    # Every request is signed, and the receiver can check it.
    for _, headers, body, _, _ in good:
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER],
                      now=time.time())
    # Refused at once; the down target only when its window ended; each with its last answer.
    letters = {}
    for m in read_topic(settings, settings.topic_dead_letters):
        letter = DEAD_LETTER.decode(m.value())
        letters.setdefault(m.key(), []).append(letter)
    refused = letters[b"refuses"]
    assert all("refused" in dl["reason"] and "400" in dl["reason"] for dl in refused)
    assert {h["hook_id"] for dl in refused for h in json.loads(dl["value"])} == want
    assert all("retry window ended" in dl["reason"] and "503" in dl["reason"]
               for dl in letters[b"down"])
    assert len([r for r in receiver.requests if r[0] == "/refuses"]) == len(refused)

    # The platform's "test event": one request, the answer shown, exit 0 on success.
    env = {"BOUNCEFLOW_HOOKS_FILE": str(hooks_file)}
    done = run_cli(settings, "hooks", "test", "good", env=env)
    assert done.returncode == 0 and "/good: 200" in done.stdout, done.stderr
    assert json.loads(receiver.requests[-1][2])[0]["event_type"] == "test"
    assert run_cli(settings, "hooks", "test", "refuses", env=env).returncode == 1
    missing = run_cli(settings, "hooks", "test", "nobody", env=env)
    assert missing.returncode == 2 and "no subscription 'nobody'" in missing.stderr
