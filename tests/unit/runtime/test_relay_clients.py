"""An engine process opens its ClickHouse clients through pipes made before it was forked, one
per client the engine opens: one call more is a clear error, not a StopIteration. An insert's
block crosses a pipe in pieces."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from sinks.base import PIECE_ROWS, pieces
from streams.exceptions import BounceflowError, SinkError
from streams.runtime.clickhouse_relay import RelayClient, serve
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


class Recording:
    """A client that keeps what reached it: the relay's serving loop is the logic under test."""

    def __init__(self):
        self.blocks = []

    def raw_insert(self, table, columns, insert_block, fmt=None, settings=None):
        if table == "missing":  # fails before reading the block, as a bad name does
            raise ValueError("no table missing")
        self.blocks.append((type(insert_block), b"".join(insert_block)))
        return "ok"

    def close(self):
        pass


@pytest.fixture
def relayed():
    """A RelayClient whose calls a serving thread makes on a Recording client; the thread must
    end once the client's end of the pipe closes."""
    ours, theirs = multiprocessing.Pipe()
    client = Recording()
    serving = threading.Thread(target=serve, args=(ours, lambda: client))
    serving.start()
    try:
        yield RelayClient(theirs, "chdb://relay"), client
    finally:
        theirs.close()
        serving.join(timeout=10)
    assert not serving.is_alive()


def test_an_insert_block_crosses_in_pieces_and_a_failed_insert_leaves_the_pipe_in_step(relayed):
    relay, client = relayed
    rows = [f"row {i};".encode() for i in range(3 * PIECE_ROWS + 5)]
    assert relay.raw_insert("t", ["c"], insert_block=pieces(rows), fmt="RowBinary") == "ok"
    with pytest.raises(SinkError, match="no table missing"):
        relay.raw_insert("missing", ["c"], insert_block=pieces(rows), fmt="RowBinary")
    assert relay.raw_insert("t", ["c"], insert_block=iter([b"a", b"", b"b"])) == "ok"
    # Never the whole block in one object on the serving side: it arrives as it is read.
    assert [kind.__name__ for kind, _ in client.blocks] == ["ReadOnce", "ReadOnce"]
    assert [data for _, data in client.blocks] == [b"".join(rows), b"ab"]


def test_a_block_that_fails_while_it_is_sent_inserts_nothing_and_leaves_the_pipe_in_step(relayed):
    relay, client = relayed

    def fails_after_one_piece():
        yield b"row1;"
        raise MemoryError("no room to join the next piece")

    with pytest.raises(MemoryError, match="no room"):
        relay.raw_insert("t", ["c"], insert_block=fails_after_one_piece())
    assert relay.raw_insert("t", ["c"], insert_block=iter([b"row1;", b"row2;"])) == "ok"
    assert [data for _, data in client.blocks] == [b"row1;row2;"]  # the failed block: nothing
