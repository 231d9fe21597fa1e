"""bench/ingest.py renders the demo's stream in each MTA's shape, and every reply of the stream
comes back out of its adapter, none bad."""

from __future__ import annotations

import json

import pytest

from bench import ingest


def test_every_format_gives_back_every_reply(capsys):
    ingest.main(["--replies", "400"])
    out = json.loads(capsys.readouterr().out)
    for name in ingest.FORMATS:
        assert out[name]["replies"] == 400 and out[name]["bad"] == 0, (name, out[name])
        assert out[name]["lines"] >= 400 and out[name]["lines_per_s"] > 0


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        ingest.main(["--formats", "sendmail"])
    assert "--formats among" in capsys.readouterr().err
