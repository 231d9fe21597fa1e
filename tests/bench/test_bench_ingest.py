"""bench/ingest.py: the demo's stream rendered in each MTA's shape (streams/local/mta_logs.py)
comes back out of its adapter, every reply, none bad."""

from __future__ import annotations

import json

import pytest

from bench import ingest


def test_every_format_gives_back_every_reply(capsys):
    ingest.main(["--replies", "400"])
    out = json.loads(capsys.readouterr().out)
    for name in ingest.FORMATS:
        # KumoMTA's log adds an Expiration after the last retry of a message given up on
        want = 400 + (out[name]["lines"] - 400 if name == "kumomta" else 0)
        assert out[name]["replies"] == want and out[name]["bad"] == 0, (name, out[name])
        assert out[name]["lines"] >= 400 and out[name]["lines_per_s"] > 0


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        ingest.main(["--formats", "sendmail"])
    assert "--formats among" in capsys.readouterr().err
