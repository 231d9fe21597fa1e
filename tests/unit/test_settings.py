"""Settings: precedence, coercion, clear errors, secrets never shown."""

import pytest

from streams.exceptions import ConfigError
from streams.settings import Settings, describe, markdown_table


def test_precedence_flags_over_env_over_file(tmp_path):
    f = tmp_path / "bf.toml"
    f.write_text('partitions = 8\npolicy = "recipient"\nkafka_bootstrap = "file:9092"\n')
    s = Settings.load(f, env={"BOUNCEFLOW_PARTITIONS": "6"}, kafka_bootstrap="flag:9092")
    assert (s.partitions, s.policy, s.kafka_bootstrap) == (6, "recipient", "flag:9092")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOUNCEFLOW_PARTITIONS": "many"}, "BOUNCEFLOW_PARTITIONS: partitions must be int"),
        ({"BOUNCEFLOW_POLICY": "nuke"}, "policy must be one of"),
        ({"BOUNCEFLOW_PARTITIONS": "0"}, "at least 1"),
        ({"BOUNCEFLOW_PRODUCE_LINGER_MS": "-5"}, "produce_linger_ms must be 0 or more"),
    ],
)
def test_bad_values_are_clear(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env)


def test_unknown_file_settings_are_rejected(tmp_path):
    f = tmp_path / "bf.toml"
    f.write_text("partitons = 3\n")
    with pytest.raises(ConfigError, match="unknown settings partitons"):
        Settings.load(f, env={})


def test_secrets_are_redacted():
    s = Settings.load(env={"BOUNCEFLOW_KAFKA_SASL_PASSWORD": "hunter2",
                           "BOUNCEFLOW_CLICKHOUSE_DSN": "https://bob:s3cret@ch:8443/db"})
    shown = str(s.redacted())
    assert "hunter2" not in shown and "s3cret" not in shown
    assert "https://bob:***@ch:8443/db" in shown


def test_every_setting_is_documented():
    assert all(doc for _, _, doc in describe())


def test_the_configuration_table_lists_every_setting_with_its_default():
    # tests/unit/test_docs.py keeps docs/configuration.md equal to this table
    table = markdown_table()
    for variable, default, doc in describe():
        assert f"| `{variable}` | `{default}` | {doc} |" in table, variable
    assert table.count("\n| `BOUNCEFLOW_") == len(describe())


@pytest.mark.parametrize(("cores", "partitions", "expected"),
                         [(1, 4, 1), (2, 4, 2), (8, 8, 4), (8, 3, 3)])
def test_the_default_processes_are_one_per_core_at_most_4_and_the_partitions(
        monkeypatch, cores, partitions, expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    settings = Settings.load(env={}, partitions=partitions)
    assert settings.processes == 0 and settings.engine_processes() == expected
    assert Settings.load(env={"BOUNCEFLOW_PROCESSES": "3"}).engine_processes() == 3


def test_negative_processes_are_refused():
    with pytest.raises(ConfigError, match="processes must be 0"):
        Settings.load(env={"BOUNCEFLOW_PROCESSES": "-1"})
