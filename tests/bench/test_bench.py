import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from bench.pipeline import (
    CoresUsed,
    PeakMemory,
    paused,
    peak_rss_mb,
    process_state,
    process_tree,
    restore_figures,
)
from streams.exceptions import BrokerError
from streams.settings import Settings


def _start(code: str) -> subprocess.Popen:
    # A shell that waits for a Python child: what is measured is the child, a descendant, as a
    # worker's engine processes are.
    return subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "{code}" & wait'])


def _stop(shell: subprocess.Popen) -> None:
    for pid in process_tree(shell.pid)[1:]:
        os.kill(pid, signal.SIGKILL)
    shell.wait()


def test_cores_used_counts_a_busy_descendant_and_not_an_idle_one():
    busy, idle = _start("while True: pass"), _start("import time; time.sleep(30)")
    try:
        time.sleep(0.3)  # both children started
        cores = CoresUsed({"busy": busy.pid, "idle": idle.pid})
        time.sleep(1.0)
        used = cores.result()
        # The cores are shared (a benchmark or test may run beside): busy is far from idle,
        # not near 1.
        assert used["busy"] > 0.15
        assert used["idle"] < 0.05
    finally:
        _stop(busy)
        _stop(idle)


def test_cores_by_thread_name_puts_a_busy_descendant_under_children():
    busy = _start("while True: pass")
    try:
        time.sleep(0.3)
        cores = CoresUsed({"busy": busy.pid})
        time.sleep(1.0)
        threads = cores.by_thread()
        # The shell waits (under 0.01 of a core: not listed); its Python child spins.
        assert "busy" not in threads
        [(name, used)] = threads["busy children"].items()
        assert name.startswith("python")
        assert used > 0.15
    finally:
        _stop(busy)


def test_peak_rss_adds_up_the_descendants():
    parent = _start("b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
                    "import time; time.sleep(30)")
    try:
        deadline = time.monotonic() + 10
        while peak_rss_mb(parent.pid) < 200:
            assert time.monotonic() < deadline, peak_rss_mb(parent.pid)
            time.sleep(0.1)
    finally:
        _stop(parent)


def test_peak_memory_counts_what_descendants_hold_at_once_and_shared_pages_once():
    # Two children, each with 100 MB of its own and a 100 MB file mapped by both: 300 MB
    # held at once (RSS would count 400).
    code = ("import mmap, sys, time; b = bytearray(100 * 2**20); "
            "b[::4096] = b'x' * len(b[::4096]); f = open(sys.argv[1], 'rb'); "
            "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ); "
            "[m[i] for i in range(0, len(m), 4096)]; time.sleep(30)")  # touched, not copied
    with tempfile.NamedTemporaryFile() as shared:
        shared.write(bytes(100 * 2**20))
        shared.flush()
        parent = subprocess.Popen(["sh", "-c", f'for i in 1 2; do "{sys.executable}" -c "{code}" '
                                               f'{shared.name} & done; wait'])
        try:
            memory = PeakMemory(parent.pid, interval=0.05)
            deadline = time.monotonic() + 60  # a loaded machine: returns once reached
            while memory.peak < 290:
                assert time.monotonic() < deadline, memory.peak
                time.sleep(0.1)
            time.sleep(0.3)
            assert memory.result() < 370  # their RSS adds up to 400 and more
        finally:
            _stop(parent)


def test_the_steps_benchmark_times_each_step_and_their_sum(capsys):
    from bench import steps

    steps.main(["--replies", "300", "--recipients", "30"])
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    parts = [v for k, v in out.items() if k.endswith("_us") and k != "total_us"]
    assert out["replies"] == 300 and len(parts) == 4 and all(v > 0 for v in parts)
    assert abs(sum(parts) - out["total_us"]) < 0.05


def test_the_steps_benchmark_refuses_a_count_below_one(capsys):
    from bench import steps

    with pytest.raises(SystemExit) as exit_:
        steps.main(["--replies", "0"])
    assert exit_.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_the_pipeline_benchmark_refuses_a_stream_the_raw_consumer_reads_in_one_batch(capsys):
    """Its clock starts after its first batch: 5,000 replies left it nothing to time (NaN)."""
    from bench import pipeline

    with pytest.raises(SystemExit) as exit_:
        pipeline.main(["--events", "5000"])
    assert exit_.value.code == 2 and "--skip-baselines" in capsys.readouterr().err


def test_paused_stops_the_processes_for_the_block_and_continues_them_even_when_it_fails():
    shell = _start("import time; time.sleep(30)")
    try:
        time.sleep(0.3)
        pids = process_tree(shell.pid)
        assert len(pids) == 2
        with pytest.raises(RuntimeError), paused(pids):
            assert {process_state(pid) for pid in pids} == {"T"}  # stopped
            raise RuntimeError("the produce failed")
        assert "T" not in {process_state(pid) for pid in pids}  # continued
    finally:
        _stop(shell)


def test_a_restore_that_fails_is_a_figure_not_the_end_of_the_run(monkeypatch):
    def fails(*args, **kwargs):
        raise BrokerError("restoring state: no fence on [('t', 0)] after 300s")

    monkeypatch.setattr("bench.pipeline.restore", fails)
    settings = Settings.load(env={}, kafka_bootstrap="127.0.0.1:9")
    assert restore_figures(settings) == {
        "restore_error": "restoring state: no fence on [('t', 0)] after 300s"}
