"""bench.sink inserts every row the engine would, and says what a bad argument is."""

import json

import pytest

from bench.sink import main, rows

pytestmark = pytest.mark.integration


def test_the_sink_bench_inserts_every_reply_and_hook_row(capsys):
    expected = {table: len(written) for table, written in rows(600).items()}
    main(["--replies", "600", "--batch", "250"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["replies_rows"] == expected["replies"] == 600
    assert out["hooks_rows"] == expected["hooks"] >= 600  # a reply emits one hook or more
    assert out["replies_us_per_row"] > 0 and out["hooks_us_per_row"] > 0
    assert 1 <= out["replies_parts"] <= 3  # three inserts, merged or not


@pytest.mark.parametrize("argument", [["--replies", "0"], ["--batch", "0"]])
def test_a_bad_argument_is_a_usage_error(capsys, argument):
    with pytest.raises(SystemExit) as exit_:
        main(argument)
    assert exit_.value.code == 2 and "at least 1" in capsys.readouterr().err
