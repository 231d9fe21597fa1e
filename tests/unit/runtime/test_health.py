"""A worker of several engine processes reports one set of figures (health.merge)."""

from __future__ import annotations

from streams.runtime.health import Health, merge


def test_merge_adds_counts_and_joins_partitions_and_times():
    a = Health(replies=10, hooks=3, sink_rows={"replies": 10}, partitions=[2, 0],
               first_record_at=200.0, last_commit_at=300.0)
    b = Health(replies=5, dead_letters=1, sink_rows={"replies": 4, "hooks": 2}, partitions=[1],
               first_record_at=100.0, last_commit_at=None, last_sink_error="timeout")
    own = Health(delivery=lambda: {"crm": {"sent": 7}})

    out = merge(own, [a.as_dict(), b.as_dict()])

    assert (out["replies"], out["hooks"], out["dead_letters"]) == (15, 3, 1)
    assert out["sink_rows"] == {"replies": 14, "hooks": 2}
    assert out["partitions"] == [0, 1, 2]
    assert (out["first_record_at"], out["last_commit_at"]) == (100.0, 300.0)
    assert out["last_sink_error"] == "timeout"
    assert out["delivery"] == {"crm": {"sent": 7}}  # the deliverers are the worker's own
    assert out["processes"] == 2


def test_merge_of_engines_that_have_sent_nothing_yet():
    out = merge(Health(), [])
    assert out["replies"] == 0 and out["first_record_at"] is None and out["processes"] == 0
