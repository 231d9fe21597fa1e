"""ClickHouse through another process: an engine process's client whose calls the worker's own
process makes, over a pipe (``engine_processes.py``).

Why: chDB is ClickHouse inside one process, and one process at a time opens its directory; a
worker with several engine processes keeps chDB in its own process, and the engines' inserts,
commands and queries go there. A call returns what the real client returned (a query: its
column names and rows) or raises ``SinkError`` with the real error, so the engine's retry and
checkpoint logic is the same on both sides: the engine commits its offsets only after the
parent's insert returned.

An insert's block crosses in its pieces (``sinks.base.pieces``), after the call: pickled whole
with it, a checkpoint's rows (megabytes) would be held twice more at once, in each process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sinks.base import ReadOnce
from streams import memory
from streams.exceptions import SinkError

log = logging.getLogger("bounceflow")

# What the engine, its sinks and its alert evaluator call; nothing else crosses the pipe.
METHODS = frozenset({"command", "query", "insert", "raw_insert"})


@dataclass(frozen=True)
class QueryResult:
    """The part of clickhouse-connect's QueryResult that bounceflow reads."""

    column_names: tuple[str, ...]
    result_rows: list[Any]


class RelayClient:
    """The client calls of an engine process, made by the process at the other end of ``conn``:
    a call is a request and its answer, one at a time (a client serves one thread)."""

    def __init__(self, conn: Connection, uri: str) -> None:
        self._conn, self._lock = conn, threading.Lock()
        self.uri = uri  # as the real client's: the sink asks whether it is chDB

    def _call(self, method: str, *args: Any, block: Iterable[bytes] | None = None,
              **kwargs: Any) -> Any:
        failed: Exception | None = None
        with self._lock:
            try:
                self._conn.send((method, args, kwargs, block is not None))
                if block is not None:
                    try:
                        for piece in block:
                            if piece:  # an empty piece ends the block
                                self._conn.send_bytes(piece)
                    except Exception as exc:  # told below, so the other side inserts nothing
                        failed = exc
                    self._conn.send_bytes(b"")
                    self._conn.send(failed is None)  # whether the block was sent whole
                ok, value = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise SinkError(f"the worker process that owns ClickHouse is gone: {exc}") from exc
        if failed is not None:
            raise failed
        if not ok:
            raise SinkError(value)
        return value

    def command(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("command", *args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> QueryResult:
        return self._call("query", *args, **kwargs)  # type: ignore[no-any-return]

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("insert", *args, **kwargs)

    def raw_insert(self, *args: Any, insert_block: Iterable[bytes], **kwargs: Any) -> Any:
        return self._call("raw_insert", *args, block=insert_block, **kwargs)

    def close(self) -> None:
        """The real client belongs to the other process, which closes it."""


def serve(conn: Connection, open_client: Callable[[], Any]) -> None:
    """Answer one engine process's calls until it closes its end (or dies): run in a thread of
    the process that owns ClickHouse, with a client of its own (a client serves one thread).
    The client is opened at the first call, and again at the next call after opening failed:
    the failure is that call's answer, and the engine retries as after any failed call."""
    client = None
    try:
        while True:
            try:
                method, args, kwargs, with_block = conn.recv()
            except (EOFError, OSError):
                return
            block = _received_block(conn) if with_block else None
            try:
                if method not in METHODS:
                    raise ValueError(f"{method!r} is not relayed")
                if client is None:
                    client = open_client()
                if block is not None:
                    kwargs["insert_block"] = ReadOnce(block)
                value = getattr(client, method)(*args, **kwargs)
                if method == "query":
                    value = QueryResult(tuple(value.column_names), value.result_rows)
                answer = (True, value)
            except _EngineGone:
                return
            except Exception as exc:  # the engine decides: retry, dead-letter or fail
                answer = (False, f"{type(exc).__name__}: {exc}")
            try:
                if block is not None:
                    _drain(block)
                conn.send(answer)
            except (_EngineGone, OSError):
                return
            if block is not None:
                # The pieces came through this thread's malloc arena, which keeps them otherwise.
                memory.trim()
    finally:
        if client is not None:
            client.close()


class _EngineGone(Exception):
    """The engine's end of the pipe closed while it sent a block."""


class _BlockAbandoned(Exception):
    """The engine could not make its block whole (the call fails, nothing is inserted)."""


def _received_block(conn: Connection) -> Iterator[bytes]:
    """The pieces of an insert's block as they arrive, up to the empty piece that ends it and
    the engine's word that it sent the block whole; raising at the end otherwise leaves the
    insert unfinished (chDB never reads its file, HTTP never ends its body)."""
    try:
        while piece := conn.recv_bytes():
            yield piece
        whole = conn.recv()
    except (EOFError, OSError) as exc:
        raise _EngineGone(str(exc)) from exc
    if not whole:
        raise _BlockAbandoned("the engine could not send the whole block; nothing was inserted")


def _drain(block: Iterator[bytes]) -> None:
    """Read what a call left of its block, so the next call starts in step."""
    try:
        for _ in block:
            pass
    except _BlockAbandoned:
        pass  # the call already failed, or fails now with the answer it has
