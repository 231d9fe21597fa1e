"""The naive Quix Streams baselines run on the local broker: the classify-only app reads every
reply, and the tracking one decides and sends the same hooks as the naive Faust agent."""

from __future__ import annotations

import pytest

from bench.pipeline import (
    create_baseline_topic,
    encode_stream,
    naive_faust_rate,
    naive_hooks_topic,
    naive_quix,
    produce_stream,
    read_topics,
)
from streams.ingest.codec import HOOK
from streams.local.synth import generate

pytestmark = pytest.mark.integration


def test_naive_quix_apps_run_and_track_as_the_faust_agent_does(settings_factory, tmp_path):
    settings = settings_factory()
    topic = create_baseline_topic(settings)
    events = list(generate(400, seed=3, per_recipient=1.8))
    produce_stream(settings, encode_stream(events), topic)

    classified = naive_quix(settings, len(events), tmp_path, topic=topic)
    assert classified["events"] == len(events) and classified["seconds"] > 0
    assert "hooks" not in classified or classified["hooks"] == 0

    tracked = naive_quix(settings, len(events), tmp_path, track=True, topic=topic)
    assert tracked["hooks"] >= len(events)  # every reply has a hook at least
    sent = [HOOK.decode(m.value()) for m in
            read_topics(settings, [naive_hooks_topic(settings, "quix")], idle_s=2)]
    # The app stops gracefully: every hook it decided was produced.
    assert len(sent) == tracked["hooks"]
    assert {h["event_data"]["event_id"] for h in sent} == {e["event_id"] for e in events}

    naive_faust_rate(settings, len(events), tmp_path, track=True, topic=topic)
    faust = [HOOK.decode(m.value()) for m in
             read_topics(settings, [naive_hooks_topic(settings)], idle_s=2)]
    assert sorted((h["event_type"], h["event_data"]["event_id"]) for h in faust) == sorted(
        (h["event_type"], h["event_data"]["event_id"]) for h in sent)
