"""The adapters' shared parts: reply splitting, field specs, the data file, event ids."""

from __future__ import annotations

import pytest

from streams.adapters import common
from streams.adapters.common import Options, event_id, parse_fields, split_reply, stage_of


def test_split_reply():
    assert split_reply("550 5.1.1 <a@b.example>: unknown") == (550, "5.1.1",
                                                                 "<a@b.example>: unknown")
    assert split_reply("250-2.0.0 OK") == (250, "2.0.0", "OK")
    assert split_reply("421 Service not available") == (421, None, "Service not available")
    assert split_reply("Connection timed out") == (None, None, "Connection timed out")
    assert split_reply("250") == (250, None, "250")


def test_field_specs_and_their_errors():
    assert parse_fields(" account_id=meta.tenant, campaign_id=jobId ,") == {
        "account_id": "meta.tenant", "campaign_id": "jobId"}
    for bad in ("account=meta.x", "campaign_id", "list_id="):
        with pytest.raises(ValueError, match="ingest field"):
            parse_fields(bad)


def test_data_file_stages_and_sources():
    assert [stage_of(c) for c in ("RCPT TO", "end of DATA", ".", "MAIL FROM", None, "NOOP")] \
        == ["rcpt", "dot", "dot", "mail", None, None]
    assert Options(fields={"campaign_id": "queue.campaign"}).sources("kumomta")[
        "campaign_id"] == "queue.campaign"
    for mta in common.FORMATS:
        assert set(Options().sources(mta)) == set(common.ID_FIELDS)


def test_sender_values_by_address_then_domain():
    opts = Options(senders={"a@shop.example": {"account_id": 1}, "shop.example": {
        "account_id": 2}})
    assert opts.sender_values("A@shop.example") == {"account_id": 1}
    assert opts.sender_values("b@shop.example") == {"account_id": 2}
    assert opts.sender_values("b@other.example") == {}


def test_event_ids_are_stable_and_distinct():
    # Fixed values: a replayed log must give the ids an older version gave (blake2b-96 of the
    # fields joined by US); a change here is a change of every id downstream.
    assert event_id("kumo", "x", 1, None) == "kumo-19ae689222d1cef13f694cd1"
    assert event_id("postfix", "Mar  9 10:00:00 mail postfix/smtp[1]: 4BqR3X0Z1Tz9: "
                    "to=<a@b.example>", "a@b.example") == "postfix-92f5c0e3326bbabd7e876cfd"
    assert event_id("kumo", "x", 1) != event_id("kumo", "x", 2)
    assert event_id("kumo", "ab", "c") != event_id("kumo", "a", "bc")


def test_options_from_settings_and_their_errors(tmp_path):
    from streams.exceptions import ConfigError
    from streams.ingest.adapter_options import options_from
    from streams.settings import Settings

    senders = tmp_path / "senders.toml"
    senders.write_text('schema = "bounceflow.senders/1"\n["News@Shop.example"]\naccount_id = 7\n')
    unmarked = tmp_path / "unmarked.toml"
    unmarked.write_text('["shop.example"]\naccount_id = 7\n')
    opts = options_from(Settings.load(
        env={}, ingest_fields="campaign_id=jobId", ingest_senders_file=str(senders),
        ingest_log_utc_offset="-03:30", ingest_account_id=2, ingest_sending_ip="198.51.100.7"))
    assert (opts.fields, opts.utc_offset_s, opts.account_id, opts.sending_ip) == (
        {"campaign_id": "jobId"}, -(3 * 3600 + 30 * 60), 2, "198.51.100.7")
    assert opts.sender_values("news@shop.example") == {"account_id": 7}
    assert options_from(Settings.load(env={}, ingest_log_utc_offset="+0545")).utc_offset_s \
        == 5 * 3600 + 45 * 60
    for bad, message in [({"ingest_fields": "campaign=jobId"}, "ingest_fields"),
                         ({"ingest_log_utc_offset": "CET"}, r"is not \+HH:MM"),
                         ({"ingest_log_utc_offset": "+530"}, r"is not \+HH:MM"),
                         ({"ingest_senders_file": str(tmp_path / "none.toml")},
                          "ingest_senders_file"),
                         ({"ingest_senders_file": str(unmarked)},
                          "expected schema = 'bounceflow.senders/1'")]:
        with pytest.raises(ConfigError, match=message):
            options_from(Settings.load(env={}, **bad))
