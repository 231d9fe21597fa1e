"""`bounceflow ingest` on the local broker: MTA logs reach the reports with what they mean, bad
lines are counted, and a restart (after a crash mid-chunk, or a kill -9 of --follow) neither
loses nor repeats a reply."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from bench.ingest import postfix_lines
from streams.adapters.common import Options, Skip
from streams.adapters.postfix import Postfix
from streams.classify.classifier import Classifier
from streams.ingest.codec import DEAD_LETTER, SMTP_REPLY
from streams.ingest.files import Ingest
from streams.local.reference import SUMMARY_KEYS, expected
from streams.local.synth import generate
from streams.local.testing import worker_env
from streams.runtime.topics import ensure_topics
from tests.conftest import report_json, run_cli
from tests.integration.checks import read_topic, wait_until
from tests.unit.adapters import test_exim, test_kumomta, test_postfix, test_powermta

pytestmark = pytest.mark.integration
UTC = {"ingest_log_utc_offset": "+00:00", "ingest_sending_ip": "203.0.113.10"}


def topic_replies(settings) -> list[dict]:
    return [SMTP_REPLY.decode(m.value()) for m in read_topic(settings, settings.topic_replies)]


def test_four_formats_reach_the_reports_with_what_they_mean(settings_factory, worker_factory,
                                                              tmp_path):
    settings = settings_factory(**UTC)
    kumo = [test_kumomta.record(), test_kumomta.transient(1), test_kumomta.record("Reception"),
            test_kumomta.expiration(1)]
    kumo_path = tmp_path / "log.zst"  # a KumoMTA segment, zstd-compressed
    kumo_path.write_bytes(zstandard.ZstdCompressor().compress(
        b"".join(json.dumps(r).encode() + b"\n" for r in kumo) + b'{"type": "Deliv'))
    inputs = {
        "kumomta": [str(kumo_path)],
        "postfix": [_write(tmp_path / "maillog", test_postfix.LOG)],
        "powermta": [_write(tmp_path / "acct.csv", [test_powermta.HEADER, *test_powermta.ROWS])],
        "exim": [_write(tmp_path / "mainlog", test_exim.LOG)],
    }
    summaries = {}
    for fmt, paths in inputs.items():
        done = run_cli(settings, "ingest", "--format", fmt, *paths, "--quiet")
        summaries[fmt] = done.stderr
        assert done.returncode == (1 if fmt == "kumomta" else 0), done.stderr
    assert "bad 1: not JSON" in summaries["kumomta"]  # the segment's cut last record
    assert "skipped 1: Reception record" in summaries["kumomta"]

    replies = topic_replies(settings)
    # What the samples mean, by format: (delivered, soft, hard, undelivered)
    # KumoMTA: delivery, mailbox-full retry, expiry; Postfix: sent, two deferrals, expiry;
    # PowerMTA: delivered, transient, user unknown, given up; Exim: delivered, deferred,
    # user unknown, retry timeout.
    assert len(replies) == 3 + 4 + 4 + 4
    worker = worker_factory(settings)
    worker.wait(len(replies))
    assert worker.stop() == 0
    summary = report_json(settings, "summary")
    assert (summary["delivered"], summary["soft_bounces"], summary["hard_bounces"],
            summary["undelivered"], summary["dead_letters"]) == (4, 9, 2, 4, 0)
    want = expected(replies, Classifier(settings.policy), settings.max_attempts)
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: want["summary"][k]
                                                     for k in SUMMARY_KEYS}
    # c@mail.example, unknown in the PowerMTA and the Exim sample; never an expired address
    assert want["summary"]["suppressed"] == 1
    undeliveries = report_json(settings, "undeliveries")
    assert sorted(r["bounce_text"] for r in undeliveries) == sorted(
        ["452 Mailbox full", "452 Mailbox full, try later",
         "452 Mailbox full, try again later",
         "connect to <HOST><IP4:PORT>: Connection timed out"]), undeliveries


def _write(path: Path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


class Crash(Exception):
    pass


class CrashAfterProduce(Ingest):
    """Dies once Kafka acknowledged its first chunk, before the state file records it."""

    def _write(self, pending):
        if pending is None and self.summary.replies:
            raise Crash
        super()._write(pending)


def synth_postfix(n: int, seed: int = 5) -> list[str]:
    """A Postfix log of the demo's stream (bench/ingest.py renders it)."""
    return postfix_lines(list(generate(n, seed=seed)))


def uninterrupted(lines: list[str]) -> list[dict]:
    """The replies of one uninterrupted pass of the adapter over ``lines``."""
    pf = Postfix(Options(utc_offset_s=0, sending_ip="203.0.113.10"))
    out = []
    for line in lines:
        got = pf.line(line)
        if not isinstance(got, Skip):
            out.extend(got)
    return out


def ids(replies: list[dict]) -> Counter:
    return Counter(r["event_id"] for r in replies)


def test_a_crash_after_produce_before_the_state_is_written_repeats_nothing(settings_factory,
                                                                           tmp_path):
    settings = settings_factory(**UTC)
    ensure_topics(settings)
    lines = synth_postfix(600)
    path = _write(tmp_path / "maillog", lines)
    state = str(tmp_path / "ingest.state")
    with pytest.raises(Crash):
        CrashAfterProduce(settings, "postfix", [path], state, chunk_lines=250).run()
    summary = Ingest(settings, "postfix", [path], state, chunk_lines=250).run()
    assert summary.already > 0 and summary.bad == Counter()
    assert ids(topic_replies(settings)) == ids(uninterrupted(lines))  # every reply once


def test_kill_9_of_follow_mid_file_then_restart_gives_the_same_replies(settings_factory,
                                                                       worker_factory, tmp_path):
    settings = settings_factory(**UTC)
    lines = synth_postfix(6000, seed=9)
    log = tmp_path / "maillog"
    state = tmp_path / "ingest.state"
    log.write_text("")
    cmd = [sys.executable, "-m", "streams.cli", "ingest", "--format", "postfix", "--follow",
           "--state", str(state), "--quiet", str(log)]
    env = worker_env(settings)

    def start():
        return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)

    ingest = start()
    try:
        out = log.open("a")
        for i in range(0, len(lines), 200):
            out.write("".join(line + "\n" for line in lines[i:i + 200]))
            out.flush()
            time.sleep(0.02)
            if i == 2000:  # mid-file, while lines are arriving and being produced
                wait_until(lambda: len(read_topic(settings, settings.topic_replies)) > 0)
                ingest.kill()
                ingest.wait()
                ingest = start()
            if i == 4000:  # rotation: the rest goes to a new file
                out.close()
                os.rename(log, tmp_path / "maillog.1")
                out = log.open("a")
        out.close()
        size = log.stat().st_size
        wait_until(lambda: state.exists() and f'"offset": {size}' in state.read_text(), 60)
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(30) == 0, ingest.stderr.read()
    finally:
        if ingest.poll() is None:
            ingest.kill()
            print(ingest.communicate()[1][-3000:])

    replies, once = topic_replies(settings), uninterrupted(lines)
    assert ids(replies) == ids(once)
    assert sorted(replies, key=lambda r: r["event_id"]) == sorted(once,
                                                                 key=lambda r: r["event_id"])

    worker = worker_factory(settings)
    worker.wait(len(replies))
    assert worker.stop() == 0
    want = expected(once, Classifier(settings.policy), settings.max_attempts)
    summary = report_json(settings, "summary")
    assert {k: summary[k] for k in SUMMARY_KEYS} == {k: want["summary"][k]
                                                     for k in SUMMARY_KEYS}


def test_stdin_and_usage_errors(settings_factory, tmp_path):
    settings = settings_factory(**UTC)
    log = "".join(line + "\n" for line in test_postfix.LOG)
    done = run_cli(settings, "ingest", "--format", "postfix", "-", stdin=log)
    assert done.returncode == 0, done.stderr
    assert "lines read 8, replies produced 4" in done.stderr
    assert len(topic_replies(settings)) == 4
    for args in (["--format", "postfix", "--follow", "-"], ["--format", "sendmail", "x"],
                 ["--format", "exim", str(tmp_path / "missing")]):
        done = run_cli(settings, "ingest", *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


def test_bad_lines_are_dead_lettered_with_their_reason_and_byte_offset(settings_factory,
                                                                        tmp_path):
    settings = settings_factory(**UTC)
    ensure_topics(settings)
    good = test_postfix.LOG[3]
    cut = good[: len(good) // 2 + 20]  # a to= line cut mid-field
    lines = [good, "", cut, good.replace("Mar  9 10", "Mar 39 10")]
    path = tmp_path / "mail.log"
    path.write_text("".join(line + "\n" for line in lines))
    summary = Ingest(settings, "postfix", [str(path)]).run()
    assert summary.replies == 1 and sum(summary.bad.values()) == 2  # the counts stay
    dead = sorted((DEAD_LETTER.decode(m.value()) for m in
                   read_topic(settings, settings.topic_dead_letters)),
                  key=lambda d: d["source_offset"])
    starts = [len(good) + 2, len(good) + 2 + len(cut) + 1]
    assert [(d["source_topic"], d["source_partition"], d["source_offset"], d["value"])
            for d in dead] == [(f"file:{path}", 0, starts[0], cut.encode()),
                               (f"file:{path}", 0, starts[1], lines[3].encode())]
    assert dead[0]["reason"] == "postfix: cut Postfix to= line"
    assert dead[1]["reason"].startswith("postfix: bad timestamp")
