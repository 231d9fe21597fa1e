"""Provider health: one IP's deferral rate at Gmail spikes and recovers. Exactly one alert and one
recovered hook appear, for that pair only; a restarted worker does not raise them again; the
hooks carry the window's figures, which equal the ClickHouse view's."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.error
import urllib.request

import pytest

from bench.pipeline import paused
from sinks.clickhouse import connect
from streams.ingest.codec import HOOK
from streams.local.broker import free_port
from streams.runtime.partitioner import partition_of
from streams.runtime.progress import committed
from tests.conftest import jsonl, run_cli
from tests.integration.checks import read_topic
from tests.unit.ingest.test_codec_and_validation import GOOD

pytestmark = pytest.mark.integration

START = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SPIKY = "203.0.113.9"
DEFERRED = ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from "
            "your IP address. To protect our users from spam, mail sent from your IP address has "
            "been temporarily rate limited.")


def health_stream() -> list[dict]:
    events = []

    def add(minute: int, ip: str, domain: str, deferred: bool = False) -> None:
        n = len(events)
        events.append({
            **GOOD, "event_id": f"h{n}", "message_id": f"m{n}", "email": f"u{n}@{domain}",
            "event_time": START + minute * 60_000 + (n % 500) * 100, "sending_ip": ip,
            "from_domain": "news.example", "reply_code": 421 if deferred else 250,
            "enhanced_status": "4.7.28" if deferred else "2.0.0",
            "reply_text": DEFERRED if deferred else "250 2.0.0 OK", "smtp_stage": "rcpt",
        })

    for minute in range(12):
        for i in range(150):
            add(minute, "198.51.100.1" if i % 2 else "198.51.100.2", "gmail.com")
        for _ in range(60):
            add(minute, "198.51.100.1", "outlook.com")
        for i in range(50):  # minutes 3-5: 60% deferred at Gmail, from this IP only
            add(minute, SPIKY, "gmail.com", deferred=3 <= minute <= 5 and i < 30)
    add(13, "198.51.100.1", "gmail.com")  # moves event time on, so minute 11 closes
    events.append({**events[-1], "event_id": "dead1", "message_id": "dead1",
                   "email": "dead@gmail.com", "reply_code": 550, "enhanced_status": "5.1.1",
                   "reply_text": "550 5.1.1 The email account that you tried to reach does "
                                 "not exist."})
    return events


def old_spike() -> list[dict]:
    """Two days before the stream: a spike the evaluator must not alert on when it first starts
    on a table that already holds it (it looks back a day from the newest reply)."""
    return [{**GOOD, "event_id": f"old{n}", "message_id": f"old{n}", "email": f"o{n}@gmail.com",
             "event_time": START - 2 * 86_400_000 + n * 100, "sending_ip": "192.0.2.77",
             "from_domain": "old.example", "reply_code": 421 if n < 30 else 250,
             "enhanced_status": "4.7.28" if n < 30 else "2.0.0",
             "reply_text": DEFERRED if n < 30 else "250 2.0.0 OK", "smtp_stage": "rcpt"}
            for n in range(50)]


def get(settings, path: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}{path}",
                                    timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def alert_hooks(settings) -> list[dict]:
    hooks = [HOOK.decode(m.value()) for m in read_topic(settings, settings.topic_hooks)]
    return [h for h in hooks if h["event_type"] in ("alert", "recovered")]


def test_a_spike_and_its_recovery_give_one_alert_and_one_recovered(
    settings_factory, worker_factory, tmp_path
):
    settings = settings_factory(alert_check_s=0.5, alert_grace_s=0, alert_min_volume=40,
                                web_port=free_port())
    # History already in ClickHouse before alerts are first evaluated (alert_check_s 0: none).
    old = old_spike()
    done = run_cli(settings, "produce", str(jsonl(old, tmp_path / "old.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    quiet = worker_factory(dataclasses.replace(settings, alert_check_s=0))
    quiet.wait(len(old))
    assert quiet.stop() == 0

    events = health_stream()
    done = run_cli(settings, "produce", str(jsonl(events, tmp_path / "e.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    events += old

    worker = worker_factory(settings)
    worker.wait(len(events))
    deadline = time.monotonic() + 60
    while [h["event_type"] for h in alert_hooks(settings)] != ["alert", "recovered"]:
        assert time.monotonic() < deadline, alert_hooks(settings)
        time.sleep(1)
    time.sleep(2)  # more evaluations: nothing new may appear

    # The live pages, from the running worker.
    status, windows = get(settings, f"/windows?provider=google&sending_ip={SPIKY}&last=20")
    assert status == 200 and len(windows) == 12
    spike = next(w for w in windows if w["window_start"].startswith("2026-01-01T00:03"))
    assert (spike["replies"], spike["deferrals"], spike["top_reason"]) == (50, 30, "speeding")
    assert get(settings, "/suppression?email=Dead@gmail.com")[1]["suppressed_by"] == "dead1"
    assert get(settings, "/suppression?email=u1@gmail.com")[1]["suppressed"] is False
    assert get(settings, "/windows?minutes=5")[0] == 400
    assert worker.stop() == 0

    second = worker_factory(settings)  # a restart reloads the evaluator's progress
    second.wait(len(events))
    time.sleep(3)
    assert second.stop() == 0

    hooks = alert_hooks(settings)
    assert [(h["event_type"], h["event_data"]["alert"]["window_start"][11:16]) for h in hooks] == \
        [("alert", "00:03"), ("recovered", "00:06")]
    alert = hooks[0]["event_data"]["alert"]
    assert (alert["pair_type"], alert["pair"], alert["provider"]) == ("sending_ip", SPIKY, "google")
    assert (alert["volume"], alert["deferrals"], alert["rate"], alert["action"]) == \
        (50, 30, 0.6, "reduce_rate")
    assert hooks[0]["event_data"]["reason"] == "speeding"

    client, db = connect(settings.clickhouse_dsn)
    try:
        view = client.query(
            f"SELECT sum(replies), sum(deferrals) FROM `{db}`.provider_health_1m "
            f"WHERE sending_ip = '{SPIKY}' AND provider = 'google' "
            f"AND window_start = toDateTime('2026-01-01 00:03:00', 'UTC')").result_rows
        stored = client.query(f"SELECT event_type, alert_rate FROM `{db}`.hooks FINAL "
                              f"WHERE event_type IN ('alert', 'recovered') ORDER BY event_time"
                              ).result_rows
    finally:
        client.close()
    assert view == [(alert["volume"], alert["deferrals"])]
    assert stored == [("alert", 0.6), ("recovered", 0.0)]




def test_two_engine_processes_decide_on_the_rows_of_every_partition(
    settings_factory, worker_factory, tmp_path
):
    """Each engine process writes its partition's rows at its own pace: the evaluator (on the
    owner of partition 0) must not decide a window that its partition has passed while the
    other's rows are still on their way (the spiky pair's 50 replies a minute are split
    between the two, each half under the minimum volume). The other engine is stopped while
    the owner of partition 0 processes its half; before that an earlier stream, as the report
    pages' test has, so that partition 1 holds rows from before the evaluator's progress."""
    # A session long enough for the stopped engine to stay in the group.
    settings = settings_factory(alert_check_s=0.5, alert_grace_s=0, alert_min_volume=40,
                                processes=2, web_port=free_port(), session_timeout_s=20.0)
    worker = worker_factory(settings)
    earlier = [{**GOOD, "event_id": f"e{n}", "message_id": f"e{n}", "email": f"e{n}@gmail.com",
                "event_time": START - 13 * 3_600_000 + n * 1000} for n in range(200)]
    done = run_cli(settings, "produce", str(jsonl(earlier, tmp_path / "0.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    worker.wait(len(earlier))
    other = int(re.findall(r"\[(\d+)\] \[INFO\] \[MainThread\] assigned .*repartition\[1\]",
                           worker.log.read_text())[-1])
    events = health_stream()
    ours = len(earlier) + sum(partition_of(e["email"].encode(), 2) == 0 for e in events)
    with paused([other]):
        done = run_cli(settings, "produce", str(jsonl(events, tmp_path / "1.jsonl")), "--quiet")
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 10
        while committed(settings, [settings.topic_replies])[settings.topic_replies] < ours:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1.5)  # evaluations on partition 0's rows alone
    worker.wait(len(earlier) + len(events))
    deadline = time.monotonic() + 60
    while [h["event_type"] for h in alert_hooks(settings)] != ["alert", "recovered"]:
        assert time.monotonic() < deadline, (alert_hooks(settings), get(settings, "/health"))
        time.sleep(1)
    time.sleep(2)  # more evaluations: nothing new may appear
    status, health = get(settings, "/health")
    assert status == 200 and health["processes"] == 2 and health["alerts"] == 2, health
    assert worker.stop() == 0
    hooks = alert_hooks(settings)
    assert [(h["event_type"], h["event_data"]["alert"]["window_start"][11:16],
             h["event_data"]["alert"]["volume"], h["event_data"]["alert"]["deferrals"])
            for h in hooks] == [("alert", "00:03", 50, 30), ("recovered", "00:06", 50, 0)]
