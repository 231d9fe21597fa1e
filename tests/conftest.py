"""Shared fixtures: one local broker for the whole session (started, never skipped), and
factories for isolated settings, workers and CLI runs on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.local.broker import LocalBroker
from streams.local.testing import start_worker, stop_worker, worker_env
from streams.runtime.progress import wait_drained
from streams.settings import Settings


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with LocalBroker(log_file=log) as b:
        yield b


@pytest.fixture
def settings_factory(broker: LocalBroker, tmp_path: Path):
    """Settings with topics and a consumer group of their own, so tests share the broker
    without seeing each other's records."""

    def make(**overrides) -> Settings:
        tag = uuid.uuid4().hex[:8]
        values = dict(
            kafka_bootstrap=broker.bootstrap, clickhouse_dsn=f"chdb://{tmp_path}/chdb",
            partitions=2, app_id=f"bf-{tag}",
            topic_replies=f"replies-{tag}", topic_classified=f"classified-{tag}",
            topic_hooks=f"hooks-{tag}", topic_dead_letters=f"dead-{tag}",
            session_timeout_s=6.0, sink_batch_seconds=0.5,
            # One engine unless a test asks for more: the default is one per core.
            processes=1,
        )
        values.update(overrides)
        return Settings.load(env={}, **values)

    return make


class Worker:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.process = start_worker(settings, log)

    def wait(self, produced: int, timeout: float = 120) -> None:
        """Until the group processed ``produced`` replies and everything they led to."""
        try:
            wait_drained(self.settings, produced, lambda: self.process.poll() is None, timeout)
        except Exception:
            print(self.log.read_text()[-5000:])
            raise

    def stop(self) -> int:
        return stop_worker(self.process)


@pytest.fixture
def worker_factory(tmp_path: Path):
    workers: list[Worker] = []

    def make(settings: Settings) -> Worker:
        w = Worker(settings, tmp_path / f"worker{len(workers)}.log")
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.stop()


def run_cli(
    settings: Settings, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `bounceflow ARGS` with these settings in its environment (plus ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], input=stdin, capture_output=True,
        text=True, env={**worker_env(settings), **(env or {})}, timeout=120,
    )


def report_json(settings: Settings, kind: str, *args: str):
    done = run_cli(settings, "report", kind, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def jsonl(events: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


os.environ.setdefault("PYTHONUNBUFFERED", "1")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the corpus test's agreement per reason (tests/unit/test_corpus.py)."""
    from tests.unit.classify.test_corpus import CORPUS_REPORT

    report = config.stash.get(CORPUS_REPORT, None)
    if report:
        terminalreporter.section("classification corpus: agreement per reason")
        for line in report:
            terminalreporter.write_line(line)
