"""The ``bounceflow`` command."""

from __future__ import annotations

import json
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from streams.exceptions import BounceflowError, ConfigError
from streams.settings import LOG_LEVELS, POLICIES, Settings, describe, markdown_table
from streams.web.forms import parse_time


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    return Settings.load(ctx.obj.get("config"), **overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.version_option(package_name="bounceflow")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """bounceflow: classify SMTP replies from Kafka, keep per-recipient state, emit action hooks
    and exact ClickHouse reports.

    Start with `bounceflow demo`: it runs the whole pipeline on a local broker and embedded
    ClickHouse and checks the reports against what it produced.
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Loopback port (default: a free one).")
def broker(port: int | None) -> None:
    """Run the local Kafka-protocol broker (Tansu) in the foreground.

    Prints its bootstrap address; stops on Ctrl-C or SIGTERM. Memory storage: topics are lost
    when it stops."""
    from streams.local.broker import LocalBroker

    with LocalBroker(port=port) as b:
        click.echo(b.bootstrap)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            assert b.process is not None
            b.process.wait()
        except KeyboardInterrupt:
            pass


_bootstrap_option = click.option(
    "--bootstrap", help="Kafka bootstrap servers (BOUNCEFLOW_KAFKA_BOOTSTRAP)."
)


@cli.command()
@_bootstrap_option
@click.option("--clickhouse", help="ClickHouse DSN (BOUNCEFLOW_CLICKHOUSE_DSN).")
@click.option("--partitions", type=click.IntRange(1), help="Topic partitions.")
@click.option("--policy", type=click.Choice(POLICIES), help="Suppression policy.")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False), help="Your rules file.")
@click.option("--log-level", type=click.Choice(list(LOG_LEVELS)))
@click.option("--processes", type=click.IntRange(0),
              help="Engine processes (BOUNCEFLOW_PROCESSES); default 0: one per core, at most "
                   "4.")
@click.pass_context
def worker(ctx: click.Context, bootstrap: str | None, clickhouse: str | None,
           partitions: int | None, policy: str | None, rules: str | None,
           log_level: str | None, processes: int | None) -> None:
    """Run a worker: classify, track state, emit hooks, write to ClickHouse.

    Creates the topics if they do not exist. Stops cleanly on SIGTERM or Ctrl-C. Start more
    workers with the same settings to share the partitions. Every setting can also be given as
    an environment variable or in a TOML file (--config); `bounceflow settings` lists them."""
    from streams.runtime.worker import run_worker

    run_worker(_settings(ctx, kafka_bootstrap=bootstrap, clickhouse_dsn=clickhouse,
                         partitions=partitions, policy=policy, rules_file=rules,
                         log_level=log_level, processes=processes))


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@_bootstrap_option
@click.option("--topic", help="Target topic (default: BOUNCEFLOW_TOPIC_REPLIES, smtp-replies).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def produce(ctx: click.Context, file: Any, bootstrap: str | None, topic: str | None,
            quiet: bool) -> None:
    """Send SmtpReply records from FILE (JSON Lines, `-` for stdin) to Kafka as Avro.

    One JSON object per line with the fields of schemas/smtp_reply.avsc; event_time as epoch
    milliseconds or RFC 3339. Bad lines are reported with their number and reason on stderr and
    the good lines are still sent. Exit code 0: all sent; 1: some lines were bad or failed."""
    from streams.ingest.produce import produce as run
    from streams.runtime.topics import ensure_topics

    settings = _settings(ctx, kafka_bootstrap=bootstrap, topic_replies=topic)
    ensure_topics(settings)

    def progress(n: int) -> None:
        if not quiet:
            click.echo(f"\rsent {n}", err=True, nl=False)

    result = run(settings, file, on_progress=progress)
    if not quiet:
        click.echo("", err=True)
    for number, reason in result.bad:
        click.echo(f"line {number}: {reason}", err=True)
    for failure in result.failed[:20]:
        click.echo(f"delivery failed: {failure}", err=True)
    click.echo(f"sent {result.sent - len(result.failed)} records to {settings.topic_replies}, "
               f"{len(result.bad)} bad lines, {len(result.failed)} delivery failures", err=True)
    if result.bad or result.failed:
        sys.exit(1)


class _FilesByDefault(click.Group):
    """``bounceflow ingest FILE...`` reads files; ``bounceflow ingest serve`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["files", *args]
        return super().parse_args(ctx, args)


_INGEST_FORMATS = ("kumomta", "postfix", "powermta", "exim", "mail")


def _host_port(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    """``--listen HOST:PORT`` (``[::1]:25`` too) as (host, port); host "" when not given."""
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (port 0-65535)")
    return host.strip("[]"), int(port)


@cli.group(cls=_FilesByDefault)
def ingest() -> None:
    """Read what MTAs emit (KumoMTA, Postfix, PowerMTA, Exim) and produce it as SmtpReply.

    `bounceflow ingest --format postfix /var/log/mail.log` reads files (the default command,
    `ingest files`); `bounceflow ingest serve --format kumomta` receives KumoMTA's log hooks.
    docs/mta/<name>.md has each MTA's field mapping and configuration. Bounces that arrive later
    by mail: `ingest smtp` (the bounce domain's MX) and `ingest --format mail` (docs/dsn.md)."""


@ingest.command("files")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(_INGEST_FORMATS), required=True,
              help="What the files hold.")
@click.option("--follow", is_flag=True,
              help="Keep reading as the log grows, across rotation, until Ctrl-C or SIGTERM.")
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="Where the position and open correlation are kept, so a restart neither "
                   "loses nor repeats an event (default with --follow: "
                   "./bounceflow-ingest-FORMAT.state).")
@_bootstrap_option
@click.option("--topic", help="Target topic (default: BOUNCEFLOW_TOPIC_REPLIES, smtp-replies).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def ingest_files(ctx: click.Context, files: tuple[str, ...], fmt: str, follow: bool,
                 state_file: str | None, bootstrap: str | None, topic: str | None,
                 quiet: bool) -> None:
    """Read MTA logs from FILES (`-` for stdin; zstd-compressed KumoMTA segments directly) and
    produce one SmtpReply per reply to the replies topic. Bad lines go to the dead-letters
    topic with their reason and byte offset. Prints a summary: lines read, replies produced,
    skipped and bad lines by reason. Exit code 1 if some lines were bad.
    `--format mail`: Maildirs, mbox or .eml files of bounces and auto-replies (docs/dsn.md)."""
    if fmt == "mail":
        if follow or state_file:
            raise click.UsageError("--format mail reads each mailbox once: no --follow or --state")
        _ingest_mail(ctx, files, bootstrap)
        return
    from streams.ingest.files import Ingest
    from streams.runtime.topics import ensure_topics

    if "-" in files and (follow or len(files) > 1):
        raise click.UsageError("`-` (stdin) is read alone and cannot be followed")
    for f in files:
        if f != "-" and not Path(f).is_file():
            raise click.BadParameter(f"{f!r} is not a file", param_hint="FILES")
    if follow and not state_file:
        state_file = f"bounceflow-ingest-{fmt}.state"
    settings = _settings(ctx, kafka_bootstrap=bootstrap, topic_replies=topic)
    ensure_topics(settings)
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):  # stop between chunks, the state written
        signal.signal(sig, lambda *_: stop.append(1))

    def progress(summary: Any) -> None:
        if not quiet:
            click.echo(f"\rlines {summary.lines}, replies {summary.replies}", err=True, nl=False)

    summary = Ingest(settings, fmt, list(files), state_file, follow).run(lambda: bool(stop),
                                                                         progress)
    if not quiet:
        click.echo("", err=True)
    click.echo("\n".join(summary.lines_text()), err=True)
    if summary.bad:
        sys.exit(1)


@ingest.command("serve")
@click.option("--format", "fmt", type=click.Choice(["kumomta"]), required=True,
              help="What the POSTs hold: KumoMTA log hook records.")
@click.option("--listen", default="127.0.0.1:8040", show_default=True, callback=_host_port,
              help="HOST:PORT. Beyond loopback only with BOUNCEFLOW_INGEST_SECRET set.")
@_bootstrap_option
@click.option("--topic", help="Target topic (default: BOUNCEFLOW_TOPIC_REPLIES, smtp-replies).")
@click.pass_context
def ingest_serve(ctx: click.Context, fmt: str, listen: tuple[str, int], bootstrap: str | None,
                 topic: str | None) -> None:
    """Receive KumoMTA's log hooks: POSTs of one JSON record, a JSON array or JSON Lines.

    Answers 200 once Kafka acknowledged the replies (bad records go to the dead-letters topic,
    their reasons in the answer), 400 for a body that is not JSON at all, 401 without the
    bearer token when BOUNCEFLOW_INGEST_SECRET is set (required beyond loopback), 503 when
    Kafka did not take them (KumoMTA should retry). GET /metrics: Prometheus counters. Stops on
    SIGTERM or Ctrl-C. docs/mta/kumomta.md has the KumoMTA policy that posts here."""
    from streams.ingest.server import LogHookServer
    from streams.runtime.topics import ensure_topics

    host, port = listen
    settings = _settings(ctx, kafka_bootstrap=bootstrap, topic_replies=topic)
    ensure_topics(settings)
    server = LogHookServer(settings, fmt, host or "127.0.0.1", port)
    click.echo(f"listening on {server.address}", err=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


def _ingest_mail(ctx: click.Context, paths: tuple[str, ...], bootstrap: str | None) -> None:
    from streams.runtime.mail_relay import OUTCOMES, ingest_files
    from streams.runtime.topics import ensure_topics

    for p in paths:
        if not Path(p).exists():
            raise click.BadParameter(f"{p!r} does not exist", param_hint="FILES")
    settings = _settings(ctx, kafka_bootstrap=bootstrap)
    ensure_topics(settings)
    counts: dict[str, int] = {}
    for p in paths:
        try:
            for k, n in ingest_files(settings, Path(p)).items():
                counts[k] = counts.get(k, 0) + n
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="FILES") from None
    click.echo("mail: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in OUTCOMES), err=True)


@ingest.command("smtp")
@click.option("--listen", default="127.0.0.1:2525", show_default=True, callback=_host_port,
              help="HOST:PORT to receive on (the bounce domain's MX: port 25 behind your MTA "
                   "or a firewall rule).")
@click.option("--no-relay", is_flag=True,
              help="Only store mail in the mail topic; another `ingest smtp` parses it.")
@_bootstrap_option
@click.pass_context
def ingest_smtp(ctx: click.Context, listen: tuple[str, int], no_relay: bool,
                bootstrap: str | None) -> None:
    """Receive bounces and auto-replies by SMTP for BOUNCEFLOW_MAIL_BOUNCE_DOMAIN.

    Each mail is stored in the mail topic before it is answered 250, then parsed into
    SmtpReply events (stage after-delivery) for the worker, autoreply hooks, or a dead letter
    with the raw mail. 550 for other domains and forged VERP addresses, 552 above
    BOUNCEFLOW_MAIL_MAX_BYTES. Stops on Ctrl-C or SIGTERM. docs/dsn.md explains the setup."""
    import threading

    from streams import logs
    from streams.ingest import smtp_server
    from streams.runtime import mail_relay
    from streams.runtime.topics import ensure_topics

    host, port = listen
    settings = _settings(ctx, kafka_bootstrap=bootstrap)
    if not settings.mail_bounce_domain:
        raise ConfigError("set BOUNCEFLOW_MAIL_BOUNCE_DOMAIN: the domain bounces come back to")
    logs.configure(settings)
    ensure_topics(settings, extra=smtp_server.mail_topic(settings))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller, store = smtp_server.start(settings, host or "0.0.0.0", port)
    click.echo(f"receiving mail for {settings.mail_bounce_domain} on {host}:{port}", err=True)
    try:
        if no_relay:
            stop.wait()
        else:
            counts = mail_relay.run(settings, stop.is_set)
            click.echo("mail: " + ", ".join(f"{k} {counts[k]}" for k in mail_relay.OUTCOMES),
                       err=True)
    finally:
        smtp_server.stop(controller, store)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("kind", type=click.Choice(["bounces", "undeliveries", "summary"]))
@click.option("--from", "start", help="Start of the period (inclusive), date or RFC 3339.")
@click.option("--to", "end", help="End of the period (exclusive), date or RFC 3339.")
@click.option("--account", type=int, help="Only this account.")
@click.option("--campaign", type=int, help="Only this mailing (campaign).")
@click.option("--group-by", type=click.Choice(["from_domain", "sending_ip"]),
              default="from_domain", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx", "json"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file.")
@click.option("--clickhouse", help="ClickHouse DSN (BOUNCEFLOW_CLICKHOUSE_DSN).")
@click.pass_context
def report(ctx: click.Context, kind: str, start: str | None, end: str | None,
           account: int | None, campaign: int | None, group_by: str, fmt: str,
           output: str | None, clickhouse: str | None) -> None:
    """Print a report from ClickHouse: bounces (soft), undeliveries or summary.

    With the embedded chDB, run it when no worker holds the same data directory."""
    from sinks.clickhouse import connect
    from sinks.export import file_text, write_xlsx
    from sinks.reports import Filters, run_report

    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs --output FILE")
    filters = Filters(start=_date(start), end=_date(end), account=account, campaign=campaign)
    settings = _settings(ctx, clickhouse_dsn=clickhouse)
    client, db = connect(settings.clickhouse_dsn)
    result = run_report(client, db, kind, filters, group_by)
    if fmt == "xlsx":
        write_xlsx(result, Path(output))  # type: ignore[arg-type]
        click.echo(f"wrote {len(result.rows)} rows to {output}", err=True)
        return
    text = file_text(result, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(result.rows)} rows to {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("--clickhouse", help="ClickHouse DSN (BOUNCEFLOW_CLICKHOUSE_DSN).")
@click.option("--host", help="Address to listen on (BOUNCEFLOW_WEB_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.pass_context
def serve(ctx: click.Context, clickhouse: str | None, host: str | None, port: int) -> None:
    """Serve the reports as web pages: Bounces, Undeliveries and Summary with filters, charts
    and CSV / Excel downloads, and provider health with its alerts.

    Listens on 127.0.0.1 unless told otherwise; on any other address it needs
    BOUNCEFLOW_WEB_TOKEN (a bearer token) or BOUNCEFLOW_WEB_USER and BOUNCEFLOW_WEB_PASSWORD
    (basic auth). With the embedded chDB, serve when no worker holds the same data directory,
    or give the worker a web port (BOUNCEFLOW_WEB_PORT): it serves the same pages."""
    from streams.web.views import serve as run

    run(_settings(ctx, clickhouse_dsn=clickhouse, web_host=host), port)


@cli.command()
@click.option("--policy", type=click.Choice(POLICIES), help="Suppression policy.")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False),
              help="Your rules file, tried before the built-in rules.")
@click.option("--explain", is_flag=True,
              help="Add `rule`, `basis` (how it was decided: text, status, code, words or none: a "
                   "guess is visible) and `explain`: which rule decided and why.")
@click.pass_context
def classify(ctx: click.Context, policy: str | None, rules: str | None, explain: bool) -> None:
    """Classify replies: JSON Lines on stdin, each with reply_code, enhanced_status, reply_text
    and smtp_stage; each object is written back with kind, reason, suppress, retry_after and
    bounce_text added. A bad line is reported on stderr and the exit code is 1."""
    from streams.classify.classifier import Classifier

    settings = _settings(ctx, policy=policy, rules_file=rules)
    classifier = Classifier(settings.policy, settings.rules_file or None)
    bad = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("reply_text", ""), str):
                raise ValueError("expected an object with a string reply_text")
            code = obj.get("reply_code")
            if code is not None and not isinstance(code, int):
                raise ValueError(f"reply_code {code!r} is not an integer or null")
            result = classifier.classify(code, obj.get("enhanced_status"),
                                         obj.get("reply_text", ""), obj.get("smtp_stage"))
        except ValueError as exc:
            click.echo(f"line {number}: {exc}", err=True)
            bad += 1
            continue
        out = {**obj, **result.as_dict()}
        if not explain:
            out.pop("rule")
            out.pop("basis")
        else:
            out["explain"] = classifier.explain(result)
        click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        sys.exit(1)


def _subscriptions(settings: Any) -> list[Any]:
    from streams.delivery.subscriptions import load

    if not settings.hooks_file:
        raise click.UsageError("no hook subscriptions: give --hooks FILE or BOUNCEFLOW_HOOKS_FILE")
    return load(settings.hooks_file)


@cli.command()
@click.option("--hooks", "hooks_file", type=click.Path(exists=True, dir_okay=False),
              help="Hook subscriptions file (BOUNCEFLOW_HOOKS_FILE).")
@_bootstrap_option
@click.pass_context
def deliver(ctx: click.Context, hooks_file: str | None, bootstrap: str | None) -> None:
    """Deliver action hooks to the subscriptions of a hooks file: HTTP and RabbitMQ.

    Each subscription reads action-hooks with its own consumer group and posts JSON arrays
    (signed with HMAC-SHA256 when it has a secret) or publishes one message per hook to a
    RabbitMQ queue or exchange, retrying with back-off for its retry window; what the window
    gives up on goes to dead-letters with the last answer. Stops cleanly on SIGTERM or Ctrl-C.
    A worker started with BOUNCEFLOW_HOOKS_FILE delivers too; run this instead to keep delivery
    in its own process. docs/hooks.md describes the file, payloads and headers."""
    from streams.delivery.deliverer import run_delivery
    from streams.runtime.topics import ensure_topics

    settings = _settings(ctx, hooks_file=hooks_file, kafka_bootstrap=bootstrap)
    subs = _subscriptions(settings)
    ensure_topics(settings)
    run_delivery(settings, subs)


@cli.group()
def hooks() -> None:
    """Hook subscriptions: try them."""


@hooks.command("test")
@click.argument("name")
@click.option("--hooks", "hooks_file", type=click.Path(exists=True, dir_okay=False),
              help="Hook subscriptions file (BOUNCEFLOW_HOOKS_FILE).")
@click.pass_context
def hooks_test(ctx: click.Context, name: str, hooks_file: str | None) -> None:
    """Send one test event to subscription NAME and show the answer (exit 1 unless it counts
    as delivered)."""
    from streams.delivery.deliverer import send_test_event
    from streams.delivery.policy import OK

    subs = {s.name: s for s in _subscriptions(_settings(ctx, hooks_file=hooks_file))}
    if name not in subs:
        raise click.UsageError(f"no subscription {name!r}; there are: {', '.join(subs)}")
    attempt = send_test_event(subs[name])
    click.echo(f"{subs[name].target}: {attempt.answer[:500]}")
    if attempt.result != OK:
        sys.exit(1)


@cli.group()
def rules() -> None:
    """Rules files: check them."""


@rules.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def rules_validate(files: tuple[str, ...]) -> None:
    """Check the built-in rules and FILES (your rules files) against the rules schema."""
    from streams.classify.classifier import Classifier

    Classifier()
    for f in files:
        Classifier(rules_file=f)
    click.echo(f"ok: built-in rules{''.join(', ' + f for f in files)}")


@cli.command()
@click.option("--events", type=click.IntRange(1), default=20000, show_default=True,
              help="How many replies to produce.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Where ClickHouse data and logs go (default: a new temporary directory).")
@click.option("--partitions", type=click.IntRange(1), default=Settings.partitions,
              show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Stream generator seed.")
@click.option("--policy", type=click.Choice(POLICIES), default=Settings.policy, show_default=True)
@click.option("--from", "mta", type=click.Choice(["kumomta"]),
              help="Produce the stream as this MTA's own log records, which the worker reads "
                   "(kumomta: BOUNCEFLOW_INPUT_FORMAT=kumomta, docs/mta/kumomta.md).")
@click.option("--web-port", type=click.IntRange(1, 65535),
              help="The worker's web port while it runs: /health, /metrics and the report pages "
                   "on 127.0.0.1.")
def demo(events: int, data_dir: str | None, partitions: int, seed: int, policy: str,
         mta: str | None, web_port: int | None) -> None:
    """Run the whole pipeline on the embedded default and check the reports.

    Starts a local broker and a worker with embedded ClickHouse (chDB), produces a realistic
    stream of SMTP replies, shows progress, prints the Bounces, Undeliveries and summary reports,
    checks them against what it produced, and shuts everything down. Exit code 1 if the reports
    differ from the stream."""
    from streams.local.demo import run_demo

    ok = run_demo(events=events, data_dir=data_dir, partitions=partitions, seed=seed,
                  policy=policy, mta=mta, web_port=web_port or 0)
    if not ok:
        sys.exit(1)


@cli.command("settings")
@click.option("--markdown", is_flag=True,
              help="Print docs/configuration.md (every setting's default) instead of values.")
@click.pass_context
def show_settings(ctx: click.Context, markdown: bool) -> None:
    """List every setting: environment variable, current value (secrets masked) and meaning."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    current = _settings(ctx).redacted()
    for env, _default, doc in describe():
        name = env[len("BOUNCEFLOW_"):].lower()
        click.echo(f"{env}={current[name]!s}\n    {doc}")


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="bounceflow", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("bounceflow: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"bounceflow: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"bounceflow: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"bounceflow: configuration error: {exc}", err=True)
        sys.exit(2)
    except BounceflowError as exc:
        click.echo(f"bounceflow: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
