"""The whole pipeline on the real local broker and chDB: events produced through
`bounceflow produce` reach the reports with exact counts."""

from __future__ import annotations

import csv
import io
from collections import Counter

import openpyxl
import pytest

from sinks.clickhouse import connect
from streams.classify.classifier import Classifier
from streams.classify.providers import PROVIDERS
from streams.classify.rules_loader import load_reason_group
from streams.local.reference import expected
from streams.local.synth import generate
from tests.conftest import jsonl, report_json, run_cli
from tests.integration.checks import assert_exact

pytestmark = pytest.mark.integration


def with_guessed_reasons(events: list[dict]) -> list[dict]:
    """``events`` and, after them, soft bounces whose reason only the enhanced status gives (a
    guess), some of them final: rows of both reports with a `guessed` count."""
    last = events[-1]["event_time"]
    soft = [e for e in events if e["reply_code"] and 400 <= e["reply_code"] < 500][:12]
    return events + [
        {**e, "event_id": f"guess-{i}", "message_id": f"guess-{i}", "event_time": last + i,
         "reply_code": 452, "enhanced_status": "4.2.2", "final": i % 2 == 0, "attempt": 1,
         "reply_text": "Requested action not taken: mailbox unavailable"}
        for i, e in enumerate(soft)]


def test_produced_stream_reaches_the_reports_exactly(settings_factory, worker_factory, tmp_path):
    settings = settings_factory()
    events = with_guessed_reasons(list(generate(3000, seed=11)))
    done = run_cli(settings, "produce", str(jsonl(events, tmp_path / "events.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    want = expected(events, Classifier(settings.policy), settings.max_attempts)

    worker = worker_factory(settings)
    worker.wait(len(events))
    assert worker.stop() == 0  # SIGTERM: a clean stop

    assert want["summary"]["suppressed"] > 0 and want["summary"]["undelivered"] > 0
    assert want["summary"]["dead_letters"] == 0
    assert all(sum(want["guessed"][report]["from_domain"].values()) > 0
               for report in ("bounces", "undeliveries"))
    assert_exact(settings, want)  # every report, hook id and table entry

    # Provider health: the hourly view adds up to the same events, by IP and provider.
    classifier, pushback = Classifier(settings.policy), load_reason_group("sender_pushback")
    want_health = Counter()
    for e in events:
        c = classifier.classify(e["reply_code"], e["enhanced_status"], e["reply_text"],
                                e["smtp_stage"])
        pair = (e["sending_ip"], PROVIDERS.of(e["email"].rsplit("@", 1)[1].lower()))
        want_health[(*pair, "replies")] += 1
        want_health[(*pair, c.kind)] += 1
        if c.kind != "delivered" and c.reason in pushback and c.basis != "words":
            want_health[(*pair, "blocks" if c.kind == "hard" else "deferrals")] += 1
    client, db = connect(settings.clickhouse_dsn)
    rows = client.query(
        f"SELECT sending_ip, provider, sum(replies), sum(delivered), sum(soft_bounces), "
        f"sum(hard_bounces), sum(blocks), sum(deferrals) FROM `{db}`.provider_health_1h "
        f"GROUP BY sending_ip, provider").result_rows
    client.close()
    got_health = Counter()
    for ip, provider, *counts in rows:
        for name, n in zip(("replies", "delivered", "soft", "hard", "blocks", "deferrals"), counts):
            if n:
                got_health[(ip, provider, name)] = n
    assert got_health == want_health
    assert {p for _, p, *_ in rows} >= {"google", "microsoft", "mailru", "other"}


def test_a_caught_up_worker_checkpoints_without_waiting_out_the_batch(
        settings_factory, worker_factory, tmp_path):
    # Batches of a minute and 100,000 rows: only the caught-up checkpoint commits in time.
    settings = settings_factory(sink_batch_seconds=60.0, sink_batch_size=100_000,
                               alert_check_s=1e9)  # the alert check checkpoints too
    events = list(generate(600, seed=5))
    worker = worker_factory(settings)
    for part, rest in ((events[:300], events[300:]), (events[300:], [])):
        path = jsonl(part, tmp_path / f"e{len(rest)}.jsonl")
        assert run_cli(settings, "produce", str(path)).returncode == 0
        # Committed means the rows are in ClickHouse. The first commit may come from the
        # group's joins (a rebalance checkpoints); the second only from being caught up.
        worker.wait(len(events) - len(rest), timeout=30)
    assert worker.stop() == 0


def test_report_filters_are_parameters(settings_factory, worker_factory, tmp_path):
    settings = settings_factory(partitions=1)
    events = list(generate(400, seed=3))
    assert run_cli(settings, "produce", str(jsonl(events, tmp_path / "e.jsonl"))).returncode == 0
    want_all = expected(events, Classifier(), settings.max_attempts)["summary"]
    worker = worker_factory(settings)
    worker.wait(len(events))
    worker.stop()

    account2 = [e for e in events if e["account_id"] == 2]
    assert report_json(settings, "summary", "--account", "2")["replies"] == len(account2)
    campaign = [e for e in events if e["campaign_id"] == 101]
    assert report_json(settings, "summary", "--campaign", "101")["replies"] == len(campaign)
    cut = sorted(e["event_time"] for e in events)[len(events) // 2]
    from datetime import datetime, timezone

    iso = datetime.fromtimestamp(cut / 1000, tz=timezone.utc).isoformat()
    early = [e for e in events if e["event_time"] < cut]
    assert report_json(settings, "summary", "--to", iso)["replies"] == len(early)
    rows = report_json(settings, "bounces", "--group-by", "sending_ip")
    csv_out = run_cli(settings, "report", "bounces", "--group-by", "sending_ip", "--format", "csv")
    parsed = list(csv.reader(io.StringIO(csv_out.stdout)))
    assert parsed[0] == ["sender", "recipient_domain", "bounce_text", "amount", "guessed"]
    assert [[r["sender"], r["recipient_domain"], r["bounce_text"], str(r["amount"]),
             str(r["guessed"])] for r in rows] == parsed[1:]
    xlsx = tmp_path / "undeliveries.xlsx"
    done = run_cli(settings, "report", "undeliveries", "--format", "xlsx", "--output", str(xlsx))
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(xlsx).active
    want_rows = report_json(settings, "undeliveries")
    assert sheet.max_row == len(want_rows) + 1
    assert sum(row[3] for row in sheet.iter_rows(min_row=2, values_only=True)) == \
        want_all["undelivered"]

    # A filter value is a parameter, never SQL: this is just an account that does not exist.
    done = run_cli(settings, "report", "summary", "--account", "1 OR 1=1")
    assert done.returncode == 2 and "is not a valid integer" in done.stderr
