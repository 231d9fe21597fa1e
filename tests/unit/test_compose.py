"""docker-compose.yml cannot run here (no Docker engine); read it and keep it in line with the
code: the worker's environment names real settings, and its addresses point at the services."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services():
    assert {"kafka", "clickhouse", "worker"} <= set(compose()["services"])


def test_worker_environment_is_valid_settings():
    env = compose()["services"]["worker"]["environment"]
    settings = Settings.load(env=env)  # raises on a bad value
    assert all(k.startswith("BOUNCEFLOW_") for k in env)
    known = {f"BOUNCEFLOW_{name.upper()}" for name in settings.__dataclass_fields__}
    assert set(env) <= known


def test_worker_addresses_point_at_the_services():
    services = compose()["services"]
    env = services["worker"]["environment"]
    host, port = env["BOUNCEFLOW_KAFKA_BOOTSTRAP"].split(":")
    assert f"PLAINTEXT://{host}:{port}" in services["kafka"]["environment"][
        "KAFKA_ADVERTISED_LISTENERS"]
    dsn = urlsplit(env["BOUNCEFLOW_CLICKHOUSE_DSN"])
    ch = services["clickhouse"]["environment"]
    assert dsn.hostname == "clickhouse"
    assert (dsn.username, dsn.password) == (ch["CLICKHOUSE_USER"], ch["CLICKHOUSE_PASSWORD"])
    assert dsn.path.strip("/") == ch["CLICKHOUSE_DB"]
    assert any(str(dsn.port) in p for p in services["clickhouse"]["ports"])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "```bash\nbash .ci/run\n```" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    packages = re.search(r'^packages="([^"]*)"', ci, re.MULTILINE)
    assert packages and {"rabbitmq-server", "chromium"} <= set(packages.group(1).split())
    assert "apt-get install" in ci and "$missing" in ci
    assert ci.strip().splitlines()[-1] == "python -m pytest"
