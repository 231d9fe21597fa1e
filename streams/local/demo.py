"""``bounceflow demo``: the whole pipeline on the embedded default, checked against its input."""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from streams.adapters.common import Skip
from streams.adapters.kumomta import KumoMTA
from streams.classify.classifier import Classifier
from streams.exceptions import BounceflowError
from streams.ingest.adapter_options import options_from
from streams.ingest.produce import produce, reply_producer
from streams.kafka_config import produce as send
from streams.local.broker import LocalBroker
from streams.local.mta_logs import kumomta_lines
from streams.local.reference import SUMMARY_KEYS, expected
from streams.local.synth import generate
from streams.local.testing import start_worker, stop_worker
from streams.runtime.progress import wait_drained
from streams.runtime.topics import ensure_topics
from streams.settings import Settings

SHOW_ROWS = 12


def compare(actual: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """The differences between reports read from ClickHouse and the expected ones."""
    diffs = []
    for key in SUMMARY_KEYS:
        if actual["summary"][key] != want["summary"][key]:
            diffs.append(f"summary {key}: ClickHouse {actual['summary'][key]}, "
                         f"stream {want['summary'][key]}")
    for report in ("bounces", "undeliveries"):
        got, exp = actual[report], want[report]["from_domain"]
        if got != exp:
            missing, extra = exp - got, got - exp
            diffs.append(f"{report}: {sum(missing.values())} missing, {sum(extra.values())} "
                         f"extra (e.g. {next(iter(missing or extra))})")
    return diffs


def read_reports(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reports as printed and as comparable values."""
    from sinks.clickhouse import connect
    from sinks.reports import Filters, run_report

    client, db = connect(settings.clickhouse_dsn)
    printed, values = {}, {}
    for kind in ("bounces", "undeliveries", "summary"):
        report = run_report(client, db, kind, Filters())
        printed[kind] = report
        if kind == "summary":
            values[kind] = dict(zip(report.columns, report.rows[0]))
        else:
            values[kind] = Counter({tuple(r[:3]): r[3] for r in report.rows})
    client.close()
    return printed, values


def _replies_of(records: list[str], settings: Settings) -> list[dict[str, Any]]:
    """What the KumoMTA records mean, as the worker's adapter reads them: the expected reports
    are computed from these."""
    adapter = KumoMTA(options_from(settings))
    out: list[dict[str, Any]] = []
    for record in records:
        result = adapter.line(record)
        if not isinstance(result, Skip):
            out.extend(result)
    return out


def _produce_records(settings: Settings, records: list[str]) -> None:
    """KumoMTA's records as they are, keyed by recipient, as its kafka publisher would."""
    failed: list[str] = []
    producer = reply_producer(settings, failed)
    for record in records:
        key = json.loads(record)["recipient"].lower().encode()
        send(producer, settings.topic_replies, key, record.encode())
        producer.poll(0)
    if producer.flush(60) or failed:
        raise BounceflowError(f"could not produce the KumoMTA records: {failed[:3]}")


def run_demo(events: int, data_dir: str | None, partitions: int, seed: int,
             policy: str, mta: str | None = None, web_port: int = 0) -> bool:
    """``mta``: kumomta writes the stream as KumoMTA's log records and produces those, as
    KumoMTA's own kafka publisher would; the worker reads them (input_format kumomta)."""
    from sinks.export import render
    from sinks.reports import Report

    root = Path(data_dir or tempfile.mkdtemp(prefix="bounceflow-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    click.echo(f"data directory: {root}", err=True)
    stream = list(generate(events, seed=seed))
    with open(root / "events.jsonl", "w", encoding="utf-8") as f:
        for e in stream:
            f.write(json.dumps(e) + "\n")
    with LocalBroker(log_file=root / "broker.log") as broker:
        click.echo(f"local broker: {broker.bootstrap}", err=True)
        settings = Settings.load(
            env={}, kafka_bootstrap=broker.bootstrap, clickhouse_dsn=f"chdb://{root}/chdb",
            partitions=partitions, policy=policy, session_timeout_s=6.0,
            input_format=mta or "avro", web_port=web_port,
        )
        ensure_topics(settings)
        records = kumomta_lines(stream) if mta == "kumomta" else None
        if records is not None:
            (root / "kumomta.log").write_text("".join(r + "\n" for r in records))
            stream = _replies_of(records, settings)
            events = len(records)
        want = expected(stream, Classifier(policy), settings.max_attempts)
        worker = start_worker(settings, root / "worker.log")
        click.echo(f"worker started (log: {root / 'worker.log'})", err=True)
        if web_port:
            click.echo(f"its pages: http://127.0.0.1:{web_port}/ (also /health, /metrics)",
                       err=True)
        try:
            started = time.monotonic()
            if records is not None:
                _produce_records(settings, records)
                click.echo(f"produced {events} KumoMTA log records ({root / 'kumomta.log'})",
                           err=True)
            else:
                with open(root / "events.jsonl", encoding="utf-8") as f:
                    result = produce(settings, f, on_progress=lambda n: click.echo(
                        f"\rproduced {n}/{events} replies", err=True, nl=False))
                click.echo("", err=True)
                if result.bad or result.failed:
                    raise BounceflowError(f"could not produce the stream: {result.bad[:3]} "
                                          f"{result.failed[:3]}")
            wait_drained(settings, events, lambda: worker.poll() is None,
                         timeout=max(180.0, events / 100), on_progress=lambda n: click.echo(
                             f"\rprocessed {n}/{events} replies", err=True, nl=False))
            click.echo("", err=True)
            elapsed = time.monotonic() - started
            click.echo(f"{events} replies processed in {elapsed:.1f}s "
                       f"({events / elapsed:.0f}/s, including the worker's start)", err=True)
        finally:
            code = stop_worker(worker)
            click.echo(f"worker stopped (exit code {code})", err=True)
    printed, actual = read_reports(settings)
    for kind in ("bounces", "undeliveries"):
        report = printed[kind]
        shown = Report(report.title + " by sending domain", report.columns,
                       report.rows[:SHOW_ROWS])
        click.echo("\n" + render(shown, "table"))
        if len(report.rows) > SHOW_ROWS:
            click.echo(f"... {len(report.rows) - SHOW_ROWS} more rows: bounceflow report {kind} "
                       f"--clickhouse chdb://{root}/chdb")
    click.echo("\n" + render(printed["summary"], "table") + "\n")
    diffs = compare(actual, want)
    if diffs:
        click.echo("CHECK FAILED: the reports differ from the produced stream:")
        for d in diffs:
            click.echo(f"  {d}")
        return False
    s = want["summary"]
    click.echo(f"check: the reports equal the produced stream exactly ({s['replies']} replies, "
               f"{s['messages']} messages, {s['undelivered']} undelivered, {s['suppressed']} "
               f"sends to suppressed addresses).")
    click.echo(f"Query it again: bounceflow report summary --clickhouse chdb://{root}/chdb")
    return True
