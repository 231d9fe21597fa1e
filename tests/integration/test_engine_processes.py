"""A worker of two engine processes (``processes=2``): ClickHouse relayed to chDB in the
worker's process, exact reports after a kill -9 of the worker mid-stream, and no engine left
behind by it."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
import urllib.request

import pytest

from sinks.clickhouse import connect
from streams.exceptions import SinkError
from streams.local.broker import free_port
from streams.runtime import clickhouse_relay
from streams.runtime.engine_processes import HEALTH_SEND_INTERVAL_S
from tests.integration.checks import assert_exact, kill_mid_stream

pytestmark = pytest.mark.integration


def _serve_chdb(conn, dsn: str) -> None:
    opened = []

    def open_client():
        opened.append(dsn)
        if len(opened) == 1:  # as a ClickHouse server that is not up yet
            raise ConnectionError("ClickHouse is not up yet")
        return connect(dsn)[0]

    clickhouse_relay.serve(conn, open_client)


def test_relay_answers_as_the_real_client(settings_factory):
    settings = settings_factory()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    owner = context.Process(target=_serve_chdb, args=(ours, settings.clickhouse_dsn))
    owner.start()
    ours.close()
    client = clickhouse_relay.RelayClient(theirs, "chdb://relay")

    with pytest.raises(SinkError, match="not up yet"):  # that call fails, the next opens again
        client.command("SELECT 1")

    client.command("CREATE TABLE IF NOT EXISTS relayed (n UInt32, s String) ENGINE = Memory")
    client.insert("relayed", [[1, "a"], [2, "b"]], column_names=["n", "s"])
    result = client.query("SELECT n, s FROM relayed ORDER BY n")
    assert result.column_names == ("n", "s")
    assert [tuple(r) for r in result.result_rows] == [(1, "a"), (2, "b")]
    with pytest.raises(SinkError, match="relayed_nowhere"):
        client.query("SELECT * FROM relayed_nowhere")

    owner.kill()  # the worker's process is gone: a call fails as a sink error, not a hang
    owner.join()
    with pytest.raises(SinkError, match="is gone"):
        client.command("SELECT 1")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child the test's process does not reap stays a zombie: dead, but kill(0) succeeds.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_9_of_a_worker_of_two_engines_then_restart(settings_factory, worker_factory,
                                                         tmp_path):
    settings = settings_factory(processes=2, sink_batch_size=300, web_port=free_port())
    replies = 30000
    first, want, tracked = kill_mid_stream(settings, worker_factory, replies, 33, tmp_path)
    engines = [int(pid) for pid in re.findall(r"engine process engine-\d started \(pid (\d+)\)",
                                              first.log.read_text())]
    assert len(engines) == 2, first.log.read_text()[-3000:]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in engines):
        assert time.monotonic() < deadline, "an engine outlived its worker"
        time.sleep(0.1)

    second = worker_factory(settings)
    second.wait(replies)
    # The engines' figures, added up: each has one of the two partitions. An engine sends them
    # every HEALTH_SEND_INTERVAL_S, so they may trail a drain that took less.
    deadline = time.monotonic() + HEALTH_SEND_INTERVAL_S * 5
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/health") as page:
            health = json.loads(page.read())
        if health["partitions"] == [0, 1] and health["tracked"] > 0:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.2)
    assert health["processes"] == 2, health
    assert 0 < health["tracked"] <= replies - tracked + settings.sink_batch_size * 2, health
    assert second.stop() == 0
    log = second.log.read_text()
    assert log.count("engine process") >= 4 and "stopped cleanly" in log, log[-3000:]
    assert_exact(settings, want)
