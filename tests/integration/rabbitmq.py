"""A real RabbitMQ server for the tests: Debian's ``rabbitmq-server`` (``.ci/run`` installs it),
run as a node of its own on free ports with its data in a temporary directory, and stopped and
started again on the same data to test what survives a broker restart. Without it the tests are
skipped on a developer's machine, and fail under CI (``CI=true``), which must have installed it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from streams.local.broker import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
START_TIMEOUT_S = 60


def require_server() -> None:
    if SERVER.exists():
        return
    reason = (f"the RabbitMQ tests need Debian's rabbitmq-server ({SERVER} is missing): "
              "apt-get install rabbitmq-server, as .ci/run does")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI installs it, so its absence is a failure", pytrace=False)
    pytest.skip(reason)


class RabbitServer:
    def __init__(self, base: Path) -> None:
        require_server()
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        self.port = free_port()
        self.node = f"bftest{self.port}@localhost"
        self.env = {**os.environ, "HOME": str(base), "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(free_port()),
                    "ERL_EPMD_PORT": str(free_port()),
                    "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(base / "log"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                    "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq")}
        self.url = f"amqp://guest:guest@localhost:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.base / "server.log", "ab") as out:
            self.process = subprocess.Popen([str(SERVER)], env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, cwd=self.base)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._ctl("await_startup", "--timeout", "2").returncode == 0:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        log = (self.base / "server.log").read_text()[-2000:]
        raise RuntimeError(f"RabbitMQ did not start: {log}")

    def stop(self) -> None:
        if self.process is None:
            return
        self._ctl("stop")
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        subprocess.run(["epmd", "-kill"], env=self.env, capture_output=True)

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CTL), "-n", self.node, *args], env=self.env,
                              capture_output=True, timeout=60)
