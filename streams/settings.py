"""One frozen settings object; the environment and the config file are read here and nowhere else.

Precedence: explicit overrides (CLI flags) > environment (``BOUNCEFLOW_*``) > config file (TOML,
``--config`` or ``BOUNCEFLOW_CONFIG``) > defaults.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from streams.exceptions import ConfigError

# The suppression policies are the tables of the rules' policies file (the classifier reads the
# rest of it); read here without importing the classifier, which every module would then load.
POLICIES = tuple(name for name, table in tomllib.loads(
    (Path(__file__).parent / "classify" / "rules" / "policies.toml").read_text("utf-8")).items()
    if isinstance(table, dict))
LOG_LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}
INPUT_FORMATS = ("avro", "kumomta", "json")


def _setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = _setting(
        "127.0.0.1:9092", "Kafka bootstrap servers, host:port[,host:port]."
    )
    clickhouse_dsn: str = _setting(
        "chdb:///./bounceflow-data/chdb",
        "chdb:///dir (embedded, one process at a time) or http(s)://user:password@host:port/db.",
    )
    partitions: int = _setting(
        4, "Partitions of every bounceflow topic: the unit of parallelism across workers."
    )
    policy: str = _setting(
        "altcraft",
        "altcraft: every hard bounce suppresses. recipient: only failures caused by the "
        "address (unknown user or host, moved, not accepting mail) suppress.",
    )
    app_id: str = _setting(
        "bounceflow", "The consumer group, and the prefix of the changelog topics."
    )
    topic_replies: str = _setting("smtp-replies", "Input topic of SmtpReply records.")
    topic_classified: str = _setting("classified-replies", "Classified replies, keyed by address.")
    topic_hooks: str = _setting("action-hooks", "ActionHook output topic.")
    topic_dead_letters: str = _setting("dead-letters", "Input that could not be processed.")
    replication_factor: int = _setting(1, "Replication factor of topics bounceflow creates.")
    max_attempts: int = _setting(
        5, "A soft bounce on this attempt (or later) makes the message undelivered."
    )
    message_lifetime_s: int = _setting(
        86400, "A soft-bounced message with no reply for this long (event time) is undelivered."
    )
    default_retry_s: int = _setting(
        600, "Retry delay announced in sbounce hooks when the reply text names none."
    )
    escalate_soft_bounces: int = _setting(
        0,
        "Suppress an address after this many soft bounces within escalate_window_days "
        "(a status hook with cause soft_bounces); 0 turns escalation off.",
    )
    escalate_window_days: float = _setting(
        7.0, "The window of escalate_soft_bounces, in days of event time."
    )
    alert_check_s: float = _setting(
        10.0,
        "How often (wall time) the worker that owns partition 0 evaluates closed provider-health "
        "windows for alert and recovered hooks; 0 turns alerts off.",
    )
    alert_window_minutes: int = _setting(
        1, "The tumbling window alerts are decided on: 1 (minute) or 60 (hour)."
    )
    alert_raise_rate: float = _setting(
        0.3, "A window whose (blocks + deferrals) / replies reaches this raises an alert."
    )
    alert_clear_rate: float = _setting(
        0.1, "A window at or below this recovers the pair (hysteresis: between, nothing changes)."
    )
    alert_min_volume: int = _setting(
        100, "Windows with fewer replies for a pair decide nothing for it."
    )
    alert_grace_s: float = _setting(
        60.0,
        "A window is evaluated once every partition's latest event time is this far past its "
        "end: replies later than that are counted in ClickHouse but not in the alert decision.",
    )
    hooks_file: str = _setting(
        "",
        "A TOML file of hook subscriptions (HTTP, RabbitMQ): a worker given one delivers to "
        "them and shows their figures in its health; `bounceflow deliver` does it in a process "
        "of its own (docs/hooks.md).",
    )
    rules_file: str = _setting(
        "", "A rules file of your own, tried before the built-in rules (same TOML schema)."
    )
    sink_batch_size: int = _setting(
        20000,
        "Most rows in one ClickHouse insert: larger is faster (an insert has a fixed cost of "
        "10-20 ms on chDB), smaller flushes sooner.",
    )
    sink_batch_seconds: float = _setting(
        1.0, "Longest a row waits for its batch: bounds report lag."
    )
    session_timeout_s: float = _setting(
        10.0,
        "Kafka consumer session timeout. A new group's first join waits about half of it; "
        "shorter detects a dead worker sooner, too short evicts a busy one.",
    )
    produce_linger_ms: int = _setting(
        20,
        "How long the worker's producer gathers a partition's records into one batch: fewer, "
        "larger batches are fewer requests for the broker; a hook waits up to this long more.",
    )
    processes: int = _setting(
        0,
        "Engine processes in this worker, each a consumer in the group; the worker's own process "
        "owns ClickHouse (chDB allows one) and serves /health. Python runs one engine on one "
        "core: 0 (the default) is one per core the worker may use, at most 4 and at most "
        "`partitions` (docs/performance.md).",
    )
    web_port: int = _setting(
        0,
        "Port of the web pages (/health, /metrics, the reports) of `bounceflow worker` and "
        "`bounceflow deliver`; 0 disables them. `bounceflow serve` takes its own --port.",
    )
    web_host: str = _setting(
        "127.0.0.1",
        "Address the web pages listen on. Anything but a loopback address needs web_token or "
        "web_user and web_password: the pages show reports and addresses.",
    )
    web_token: str = _setting(
        "", "Bearer token the web pages ask for (Authorization: Bearer ...); never logged."
    )
    web_user: str = _setting("", "User name of the web pages' basic auth (with web_password).")
    web_password: str = _setting("", "Password of the web pages' basic auth; never logged.")
    log_level: str = _setting("info", "Worker log level: debug, info, warn or error.")
    kafka_security_protocol: str = _setting(
        "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str = _setting("", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")
    kafka_sasl_username: str = _setting("", "SASL user name.")
    kafka_sasl_password: str = _setting("", "SASL password; never logged.")
    kafka_ssl_cafile: str = _setting("", "CA bundle for SSL/SASL_SSL; empty uses the system's.")

    max_message_bytes: int = _setting(
        2 * 1024 * 1024,
        "Largest record a worker reads or writes. A dead letter carries the raw input plus its "
        "reason, so keep this above the input topic's max.message.bytes; the dead-letter topic "
        "is created with it.",
    )
    schema_ids: str = _setting(
        "",
        "Confluent Schema Registry ids (comma-separated) under which producers registered the "
        "SmtpReply schema. A framed record with another id goes to dead-letters: bounceflow "
        "never guesses at a writer schema it does not know.",
    )
    input_format: str = _setting(
        "avro",
        "What the input topic holds: avro (SmtpReply), kumomta (KumoMTA's own JSON log "
        "records) or json (SmtpReply objects as JSON).",
    )
    ingest_account_id: int = _setting(
        0, "`bounceflow ingest`: the account id of a record whose MTA names none."
    )
    ingest_sending_ip: str = _setting(
        "", "`bounceflow ingest`: the sending IP of records whose MTA does not log it (Postfix)."
    )
    ingest_fields: str = _setting(
        "",
        "`bounceflow ingest`: where account_id, campaign_id, list_id and profile_id come from, "
        "e.g. campaign_id=queue.campaign,account_id=meta.tenant; overrides the built-in "
        "sources (each MTA's page in the docs lists them).",
    )
    ingest_senders_file: str = _setting(
        "",
        "`bounceflow ingest`: a TOML file of id values per envelope sender or sender domain "
        "(schema = \"bounceflow.senders/1\", then [\"news@shop.example\"] account_id = 7), "
        "read by sources sender.<field>.",
    )
    ingest_log_utc_offset: str = _setting(
        "",
        "`bounceflow ingest`: the zone of log times that carry none (syslog, Exim), as +HH:MM; "
        "empty: this host's.",
    )
    ingest_secret: str = _setting(
        "",
        "`bounceflow ingest serve`: a shared secret the log hook sends as a bearer token "
        "(Authorization: Bearer <secret>); required when --listen is not a loopback address; "
        "empty: no authentication. Never logged.",
    )
    topic_mail: str = _setting(
        "bounce-mail",
        "Mail received by `bounceflow ingest smtp` or read from mailboxes: the raw message, "
        "keyed by its SHA-256, before it is parsed (docs/dsn.md).",
    )
    mail_bounce_domain: str = _setting(
        "",
        "The bounce (Return-Path) domain whose MX is `bounceflow ingest smtp`: mail to any "
        "other domain is refused with 550.",
    )
    mail_verp_pattern: str = _setting(
        "bounces+{token}@{domain}",
        "The return path of each message and recipient: {token} carries the message id, the "
        "recipient and their HMAC, {domain} is mail_bounce_domain (docs/dsn.md).",
    )
    mail_verp_secret: str = _setting(
        "",
        "The HMAC key of VERP tokens (shared with whatever writes the return paths); empty: "
        "no VERP, bounces correlate by the returned Message-ID only. Never logged.",
    )
    mail_correlate: str = _setting(
        "verp,message-id",
        "How a bounce finds its message and recipient, in order: verp (the signed return "
        "path), message-id (the returned message's Message-ID: anyone who saw it can forge "
        "that bounce). `verp` alone trusts signed return paths only.",
    )
    mail_max_bytes: int = _setting(
        1_000_000,
        "Largest mail `ingest smtp` accepts (552 above it) and `ingest --format mail` reads; "
        "keep it below the mail topic's max.message.bytes (created with this plus 64 KiB).",
    )

    def __post_init__(self) -> None:
        self.accepted_schema_ids()
        if self.policy not in POLICIES:
            raise ConfigError(
                f"policy must be one of {', '.join(POLICIES)}, not {self.policy!r}"
            )
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"log_level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        if self.alert_window_minutes not in (1, 60):
            raise ConfigError(
                f"alert_window_minutes must be 1 or 60, not {self.alert_window_minutes}"
            )
        if not 0 <= self.alert_clear_rate < self.alert_raise_rate <= 1:
            raise ConfigError("alert rates need 0 <= alert_clear_rate < alert_raise_rate <= 1")
        for name in ("partitions", "max_attempts", "sink_batch_size", "replication_factor",
                     "max_message_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.processes < 0:
            raise ConfigError(f"processes must be 0 (one per core) or more, not {self.processes}")
        if self.input_format not in INPUT_FORMATS:
            raise ConfigError(f"input_format must be one of {', '.join(INPUT_FORMATS)}, "
                              f"not {self.input_format!r}")
        if not self.mail_ways() or set(self.mail_ways()) - {"verp", "message-id"}:
            raise ConfigError("mail_correlate must list verp and/or message-id, not "
                              f"{self.mail_correlate!r}")
        if self.produce_linger_ms < 0:
            raise ConfigError(f"produce_linger_ms must be 0 or more, not {self.produce_linger_ms}")

    def engine_processes(self) -> int:
        """``processes`` resolved: 0 is one per core this process may run on, at most 4 (a
        loop's Python takes a core; chDB and the broker want some too) and at most
        ``partitions`` (an engine without a partition idles)."""
        if self.processes:
            return self.processes
        return max(1, min(len(os.sched_getaffinity(0)), 4, self.partitions))

    def mail_ways(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.mail_correlate.split(",") if w.strip())

    def accepted_schema_ids(self) -> frozenset[int]:
        try:
            return frozenset(int(i) for i in self.schema_ids.replace(" ", "").split(",") if i)
        except ValueError:
            raise ConfigError(
                f"schema_ids must be comma-separated integers, not {self.schema_ids!r}"
            ) from None

    @property
    def topic_repartition(self) -> str:
        """The app's own topic of classified replies on their way to the worker that holds
        their address's state (as Faust names its internal topics after the app)."""
        return f"{self.app_id}-classified-repartition"

    @property
    def mail_record_bytes(self) -> int:
        """The mail topic's largest record: a mail, the field the receiver adds, the framing."""
        return self.mail_max_bytes + 64 * 1024

    @property
    def topics(self) -> tuple[str, str, str, str]:
        return (self.topic_replies, self.topic_classified, self.topic_hooks,
                self.topic_dead_letters)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict that is safe to log: secrets and DSN passwords masked."""
        out = dataclasses.asdict(self)
        for secret in ("kafka_sasl_password", "web_token", "web_password", "ingest_secret",
                       "mail_verp_secret"):
            if out[secret]:
                out[secret] = "***"
        out["clickhouse_dsn"] = redact_dsn(self.clickhouse_dsn)
        return out

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        config_file = config_file or env.get("BOUNCEFLOW_CONFIG")
        if config_file:
            values.update(_read_file(Path(config_file)))
        for f in fields(cls):
            raw = env.get(env_var(f.name))
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw, env_var(f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def env_var(name: str) -> str:
    return f"BOUNCEFLOW_{name.upper()}"


def redact_dsn(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    if sep and "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return dsn


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, doc) for every setting: `bounceflow settings` and
    docs/configuration.md."""
    return [(env_var(f.name), repr(f.default), f.metadata["doc"]) for f in fields(Settings)]


CONFIGURATION_INTRO = """\
# Configuration

<!-- Generated from streams/settings.py by `bounceflow settings --markdown`: do not edit. -->

Settings come from flags, then `BOUNCEFLOW_*` environment variables, then a TOML file
(`--config FILE` or `BOUNCEFLOW_CONFIG`; keys are the lower-case names without the prefix), then
the defaults below. `bounceflow settings` prints the values in force (secrets masked); a bad value
or an unknown key in the file stops the command with one line and exit code 2.
"""


def markdown_table() -> str:
    """docs/configuration.md: every setting's variable, default and meaning, as one table."""
    rows = ["| `{}` | `{}` | {} |".format(env, default, doc.replace("|", "\\|"))
            for env, default, doc in describe()]
    return "\n".join([CONFIGURATION_INTRO, "| variable | default | meaning |",
                      "| --- | --- | --- |", *rows, ""])


_TYPES = {"int": int, "float": float, "str": str}


def _coerce(name: str, type_name: Any, raw: Any, source: str) -> Any:
    convert = _TYPES[type_name if isinstance(type_name, str) else type_name.__name__]
    try:
        return convert(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}: {name} must be {convert.__name__}, not {raw!r}"
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"config file {path}: unknown settings {', '.join(unknown)}")
    return {k: _coerce(k, known[k].type, v, str(path)) for k, v in data.items()}
