"""A real RabbitMQ server for the tests: Debian's ``rabbitmq-server``, installed with apt-get when
the machine lacks it (as on a fresh CI machine), run as a node of its own on free ports with its
data in a temporary directory, and stopped and started again on the same data to test what
survives a broker restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from streams.local.broker import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
START_TIMEOUT_S = 60


def ensure_installed() -> None:
    if SERVER.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError("the RabbitMQ tests need Debian's rabbitmq-server: "
                           "apt-get install rabbitmq-server (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "rabbitmq-server"]
    if subprocess.run(install, env=env, capture_output=True).returncode == 0:
        return
    # a fresh machine may have no package lists yet
    for command in (["apt-get", "update", "-qq"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-1500:]}")


class RabbitServer:
    def __init__(self, base: Path) -> None:
        ensure_installed()
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
