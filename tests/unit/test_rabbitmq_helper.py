"""The RabbitMQ tests start Debian's rabbitmq-server and install nothing: without it they skip
on a developer's machine and fail under CI, which installs it (.ci/run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration import rabbitmq


@pytest.fixture
def no_server(monkeypatch, tmp_path):
    monkeypatch.setattr(rabbitmq, "SERVER", Path(tmp_path / "no-rabbitmq-server"))


def test_missing_server_skips_on_a_developers_machine(no_server, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install rabbitmq-server"):
        rabbitmq.require_server()


def test_missing_server_fails_under_ci(no_server, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI installs it"):
        rabbitmq.require_server()


def test_the_helper_installs_nothing():
    assert '"apt-get"' not in Path(rabbitmq.__file__).read_text()  # no command runs it
