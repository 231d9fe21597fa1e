"""bench.loop drives a real engine over every reply: each tracked at once (it is in its
address's partition), none lost to a dead letter."""

from __future__ import annotations

import json

import pytest

from bench.loop import main

pytestmark = pytest.mark.integration


def test_the_loop_bench_tracks_every_reply(capsys):
    main(["--replies", "3000", "--passes", "1"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["replies"] == out["tracked"] == 3000
    assert out["hooks"] >= 3000 and out["dead_letters"] == 0
    assert out["loop_us"] > out["changelog_us"] > 0


@pytest.mark.parametrize("argument", [["--passes", "0"], ["--recipients", "0"]])
def test_a_bad_argument_is_a_usage_error(capsys, argument):
    with pytest.raises(SystemExit) as exit_:
        main(argument)
    assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err
