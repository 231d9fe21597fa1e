"""bench/dsn.py runs on a small size and reports every shape."""

from __future__ import annotations

import json

import pytest

from bench import dsn


def test_the_dsn_benchmark_parses_every_shape(capsys):
    dsn.main(["--mails", "3"])
    out = json.loads(capsys.readouterr().out)
    assert set(out["mails_per_s"]) == set(dsn.SHAPES)
    assert out["mix_mails_per_s"] > 0 and all(v > 0 for v in out["mails_per_s"].values())


def test_the_dsn_benchmark_refuses_a_count_below_one(capsys):
    with pytest.raises(SystemExit):
        dsn.main(["--mails", "0"])
    assert "--mails must be at least 1" in capsys.readouterr().err
