"""The mail commands' bad arguments: one line and exit code 2, before any broker is reached."""

from __future__ import annotations

import pytest

from streams.cli import main


@pytest.mark.parametrize(("args", "says"), [
    (["ingest", "--format", "mail", "/nonexistent/Maildir"], "does not exist"),
    (["ingest", "--format", "mail", "--follow", "."], "no --follow or --state"),
    (["ingest", "smtp", "--listen", "nope"], "is not HOST:PORT"),
    (["ingest", "smtp", "--listen", "127.0.0.1:70000"], "is not HOST:PORT"),
    (["ingest", "smtp"], "set BOUNCEFLOW_MAIL_BOUNCE_DOMAIN"),
])
def test_bad_mail_arguments_exit_2_with_one_line(args, says, capsys, monkeypatch):
    monkeypatch.delenv("BOUNCEFLOW_MAIL_BOUNCE_DOMAIN", raising=False)
    monkeypatch.delenv("BOUNCEFLOW_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and says in err and len(err.strip().splitlines()) == 1
