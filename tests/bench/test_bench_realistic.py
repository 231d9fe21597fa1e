"""The benchmark's realistic stream (replies per address, a long tail of repeated addresses),
its flags, and what it reports of the worker's state: state keys and changelog bytes."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from confluent_kafka import Producer

from bench import pipeline
from streams.kafka_config import confluent_config
from streams.local.synth import generate, replies_per_message
from streams.runtime.topics import ensure_topics
from streams.tracking.changelog import write_changes


def _per_address(events: list[dict]) -> Counter[str]:
    return Counter(e["email"] for e in events)


@pytest.mark.parametrize("per_recipient", [1.5, 1.8, 3.0])
def test_the_realistic_stream_has_the_replies_per_address_asked_and_a_long_tail(per_recipient):
    events = list(generate(20_000, seed=5, per_recipient=per_recipient))
    counts = _per_address(events)
    assert len(events) == 20_000
    assert abs(len(events) / len(counts) - per_recipient) < 0.1 * per_recipient
    # Most addresses have one message; a tail has many more replies than the mean.
    assert sum(1 for c in counts.values() if c <= 2) > 0.6 * len(counts)
    assert max(counts.values()) > 8 * per_recipient


def test_the_realistic_stream_is_deterministic_and_the_uniform_one_is_still_there():
    a = list(generate(3000, seed=5, per_recipient=1.8))
    assert a == list(generate(3000, seed=5, per_recipient=1.8))
    assert a != list(generate(3000, seed=6, per_recipient=1.8))
    uniform = _per_address(list(generate(20_000, seed=5, recipients=2000)))
    # 10 replies an address drawn uniformly: no address far above the mean.
    assert 1900 < len(uniform) <= 2000 and max(uniform.values()) < 40


def test_a_message_has_more_than_one_reply_on_average():
    assert 1.1 < replies_per_message() < 1.5
    assert replies_per_message(max_attempts=9) > replies_per_message()


@pytest.mark.parametrize("argv", [["--replies-per-recipient", "1.0"], ["--rates", "5000,x"],
                                  ["--rates", "0"], ["--processes", "-1"]])
def test_the_pipeline_benchmark_refuses_bad_flags_with_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        pipeline.main(["--skip-baselines", *argv])
    assert exit_.value.code == 2 and "error" in capsys.readouterr().err


@pytest.mark.integration
def test_changelog_figures_count_bytes_and_the_keys_still_live(settings_factory):
    settings = settings_factory()
    ensure_topics(settings)
    producer = Producer(confluent_config(settings))
    write_changes(producer, settings, 0, {"recipients": {"a@x.org": {"n": 1}, "b@x.org": {"n": 2}},
                                          "messages": {"m1": {"first": 5}}})
    write_changes(producer, settings, 1, {"recipients": {"c@x.org": {"n": 3}}})
    write_changes(producer, settings, 0, {"recipients": {"b@x.org": None}})  # b forgotten
    producer.flush()
    figures = pipeline.changelog_figures(settings)
    sizes = [(b'"a@x.org"', b'{"n":1}'), (b'"b@x.org"', b'{"n":2}'), (b'"m1"', b'{"first":5}'),
             (b'"c@x.org"', b'{"n":3}'), (b'"b@x.org"', b"")]
    assert figures == {"records": 5, "bytes": sum(len(k) + len(v) for k, v in sizes),
                       "live_keys": 3}


@pytest.mark.integration
def test_the_pipeline_benchmark_reports_state_changelog_and_latency_by_rate(capsys):
    pipeline.main(["--events", "3000", "--skip-baselines", "--processes", "1",
                   "--rate", "300", "--rates", "600", "--latency-seconds", "1"])
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["processes"] == 1
    assert 1.6 < out["replies_per_recipient"] < 2.0
    # Recipients with something to remember and pending messages: not one key per address.
    assert 0 < out["state_keys"] < out["recipients"]
    assert out["changelog_records"] > 0 and out["changelog_bytes_per_reply"] > 0
    assert out["restored_keys"] > 0 and out["restore_seconds"] > 0
    assert set(out["hook_latency_by_rate"]) == {"300", "600"}
    assert all(v["hooked"] == 1 for v in out["hook_latency_by_rate"].values())
    assert out["p99_over_1s_from_rate"] is None
    assert out["peak_pss_mb"] > 0
