"""bench.pipeline produces the worker's replies only once its engines hold every partition, so
that no engine's late join is in the rate; a worker that exits while it waits is an error, not
a hang; and it times the restore of the state a worker left."""

from __future__ import annotations

import json
import urllib.request

import pytest

from bench.pipeline import encode_stream, produce_stream, restore_figures, wait_joined
from streams.local.broker import free_port
from streams.local.synth import generate
from streams.runtime.topics import ensure_topics
from streams.tracking.state import TABLES
from tests.integration.checks import table_state

pytestmark = pytest.mark.integration


def test_wait_joined_returns_once_both_engines_hold_their_partitions(settings_factory,
                                                                     worker_factory):
    settings = settings_factory(processes=2, web_port=free_port())
    ensure_topics(settings)
    worker = worker_factory(settings)
    wait_joined(settings, lambda: worker.process.poll() is None, timeout=60)
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/health") as page:
        health = json.loads(page.read())
    # Each engine reports its own partition: the list is whole only when both have joined.
    assert health["partitions"] == [0, 1] and health["processes"] == 2, health
    assert worker.stop() == 0


def test_wait_joined_fails_when_the_worker_exits(settings_factory, worker_factory, tmp_path):
    # A hooks file that is not there: the worker exits at its start, before it serves /health.
    settings = settings_factory(web_port=free_port(), hooks_file=str(tmp_path / "missing.toml"))
    worker = worker_factory(settings)
    with pytest.raises(SystemExit, match="exited before it joined"):
        wait_joined(settings, lambda: worker.process.poll() is None, timeout=60)


def test_restore_figures_time_the_restore_of_what_a_worker_left(settings_factory, worker_factory):
    settings = settings_factory(web_port=free_port())
    ensure_topics(settings)
    events = list(generate(3000, seed=31, per_recipient=1.8))
    produce_stream(settings, encode_stream(events))
    worker = worker_factory(settings)
    worker.wait(len(events))
    assert worker.stop() == 0
    kept = sum(len(table_state(settings, t)) for t in TABLES)
    assert kept > 0, "a realistic stream leaves suppressions and pending messages"
    figures = restore_figures(settings)
    # The tables as the first worker left them: every key it kept, none it deleted.
    assert figures["restored_keys"] == kept
    assert figures["restore_seconds"] > 0
