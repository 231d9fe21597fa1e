"""An engine process opens its ClickHouse clients through pipes made before it was forked, one
per client the engine opens: one call more is a clear error, not a StopIteration."""

from __future__ import annotations

import multiprocessing

import pytest

from streams.exceptions import BounceflowError
from streams.runtime.clickhouse_relay import RelayClient
from streams.runtime.engine import CLICKHOUSE_CLIENTS
from streams.runtime.engine_processes import relayed_clickhouse


def test_each_client_gets_its_own_pipe_and_one_more_is_a_clear_error():
    pipes = [multiprocessing.Pipe() for _ in range(CLICKHOUSE_CLIENTS)]
    try:
        open_client = relayed_clickhouse([theirs for _, theirs in pipes])
        dsn = "http://user:secret@clickhouse:8123/reports"
        opened = [open_client(dsn) for _ in range(CLICKHOUSE_CLIENTS)]
        assert all(isinstance(client, RelayClient) for client, _ in opened)
        assert len({id(client._conn) for client, _ in opened}) == CLICKHOUSE_CLIENTS
        assert {db for _, db in opened} == {"reports"}
        assert "secret" not in opened[0][0].uri
        with pytest.raises(BounceflowError, match=f"more than {CLICKHOUSE_CLIENTS} ClickHouse"):
            open_client(dsn)
    finally:
        for ours, theirs in pipes:
            ours.close()
            theirs.close()
