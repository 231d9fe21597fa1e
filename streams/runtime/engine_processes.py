"""A worker of several engine processes (``processes`` > 1): each a consumer in the group with
the partitions the group gives it, as if it were a worker of its own.

Why: the engine's loop is Python on one thread and the GIL keeps it on one core; the broker,
librdkafka and chDB left the second core of a 2-core machine half idle. The worker's own
process keeps what there is one of: chDB (one process at a time opens its directory), which it
serves to the engines over pipes (``clickhouse_relay.py``), the hook deliverers and /health.

The engines are forked before the worker's process starts a thread or opens chDB, with the
classifier built: the imports and the rules are then shared with the worker's
process instead of loaded again by each engine (a spawned engine imports everything anew).
``gc.freeze`` keeps them shared: a collection in an engine would otherwise write to every
inherited object's header and so copy its page. A process that already runs threads cannot be
forked safely (a lock held by another thread stays held in the child): it spawns its engines.

Nothing is lost when one part dies: an engine commits its offsets only after the worker's
process has written its rows, so the offsets it had not committed are read again by whoever
owns them next. An engine that dies stops the worker (it exits non-zero, to be restarted), so
that a worker never runs on with fewer engines than it says; an engine whose worker dies is
killed with it (Linux) or stops at its next poll.
"""

from __future__ import annotations

import ctypes
import gc
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

from sinks.clickhouse import connect, database_of
from streams import logs
from streams.classify.classifier import Classifier
from streams.exceptions import BounceflowError
from streams.runtime import clickhouse_relay, interpreter
from streams.runtime.engine import CLICKHOUSE_CLIENTS, Engine
from streams.runtime.health import Health, merge
from streams.settings import Settings, redact_dsn

log = logging.getLogger("bounceflow")

HEALTH_SEND_INTERVAL_S = 1.0  # how fresh an engine's figures are at the worker's /health
STOP_TIMEOUT_S = 60.0  # an engine's last checkpoint and leaving the group, before it is killed
_PR_SET_PDEATHSIG = 1


class EngineProcessFailed(BounceflowError):
    """An engine process ended without being asked to; the worker stops so it can be restarted."""


class EngineProcesses:
    def __init__(self, settings: Settings, own: Health) -> None:
        self.settings = settings
        self.own = own
        self._context = multiprocessing.get_context(start_method())
        self._snapshots: dict[int, dict[str, Any]] = {}
        self._health: Any = self._context.Queue()
        self._processes: list[Any] = []
        self._relays: list[tuple[str, Connection]] = []  # served once every engine is forked

    def status(self) -> dict[str, Any]:
        """The worker's figures: its own and the last ones each engine sent."""
        self._drain_health()
        return merge(self.own, [self._snapshots[i] for i in sorted(self._snapshots)])

    def start(self) -> None:
        """Start the engines: before the worker's process starts a thread or opens chDB."""
        s = self.settings
        if s.processes > s.partitions:
            log.warning("%d engine processes for %d partitions: %d of them get none and idle",
                        s.processes, s.partitions, s.processes - s.partitions)
        forked = self._context.get_start_method() == "fork"
        # A spawned engine is sent its arguments pickled; it builds its own classifier.
        classifier = Classifier(s.policy, s.rules_file or None) if forked else None
        if forked:
            gc.freeze()
        else:
            log.warning("the worker's process runs threads already: its engines are spawned and "
                        "each loads its own copy of the imports and rules")
        for index in range(s.processes):
            self._start(index, classifier)
        log.info("%d engine processes %s", s.processes, "forked" if forked else "spawned")

    def run(self, should_stop: Callable[[], bool], on_tick: Callable[[], None]) -> None:
        """Serve the engines ClickHouse and watch them until ``should_stop`` or one of them
        ends."""
        failed = None
        try:
            # Opened here first so that a ClickHouse that cannot be opened stops the worker
            # with its own error rather than the engines' exit codes.
            connect(self.settings.clickhouse_dsn)[0].close()
            for name, conn in self._relays:
                threading.Thread(
                    target=clickhouse_relay.serve, daemon=True, name=name,
                    args=(conn, lambda: connect(self.settings.clickhouse_dsn)[0])).start()
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

    def _start(self, index: int, classifier: Classifier | None) -> None:
        ends = []
        for n in range(CLICKHOUSE_CLIENTS):
            ours, theirs = self._context.Pipe()
            self._relays.append((f"clickhouse-{index}.{n}", ours))
            ends.append(theirs)
        process = self._context.Process(
            target=_engine_main, name=f"engine-{index}",
            args=(self.settings, index, ends, self._health, os.getpid(), classifier))
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


def start_method() -> str:
    """``fork`` where the process has no thread but its main one (Linux: /proc shows the C
    library's threads too, librdkafka's among them), else ``spawn``."""
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: a thread cannot be ruled out
        return "spawn"
    return "fork" if threads == 1 else "spawn"


def relayed_clickhouse(ends: list[Connection]) -> Callable[[str], tuple[Any, str]]:
    """The engine's ClickHouse opener in an engine process: each call a client over the next
    of ``ends``, the pipes its worker's process serves (made before the fork, one per client the
    engine declares it opens). A call more is a bug in that count, and says so."""
    pipes = iter(ends)

    def open_client(dsn: str) -> tuple[Any, str]:
        conn = next(pipes, None)
        if conn is None:
            raise BounceflowError(
                f"the engine opened more than {len(ends)} ClickHouse clients, the pipes an engine "
                "process is given: engine.CLICKHOUSE_CLIENTS must count every client "
                "Engine.__init__ opens")
        # The DSN tells the sink whether ClickHouse is chDB, as the real client's uri would.
        return clickhouse_relay.RelayClient(conn, redact_dsn(dsn)), database_of(dsn)

    return open_client


def _engine_main(settings: Settings, index: int, ends: list[Connection], health_queue: Any,
                 parent_pid: int, classifier: Classifier | None) -> None:
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
    health = Health()
    engine = Engine(settings, health, classifier=classifier, clickhouse=relayed_clickhouse(ends))
    next_send = 0.0

    def tick() -> None:
        nonlocal next_send
        if time.monotonic() >= next_send:
            health_queue.put((index, health.as_dict()))
            next_send = time.monotonic() + HEALTH_SEND_INTERVAL_S

    engine.run(lambda: stop.is_set() or os.getppid() != parent_pid, tick)
    health_queue.put((index, health.as_dict()))
    log.info("engine process %d stopped cleanly", index)
