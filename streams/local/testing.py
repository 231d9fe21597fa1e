"""A worker in a subprocess, as the demo, the benchmarks and the tests run one: started with a
Settings object turned into its environment, stopped with SIGTERM (then SIGKILL after a
timeout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
