"""The ClickHouse sink on chDB: retried batches and rewritten rows count once."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sinks.avro_rows import source_suffix
from sinks.base import Batch
from sinks.clickhouse import ClickHouseSink, connect, dead_letter_row
from sinks.ddl import INPUT_TABLES, INPUT_VIEWS, TABLE_SETTINGS, TABLES, Table, input_view
from sinks.reports import Filters, run_report
from streams.alerts import machine as alerts
from streams.classify.classifier import Classifier
from streams.ingest.codec import CLASSIFIED, HOOK, SMTP_REPLY, schema_json
from streams.runtime.processing import Source, classify_reply, dead_letter
from streams.tracking.hooks import as_dict
from streams.tracking.hooks import encode as encode_hook
from streams.tracking.machine import Limits
from streams.tracking.state import PartitionState
from tests.unit.ingest.test_codec_and_validation import EVENTS, GOOD

pytestmark = pytest.mark.integration
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def sink(tmp_path):
    client, db = connect(f"chdb://{tmp_path}/chdb")
    for table in TABLES:  # as a worker does at start: every sink sets up its table
        ClickHouseSink(client, db, table).setup()
    yield ClickHouseSink(client, db, "replies")
    client.close()


def rows(n, first=0):
    out = []
    for i in range(first, first + n):
        r = classify_reply(SMTP_REPLY.encode({**GOOD, "event_id": f"e{i}"}), Classifier())
        out.append(CLASSIFIED.encode(r) + source_suffix(0, i))
    return out


def count(sink, final=True):
    table = f"`{sink.database}`.replies" + (" FINAL" if final else "")
    return sink.client.query(f"SELECT count() FROM {table}").result_rows[0][0]


def test_a_retried_batch_is_written_once(sink):
    batch = Batch("replies", 0)
    for i, row in enumerate(rows(5)):
        batch.add(sink.encode(row), i)
    sink.write([batch])
    sink.write([batch])  # the retry after a timeout that had in fact succeeded
    assert count(sink, final=False) == 5


def test_replayed_rows_in_other_batches_count_once(sink):
    for offset, row in enumerate(rows(6)):
        sink.add(row, "replies", 0, offset)
    sink.flush()
    # After a crash the same events come again, in batches with other boundaries.
    for offset, row in enumerate(rows(4, first=2), start=2):
        sink.add(row, "replies", 0, offset)
    sink.flush()
    assert count(sink) == 6
    report = run_report(sink.client, sink.database, "summary", Filters())
    assert dict(zip(report.columns, report.rows[0]))["replies"] == 6



def test_the_same_event_twice_in_one_insert_counts_once(sink):
    """Inserts skip ClickHouse's dedup-on-insert (``optimize_on_insert``): an event read twice
    before one checkpoint (a producer's retry upstream) is two rows until a merge, and one for
    every ``FINAL`` read and report."""
    row = rows(1)[0]
    for offset in (0, 1):
        sink.add(row, "replies", 0, offset)
    sink.flush()
    assert count(sink, final=False) == 2
    assert count(sink) == 1
    report = run_report(sink.client, sink.database, "summary", Filters())
    assert dict(zip(report.columns, report.rows[0]))["replies"] == 1

def test_two_genuinely_equal_inserts_are_not_mistaken_for_a_retry(sink):
    a, b = Batch("replies", 0), Batch("replies", 1)
    a.add(sink.encode(rows(1, first=1)[0]), 0)
    b.add(sink.encode(rows(1, first=2)[0]), 0)
    sink.write([a])
    sink.write([b])
    assert count(sink, final=False) == 2


def test_chdb_takes_the_allocator_purge_and_a_build_that_refuses_it_still_gets_its_rows(sink):
    for offset, row in enumerate(rows(3)):
        sink.add(row, "replies", 0, offset)
    sink.flush()  # this chDB has jemalloc: the purge after the insert must not fail
    assert sink._purges_allocator

    refused = []
    command = sink.client.command

    def without_jemalloc(sql, *args, **kwargs):
        if "JEMALLOC" in sql:
            refused.append(sql)
            raise RuntimeError("jemalloc is not used")  # as a build without it answers
        return command(sql, *args, **kwargs)

    sink.client.command = without_jemalloc
    for first in (3, 6):
        for offset, row in enumerate(rows(3, first=first), start=first):
            sink.add(row, "replies", 0, offset)
        sink.flush()
    assert count(sink) == 9
    assert len(refused) == 1  # asked once, then left alone


def test_opening_chdb_leaves_its_optional_arrow_libraries_unloaded(tmp_path):
    # In a process of its own: another test may have imported pyarrow into this one.
    script = ("import sys; from sinks.clickhouse import connect; "
              f"client, _ = connect('chdb://{tmp_path}/chdb'); "
              "assert client.query('SELECT 1').result_rows == [(1,)]; "
              "print(sorted(m for m in ('pyarrow', 'numpy', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


GUESSES = [(452, "4.2.2", "Requested action not taken: mailbox unavailable"),  # status
            (551, None, "no"), (550, None, "no"), (250, None, "OK")]  # code, none, delivered


@pytest.mark.parametrize("with_input", [False, True], ids=["before-replies_in", "before-basis"])
def test_a_replies_table_from_an_older_version_gains_the_new_columns_and_settings(tmp_path,
                                                                                  with_input):
    """An older version's replies lack `basis` (and, before replies_in, `provider`); the one
    before had replies_in and its view, without `basis`. The next start adds the columns; the
    rows written before take the basis their rule names, the classifier's."""
    client, db = connect(f"chdb://{tmp_path}/chdb")
    replies, replies_in = TABLES["replies"], INPUT_TABLES["replies_in"]
    lacking = ("basis",) if with_input else ("provider", "basis")
    old = Table(tuple(c for c in replies.columns if c[0] not in lacking), replies.engine).ddl()
    client.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    client.command(f"CREATE TABLE `{db}`.replies ({old}")
    if with_input:
        old_in = Table(tuple(c for c in replies_in.columns if c[0] != "basis"), "Null").ddl()
        client.command(f"CREATE TABLE `{db}`.replies_in ({old_in}")
        # Its view is the current one (SELECT *): it passes the new column on as it is.
        client.command(f"CREATE MATERIALIZED VIEW `{db}`.`{input_view('replies_in')}` TO "
                       f"`{db}`.replies AS " + INPUT_VIEWS["replies_in"].format(database=db))
    classifier = Classifier()
    earlier = [classifier.classify(*g, "rcpt") for g in GUESSES] + [
        classifier.classify(e["reply_code"], e["enhanced_status"], e["reply_text"],
                            e["smtp_stage"]) for e in EVENTS]
    assert {c.basis for c in earlier} == {"text", "status", "code", "none"}
    client.command(f"INSERT INTO `{db}`.replies (event_id, rule) VALUES "
                   + ", ".join(f"('old-{i}', '{c.rule}')" for i, c in enumerate(earlier)))
    sink = ClickHouseSink(client, db, "replies")
    sink.setup()
    for row in rows(3):
        sink.add(row, "t", 0, 0)
    sink.flush()
    got = client.query(f"SELECT provider, count() FROM `{db}`.replies WHERE event_id LIKE 'e%' "
                       "GROUP BY provider")
    assert got.result_rows == [("other", 3)]
    got = dict(client.query(f"SELECT event_id, basis FROM `{db}`.replies").result_rows)
    assert got == {**{f"old-{i}": c.basis for i, c in enumerate(earlier)},
                   **{f"e{i}": "text" for i in range(3)}}
    engine = client.query(f"SELECT engine_full FROM system.tables WHERE database = '{db}' "
                          "AND name = 'replies'").result_rows[0][0]
    assert all(f"{k} = {v}" in engine for k, v in TABLE_SETTINGS.items()), engine
    client.close()


def test_hooks_tables_from_an_older_version_take_the_new_columns_through_a_new_view(tmp_path):
    """An older version's hooks, hooks_in and view lack `async` and `basis`: the next start adds
    the columns to both tables and writes through a view of the current definition, whose
    predecessor is dropped once it is in place (meanwhile both write, and FINAL folds what they
    both wrote)."""
    client, db = connect(f"chdb://{tmp_path}/chdb")
    hooks, hooks_in = TABLES["hooks"], INPUT_TABLES["hooks_in"]
    old_hooks = Table(tuple(c for c in hooks.columns if c[0] not in ("async", "basis")),
                      hooks.engine)
    old_in = Table(tuple(c for c in hooks_in.columns
                         if c[0] not in ("event_data.async", "event_data.reason_basis")), "Null")
    old_select = INPUT_VIEWS["hooks_in"].replace(
        "`event_data.async` AS async, `event_data.reason_basis` AS basis,\n", "")
    assert old_select != INPUT_VIEWS["hooks_in"]
    client.command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    client.command(f"CREATE TABLE `{db}`.hooks ({old_hooks.ddl()}")
    client.command(f"CREATE TABLE `{db}`.hooks_in ({old_in.ddl()}")
    client.command(f"CREATE MATERIALIZED VIEW `{db}`.hooks_in_mv TO `{db}`.hooks AS "
                   + old_select.format(database=db))
    sink = ClickHouseSink(client, db, "hooks")
    sink.setup()
    reply = classify_reply(SMTP_REPLY.encode(GOOD), Classifier())
    tracked = PartitionState(0, Limits(3, 600, 86400)).apply(reply)
    for offset, hook in enumerate(tracked):
        sink.add(encode_hook(hook) + source_suffix(0, offset), "t", 0, offset)
    sink.flush()
    got = client.query(f"SELECT count(), countIf(async), groupUniqArray(basis) "
                       f"FROM `{db}`.hooks FINAL").result_rows
    assert got == [(len(tracked), 0, ["text"])]
    views = client.query(f"SELECT name FROM system.tables WHERE database = '{db}' "
                         "AND engine = 'MaterializedView'").result_rows
    assert len(views) == 1 and views[0][0] != "hooks_in_mv", views


def test_rows_read_back_as_they_were_written(sink):
    """Every column type of the three sink tables, null and not, through Avro (replies, and
    hooks by way of their input table and its view) and RowBinary (dead letters)."""
    reply = classify_reply(SMTP_REPLY.encode({**GOOD, "event_time": 1_767_225_600_123}),
                           Classifier())
    state = PartitionState(0, Limits(3, 600, 86400))
    tracked, alert = state.apply(reply), alert_hook()  # as the engine and alerts.py make them
    hooks = [*map(as_dict, tracked), alert]
    letter = dead_letter("bad", Source("smtp-replies", 2, 7), None, b"\xff\x00")
    fields = [f["name"] for f in schema_json("classified_reply")["fields"]]
    written = {"replies": [[*(reply[f] for f in fields), 1, 2]],
               "hooks": [hook_columns(h, 1, 2) for h in hooks],
               "dead_letters": [dead_letter_row({**letter, "failed_at": 1_767_225_600_999}, 2, 7)]}
    added = {"replies": [CLASSIFIED.encode(reply) + source_suffix(1, 2)],
             "hooks": [*(encode_hook(h) + source_suffix(1, 2) for h in tracked),
                       HOOK.encode(alert) + source_suffix(1, 2)]}
    client = sink.client
    for table, table_rows in written.items():
        table_sink = ClickHouseSink(client, sink.database, table)
        for offset, row in enumerate(added.get(table, table_rows)):
            table_sink.add(row, "t", 0, offset)
        table_sink.flush()
        order = {"replies": "event_id", "hooks": "hook_id", "dead_letters": "source_offset"}
        got = client.query(f"SELECT * FROM `{sink.database}`.{table} ORDER BY {order[table]}")
        want = sorted(([_as_read(v) for v in row] for row in table_rows),
                      key=lambda r: r[got.column_names.index(order[table])])
        assert [list(r) for r in got.result_rows] == want, table


def hook_columns(h, partition, offset):
    """A hook as the hooks table holds it, column by column (the README's contract)."""
    d = h["event_data"]
    alert = d["alert"] or {}
    event_time = (datetime.fromisoformat(h["event_date"]) - EPOCH) // timedelta(milliseconds=1)
    return [
        h["hook_id"], h["event_type"], event_time, h["account_id"], h["profile_id"],
        h["list_id"], d["campaign_id"], h["sends_trying_num"], h["is_test"], d["event_id"],
        d["message_id"], d["email"], d["recipient_domain"], d["from_domain"], d["sending_ip"],
        d["reply_code"], d["enhanced_status"], d["reason"], d["bounce_text"], d["retry_after"],
        d["status"], d["cause"], alert.get("provider", ""), alert.get("rate"), alert.get("volume"),
        alert.get("action"), d.get("async", False), d.get("reason_basis"), partition, offset,
    ]


def _as_read(value):
    # Times are written as epoch milliseconds and read as datetimes.
    if isinstance(value, int) and not isinstance(value, bool) and value > 1_700_000_000_000:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc).replace(tzinfo=None)
    return value


def alert_hook():
    return alerts.alert_hook("alert", alerts.Window(
        "sending_ip", "192.0.2.1", "gmail", 1_767_225_600_000, 60, 120, 3, 4, "blocked", "t"))
