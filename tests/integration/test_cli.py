"""The CLI's errors are clear: one line, exit code 2 for bad arguments; produce reports bad
lines by number and still sends the good ones."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.integration.checks import read_topic
from tests.unit.ingest.test_codec_and_validation import GOOD


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["report", "nonsense"], {}, "'nonsense' is not one of"),
        (["report", "bounces", "--from", "yesterday"], {}, "is not a date"),
        (["report", "bounces", "--format", "xlsx"], {}, "needs --output"),
        (["worker", "--partitions", "0"], {}, "0 is not in the range"),
        (["settings"], {"BOUNCEFLOW_PARTITIONS": "many"}, "partitions must be int"),
        (["frobnicate"], {}, "No such command"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(settings_factory, args, env, message):
    done = run_cli(settings_factory(), *args, env=env)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_produce_reports_bad_lines_and_sends_the_good(settings_factory):
    settings = settings_factory()
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps({**GOOD, "event_id": "e2", "reply_code": 999}),
        json.dumps({**GOOD, "event_id": "e3", "event_time": "2026-01-02T03:04:05Z"}),
        json.dumps({**GOOD, "account_id": "x"}),
    ]
    done = run_cli(settings, "produce", "-", "--quiet", stdin="\n".join(lines) + "\n")
    assert done.returncode == 1
    assert "line 2: not JSON" in done.stderr
    assert "line 3: reply_code 999 is outside 200-599" in done.stderr
    assert "line 5: does not match the SmtpReply schema" in done.stderr
    assert "sent 2 records" in done.stderr
    assert len(read_topic(settings, settings.topic_replies)) == 2


def test_classify_command_explains(settings_factory):
    settings = settings_factory()
    line = json.dumps({"reply_code": 550, "enhanced_status": "5.1.1",
                       "reply_text": "550 5.1.1 <a@b.com>: User unknown", "smtp_stage": "rcpt"})
    done = run_cli(settings, "classify", "--explain", "--policy", "recipient",
                   stdin=line + "\n[1]\n")
    out = json.loads(done.stdout.splitlines()[0])
    assert (out["kind"], out["reason"], out["suppress"]) == ("hard", "userunknown", True)
    assert out["bounce_text"] == "550 5.1.1 <<EMAIL>>: User unknown"
    assert "userunknown" in out["explain"]
    assert done.returncode == 1 and "line 2:" in done.stderr


def test_report_before_any_worker_ran_says_so(settings_factory):
    done = run_cli(settings_factory(), "report", "summary")
    assert done.returncode == 1
    assert done.stderr.strip() == ("bounceflow: no bounceflow tables in database bounceflow: "
                                   "has a worker written to this ClickHouse yet?")


def test_secrets_never_reach_the_output(settings_factory):
    """A worker that cannot reach its ClickHouse says so, without the passwords it was given."""
    settings = settings_factory(
        clickhouse_dsn="https://analyst:dsn-s3cret@127.0.0.1:1/bounceflow",
        kafka_sasl_mechanism="PLAIN", kafka_sasl_username="svc",
        kafka_sasl_password="kafka-s3cret",
    )
    done = run_cli(settings, "worker", env={"BOUNCEFLOW_LOG_LEVEL": "debug"})
    assert done.returncode == 1
    assert "cannot open ClickHouse at https://analyst:***@127.0.0.1:1" in done.stderr
    output = done.stdout + done.stderr
    assert "s3cret" not in output
    assert "kafka_sasl_password" in output  # the settings were logged, masked
