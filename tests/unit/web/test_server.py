"""The web server's authentication and where it may listen without it."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from streams.exceptions import ConfigError
from streams.local.broker import free_port
from streams.web.http import Auth, check_exposure, json_response
from streams.web.server import ClientPool, make_server


def fetch(port: int, path: str, authorization: str | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as page:
            return page.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def serve():
    servers = []

    def start(auth: Auth) -> int:
        port = free_port()
        server = make_server("127.0.0.1", port, {"/ok": lambda q: json_response({})}, auth)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return port

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_bearer_token_is_asked_for(serve):
    port = serve(Auth(token="t0ken"))
    assert fetch(port, "/ok") == 401
    assert fetch(port, "/ok", "Bearer wrong") == 401
    assert fetch(port, "/ok", basic("t0ken", "")) == 401
    assert fetch(port, "/ok", "Bearer t0ken") == 200


def test_basic_auth(serve):
    port = serve(Auth(user="ann", password="pw"))
    assert fetch(port, "/ok") == 401
    assert fetch(port, "/ok", basic("ann", "nope")) == 401
    assert fetch(port, "/ok", "Basic !!notbase64") == 401
    assert fetch(port, "/ok", basic("ann", "pw")) == 200


def test_no_auth_on_loopback_and_unknown_pages_are_404(serve):
    port = serve(Auth())
    assert fetch(port, "/ok") == 200
    assert fetch(port, "/nowhere") == 404


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "example.com"])
def test_beyond_loopback_needs_auth(host):
    with pytest.raises(ConfigError, match="web_token"):
        check_exposure(host, Auth())
    check_exposure(host, Auth(token="x"))
    check_exposure(host, Auth(user="u", password="p"))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_needs_none(host):
    check_exposure(host, Auth())


def test_the_pool_lends_a_client_to_one_thread_at_a_time(tmp_path):
    pool = ClientPool(f"chdb://{tmp_path}/chdb", size=3)
    lent: list[int] = []
    most = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    errors: list[BaseException] = []

    def request() -> None:
        barrier.wait()
        try:
            with pool.client() as client:
                with lock:
                    assert id(client) not in lent, "lent twice"
                    lent.append(id(client))
                    most[0] = max(most[0], len(lent))
                assert client.query("SELECT sleepEachRow(0.05) + 1 FROM numbers(2)"
                                    ).result_rows == [(1,), (1,)]
                with lock:
                    lent.remove(id(client))
        except BaseException as exc:  # a thread's failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert 1 < most[0] <= 3 and len(pool._idle) <= 3
    finally:
        pool.close()


def test_serve_beyond_loopback_without_auth_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "serve", "--host", "0.0.0.0",
         "--clickhouse", f"chdb://{tmp_path}/chdb"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("BOUNCEFLOW_")})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "bounceflow: configuration error: web_host 0.0.0.0 is not a loopback address: set "
        "web_token, or web_user and web_password, so that the pages ask for them")
