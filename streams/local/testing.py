"""What the demo, the benchmarks and the tests drive a worker with: a worker in a subprocess,
started with a Settings object turned into its environment and stopped with SIGTERM (then SIGKILL
after a timeout); and records as a consumer hands them over, made by hand."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.settings import Settings, env_var


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a worker subprocess these settings."""
    env = dict(os.environ)
    for name, value in settings.__dict__.items():
        env[env_var(name)] = str(value)
    return env


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"], env=worker_env(settings),
            stdout=log, stderr=subprocess.STDOUT,
        )


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass(frozen=True)
class Consumed:
    """A record as confluent-kafka's consumer hands it over (the methods the engine and the
    deliverer read), made by hand: its ``Message`` can be built only from confluent-kafka 2.13 on,
    and the Quix Streams baseline in bench/ holds the client below that."""

    topic_: str | None = None
    partition_: int | None = None
    offset_: int | None = None
    key_: bytes | None = None
    value_: bytes | None = None
    error_: Any = None
    timestamp_ms: int = 0

    def topic(self) -> str | None:
        return self.topic_

    def partition(self) -> int | None:
        return self.partition_

    def offset(self) -> int | None:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def error(self) -> Any:
        return self.error_

    def timestamp(self) -> tuple[int, int]:
        return (1, self.timestamp_ms)  # TIMESTAMP_CREATE_TIME
