"""A worker of several engine processes (``processes`` > 1): each a consumer in the group with
the partitions the group gives it, as if it were a worker of its own.

Why: the engine's loop is Python on one thread and the GIL keeps it on one core; the broker,
librdkafka and chDB left the second core of a 2-core machine half idle. The worker's own
process keeps what there is one of: chDB (one process at a time opens its directory), which it
serves to the engines over pipes (``clickhouse_relay.py``), the hook deliverers and /health.

Nothing is lost when one part dies: an engine commits its offsets only after the worker's
process has written its rows, so the offsets it had not committed are read again by whoever
owns them next. An engine that dies stops the worker (it exits non-zero, to be restarted), so
that a worker never runs on with fewer engines than it says; an engine whose worker dies is
killed with it (Linux) or stops at its next poll.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from sinks.clickhouse import connect

from . import clickhouse_relay, interpreter, logs
from .engine import Engine
from .exceptions import BounceflowError
from .health import Health, merge
from .settings import Settings

log = logging.getLogger("bounceflow")

# Clients an engine opens (its loop's and its writer thread's, engine.py): a pipe each.
CLIENTS_PER_ENGINE = 2
HEALTH_SEND_INTERVAL_S = 1.0  # how fresh an engine's figures are at the worker's /health
STOP_TIMEOUT_S = 60.0  # an engine's last checkpoint and leaving the group, before it is killed
_PR_SET_PDEATHSIG = 1


class EngineProcessFailed(BounceflowError):
    """An engine process ended without being asked to; the worker stops so it can be restarted."""


class EngineProcesses:
    def __init__(self, settings: Settings, own: Health) -> None:
        self.settings = settings
        self.own = own
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._snapshots: dict[int, dict[str, Any]] = {}
        self._health: Any = self._context.Queue()
        self._processes: list[Any] = []

    def status(self) -> dict[str, Any]:
        """The worker's figures: its own and the last ones each engine sent."""
        self._drain_health()
        return merge(self.own, [self._snapshots[i] for i in sorted(self._snapshots)])

    def run(self, should_stop: Callable[[], bool], on_tick: Callable[[], None]) -> None:
        """Start the engines and watch them until ``should_stop`` or one of them ends."""
        if self.settings.processes > self.settings.partitions:
            log.warning("%d engine processes for %d partitions: %d of them get none and idle",
                        self.settings.processes, self.settings.partitions,
                        self.settings.processes - self.settings.partitions)
        client, database = connect(self.settings.clickhouse_dsn)
        uri = client.uri
        client.close()
        for index in range(self.settings.processes):
            self._start(index, uri, database)
        failed = None
        try:
            while not should_stop() and failed is None:
                ended = wait([p.sentinel for p in self._processes], timeout=0.2)
                failed = next((p for p in self._processes if p.sentinel in ended), None)
                on_tick()
        finally:
            self._stop_all()
        if failed is not None:
            raise EngineProcessFailed(
                f"engine process {failed.name} (pid {failed.pid}) ended with exit code "
                f"{failed.exitcode}; the worker stopped the others and must be restarted")

    def _start(self, index: int, uri: str, database: str) -> None:
        ends = []
        for n in range(CLIENTS_PER_ENGINE):
            ours, theirs = self._context.Pipe()
            threading.Thread(
                target=clickhouse_relay.serve, daemon=True, name=f"clickhouse-{index}.{n}",
                args=(ours, lambda: connect(self.settings.clickhouse_dsn)[0])).start()
            ends.append(theirs)
        process = self._context.Process(
            target=_engine_main, name=f"engine-{index}",
            args=(self.settings, index, ends, uri, database, self._health, os.getpid()))
        process.start()
        for end in ends:
            end.close()  # the child holds them now; a relay thread sees EOF when it ends
        self._processes.append(process)
        log.info("engine process %s started (pid %d)", process.name, process.pid)

    def _stop_all(self) -> None:
        for p in self._processes:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p in self._processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                log.error("engine process %s did not stop in %.0f s; killed (its uncommitted "
                          "offsets are read again)", p.name, STOP_TIMEOUT_S)
                p.kill()
                p.join()
        self._drain_health()

    def _drain_health(self) -> None:
        while True:
            try:
                index, snapshot = self._health.get_nowait()
            except queue.Empty:
                return
            self._snapshots[index] = snapshot


def _engine_main(settings: Settings, index: int, ends: list[Connection], uri: str,
                 database: str, health_queue: Any, parent_pid: int) -> None:
    """An engine process: the engine as a worker of one process runs it, with ClickHouse
    through the worker's process."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    logs.configure(settings)
    interpreter.tune()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    # Ctrl-C reaches the whole process group; the worker's process decides when engines stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pipes = iter(ends)
    health = Health()
    engine = Engine(settings, health, clickhouse=lambda dsn: (
        clickhouse_relay.RelayClient(next(pipes), uri), database))
    next_send = 0.0

    def tick() -> None:
        nonlocal next_send
        if time.monotonic() >= next_send:
            health_queue.put((index, health.as_dict()))
            next_send = time.monotonic() + HEALTH_SEND_INTERVAL_S

    engine.run(lambda: stop.is_set() or os.getppid() != parent_pid, tick)
    health_queue.put((index, health.as_dict()))
    log.info("engine process %d stopped cleanly", index)
