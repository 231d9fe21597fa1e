"""Engines are forked only from a process with no thread but its main one."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORKED = "from streams.runtime.engine_processes import start_method; print(start_method())"
THREADED = ("import threading, time; threading.Thread(target=time.sleep, args=(5,), daemon=True)"
            ".start(); " + FORKED)
# librdkafka's threads are the C library's: Python's threading does not see them.
WITH_A_PRODUCER = ("from confluent_kafka import Producer; p = Producer({'bootstrap.servers': "
                   "'127.0.0.1:1'}); " + FORKED)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")
@pytest.mark.parametrize(("program", "method"), [
    (FORKED, "fork"), (THREADED, "spawn"), (WITH_A_PRODUCER, "spawn")])
def test_fork_only_without_threads(program: str, method: str) -> None:
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == method
