import os
import time

from bench.pipeline import CoresUsed


def test_cores_used_counts_a_busy_process_and_not_an_idle_one():
    busy = CoresUsed({"me": os.getpid()})
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        pass
    assert busy.result()["me"] > 0.5

    idle = CoresUsed({"me": os.getpid()})
    time.sleep(0.5)
    assert idle.result()["me"] < 0.2
