"""The report pages over a ClickHouse (chDB) that holds no bounceflow tables yet, and with bad
filters: the page says why, as HTML, with the status that fits, never a stack trace."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest

from streams.local.broker import free_port
from streams.web.http import Auth
from streams.web.server import ClientPool, make_server
from streams.web.views import report_routes


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    pool = ClientPool(f"chdb://{tmp_path_factory.mktemp('empty')}/chdb")
    port = free_port()
    server = make_server("127.0.0.1", port, report_routes(pool), Auth())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()
    server.server_close()
    pool.close()  # chDB: one directory a process at a time


def get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.mark.parametrize("path", ["/reports/bounces", "/reports/summary.csv"])
def test_no_tables_yet(port, path):
    status, content_type, body = get(port, path)
    assert (status, content_type) == (503, "text/html; charset=utf-8")
    assert "no bounceflow tables in database bounceflow" in body and 'id="filters"' in body


def test_provider_health_without_tables(port):
    status, _, body = get(port, "/provider-health")
    assert status == 503 and "ClickHouse failed: " in body and "Traceback" not in body


@pytest.mark.parametrize(("path", "reason"), [
    ("/reports/undeliveries?to=2026-13-01", "to: &#x27;2026-13-01&#x27; is not a date"),
    ("/reports/bounces.xlsx?group_by=email", "group_by: must be one of"),
    ("/provider-health?minutes=5", "minutes: must be 1 or 60"),
])
def test_a_bad_filter_is_400_with_its_reason(port, path, reason):
    status, content_type, body = get(port, path)
    assert (status, content_type) == (400, "text/html; charset=utf-8")
    assert reason in body


def test_the_index_links_every_page(port):
    status, _, body = get(port, "/")
    assert status == 200
    for href in ("/reports/bounces", "/reports/undeliveries", "/reports/summary",
                 "/provider-health"):
        assert f'href="{href}"' in body
