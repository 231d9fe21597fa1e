"""An insert's block goes to ClickHouse in pieces (``sinks.base.pieces``). An HTTP library that
retries a request after the connection broke mid-body cannot rewind a stream of pieces: it would
send only the pieces left, a complete insert of part of the rows under the whole batch's dedup
token. The block is read once (``ReadOnce``): the retry fails instead, and the engine inserts the
batch again whole."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
from urllib3.connection import HTTPConnection

from sinks.base import PIECE_ROWS, ReadOnce, pieces
from streams.exceptions import SinkError

pytestmark = pytest.mark.integration


class Inserts(BaseHTTPRequestHandler):
    """ClickHouse's side of a chunked insert: a body counts only once its last chunk came."""

    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = b""
        while line := self.rfile.readline():
            size = int(line.strip(), 16)
            if size == 0:
                self.bodies.append(body)
                break
            body += self.rfile.read(size)
            self.rfile.readline()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    Inserts.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Inserts)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_a_connection_broken_mid_block_fails_the_insert_instead_of_sending_the_rest(
        server, monkeypatch):
    rows = [b"row %06d;" % i for i in range(3 * PIECE_ROWS)]
    send, sends = HTTPConnection.send, []

    def breaks_after_the_first_piece(self, data):
        sends.append(len(data))
        if len(sends) == 3:  # the headers, the first piece, then the TLS session ends
            raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
        return send(self, data)

    monkeypatch.setattr(HTTPConnection, "send", breaks_after_the_first_piece)
    http = urllib3.PoolManager()
    url = f"http://127.0.0.1:{server.server_port}/"
    # clickhouse-connect's HTTP client asks urllib3 for one retry, as here
    with pytest.raises(SinkError, match="read a second time"):
        http.request("POST", url, body=ReadOnce(pieces(rows)), retries=1, chunked=True)
    assert Inserts.bodies == []  # no part of the rows was inserted

    monkeypatch.setattr(HTTPConnection, "send", send)
    http.request("POST", url, body=ReadOnce(pieces(rows)), retries=1, chunked=True)
    assert Inserts.bodies == [b"".join(rows)]  # the engine's retry: the batch whole, once
