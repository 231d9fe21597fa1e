"""End-to-end benchmark of one worker on the local broker and chDB, against baselines measured
in the same run on the same topic: a raw aiokafka consumer and two naive Faust agents.

    python -m bench.pipeline [--events 200000] [--recipients N] [--rate 5000] [--processes 1]

Phases: produce N replies (the synthetic realistic mix) to a baseline topic; read them with a
raw aiokafka consumer; classify them with the naive Faust agent, then (the first
``--naive-track-events``) classify and track them with the naive agent that also keeps Faust
tables and sends hooks (``bench/naive_faust.py``); start ``bounceflow worker``, wait until its
engines hold every partition, pause it (SIGSTOP), produce the same N replies to its topic,
continue it and wait until every one is committed, which means it is classified, tracked, its
hooks produced and its rows in ClickHouse; then, with the worker idle, produce at ``--rate``
replies/s for ``--latency-seconds`` and time each reply to its first hook. Rates count from the
first record each reader saw to the last, so group joins and process starts are not in them,
and each reader finds its whole stream in the topic when it starts (``paused``). For both
worker phases it also reports the cores the worker and the broker kept busy (``*_cores_used``):
the two cores are shared, and a slow phase is often the other process; ``pipeline_thread_cores``
splits the processing phase's by thread name (the engines' loops, chDB's pools, librdkafka's and
the broker's threads). Memory is the sum of the peak RSS of the worker's processes
(``peak_rss_mb``, an upper bound) and the peak of their summed PSS, sampled every 0.2 s
(``peak_pss_mb``: shared pages once). Progress goes to stderr; the last line of stdout is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition

from streams.exceptions import BrokerError
from streams.ingest.codec import HOOK, SMTP_REPLY
from streams.kafka_config import confluent_config, produce
from streams.local.broker import LocalBroker, free_port
from streams.local.synth import generate, replies_per_message
from streams.local.testing import start_worker, stop_worker
from streams.runtime.progress import wait_drained
from streams.runtime.topics import ensure_topics
from streams.settings import Settings
from streams.tracking.changelog import changelog_topic, restore
from streams.tracking.state import TABLES


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def encode_stream(events: Iterable[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """Each reply as the (key, value) it is produced with: encoded once, before any clock runs."""
    return [(e["email"].encode(), SMTP_REPLY.encode(e)) for e in events]


def produce_stream(settings: Settings, records: Iterable[tuple[bytes, bytes]],
                   topic: str | None = None) -> int:
    """Produce encoded replies to ``topic`` (default: the replies topic); return how many."""
    producer = Producer(confluent_config(settings, **{"linger.ms": 20,
                                                      "partitioner": "murmur2_random"}))
    topic = topic or settings.topic_replies
    n = 0
    for key, value in records:
        produce(producer, topic, key, value)
        n += 1
        if n % 100_000 == 0:
            producer.poll(0)
            say(f"  produced {n}")
    producer.flush()
    return n


def baseline_topic(settings: Settings) -> str:
    """The baselines' copy of the replies: the worker's topic is produced only once it has
    joined its group (``wait_joined``)."""
    return f"{settings.app_id}-baseline-replies"


def wait_joined(settings: Settings, alive: Callable[[], bool], timeout: float = 120) -> None:
    """Wait until the worker's engines hold every partition between them (its /health).

    Why the benchmark waits: the local broker answers a follower's SyncGroup up to a second
    after the leader's when it arrives first (a real coordinator answers both at once), so with
    two engine processes one of them often started a second late, and that second, in a
    backlog of a few seconds, was in the rate as if it were the worker's."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if len(health(settings.web_port)["partitions"]) == settings.partitions:
                return
        if not alive():
            raise SystemExit("the worker exited before it joined its group")
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not hold every partition after {timeout:.0f}s")
        time.sleep(0.1)


def restore_figures(settings: Settings) -> dict[str, Any]:
    """Time the restore of every partition's state from the changelogs, as an engine restores
    the partitions it is assigned (``changelog.restore``), here in one call for all of them.
    The local broker does not compact, so a restore reads every record ever written: an upper
    bound of what a compacted topic on a real Kafka gives to read.

    Why not a new worker's /health: the local broker left a worker started after the stream's
    worker stopped without partitions for minutes, about one restart in two
    (docs/local-stack.md)."""
    producer = Producer(confluent_config(settings))
    started = time.monotonic()
    try:
        restored = restore(settings, producer, list(range(settings.partitions)))
    except BrokerError as exc:  # the run's other figures stand
        return {"restore_error": str(exc)}
    seconds = time.monotonic() - started
    return {"restore_seconds": round(seconds, 2),
            "restored_keys": sum(len(table) for r in restored.values()
                                 for table in r.tables.values())}


@contextlib.contextmanager
def paused(pids: list[int]) -> Iterator[None]:
    """The processes stopped (SIGSTOP) while the block runs, continued after, even if it fails.

    Why: the baselines read a topic produced before they start; the worker's replies can only
    be produced once it has joined (``wait_joined``), and producing them took the benchmark's
    process a core and the broker more while the worker read its first records. Stopped, the
    worker finds the whole stream there, as the baselines do. The pause must stay well inside
    the group's session timeout: heartbeats stop with it."""
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        # A signal is delivered, not obeyed at once: a process may run on for a moment.
        while time.monotonic() < deadline and any(process_state(p) not in ("T", "") for p in pids):
            time.sleep(0.001)
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


# The raw consumer's batch. Its clock starts once the first batch is in, whose records are not
# counted: a stream of at most this many replies leaves nothing to time.
RAW_BATCH = 10_000


def raw_consumer_rate(settings: Settings, n: int, topic: str) -> float:
    from aiokafka import AIOKafkaConsumer

    async def read() -> float:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"raw-{os.getpid()}", auto_offset_reset="earliest",
            enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=1000)
        await consumer.start()
        seen, first, before = 0, 0.0, 0
        try:
            while seen < n:
                batch = await consumer.getmany(timeout_ms=1000, max_records=RAW_BATCH)
                size = sum(len(records) for records in batch.values())
                if size and not seen:
                    # The clock starts when the first batch is in: its records are not counted.
                    first, before = time.monotonic(), size
                seen += size
        finally:
            await consumer.stop()
        if n <= before:
            raise ValueError(f"{n} replies are one batch of the raw consumer: nothing to time")
        return (n - before) / (time.monotonic() - first)

    return asyncio.run(read())


def naive_hooks_topic(settings: Settings, library: str = "faust") -> str:
    return f"{settings.app_id}-naive" + ("-quix" if library == "quix" else "") + "-hooks"


# Kafka's defaults, written out: Quix Streams copies the source topic's retention to its
# changelog topic through DescribeConfigs, which the local broker answers only for the configs
# a topic was created with (docs/local-stack.md).
QUIX_SOURCE_CONFIG = {"retention.ms": "604800000", "retention.bytes": "-1"}


def create_baseline_topic(settings: Settings) -> str:
    """Create the baselines' topic (``baseline_topic``) so that Quix's apps can read it too;
    return its name."""
    topic = baseline_topic(settings)
    ensure_topics(settings, extra={topic: QUIX_SOURCE_CONFIG})
    return topic


def naive_faust_rate(settings: Settings, n: int, root: Path, track: bool = False,
                     topic: str | None = None) -> float:
    """The naive agent's rate over the first ``n`` replies of ``topic`` (default: the replies
    topic); ``track``: with the track step (Faust tables and hooks, ``bench/naive_faust.py``)."""
    app_id = f"{settings.app_id}-naive" + ("-track" if track else "")
    options = ["--partitions", str(settings.partitions), "--app-id", app_id]
    if track:
        hooks = naive_hooks_topic(settings)
        ensure_topics(dataclasses.replace(settings, app_id=app_id, topic_hooks=hooks))
        options += ["--hooks-topic", hooks]
    result = run_baseline("naive_faust", settings, n, root / f"{app_id}.json", options, topic)
    return result["events"] / result["seconds"]


def naive_quix(settings: Settings, n: int, root: Path, track: bool = False,
               topic: str | None = None) -> dict[str, Any]:
    """The naive Quix Streams app over the first ``n`` replies of ``topic`` (default: the
    replies topic, which must have been made by ``create_baseline_topic``); ``track``: with its
    stateful step and hooks (``bench/naive_quix.py``). Its result: events, seconds from its
    first record (its first join waits about half its 45 s session timeout), hooks decided."""
    app_id = f"{settings.app_id}-naive-quix" + ("-track" if track else "")
    options = ["--app-id", app_id]
    if track:
        hooks = naive_hooks_topic(settings, "quix")
        ensure_topics(settings, extra={hooks: {}})
        options += ["--hooks-topic", hooks]
    return run_baseline("naive_quix", settings, n, root / f"{app_id}.json", options, topic)


def run_baseline(module: str, settings: Settings, n: int, out: Path, options: list[str],
                 topic: str | None) -> dict[str, Any]:
    """Run ``bench.<module>`` over the first ``n`` replies of ``topic``; return what it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", settings.kafka_bootstrap,
         topic or settings.topic_replies, str(n), str(out), *options],
        capture_output=True, text=True, timeout=3600,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if not out.exists():
        raise SystemExit(f"bench.{module} failed: {done.stderr[-2000:]}")
    return json.loads(out.read_text())


def read_topics(settings: Settings, topics: Iterable[str], idle_s: float = 3.0,
                timeout: float = 600.0) -> Iterator[Any]:
    """Every record of ``topics`` from the beginning, with one consumer, until none has come
    for ``idle_s``. Why not up to the high watermark: the local broker reports it short after
    a batch of several records (docs/local-stack.md)."""
    consumer = Consumer(confluent_config(settings, **{"group.id": f"read-{os.getpid()}",
                                                      "enable.auto.commit": False}))
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics
                     for p in range(settings.partitions)])
    try:
        deadline = time.monotonic() + timeout
        idle_until = time.monotonic() + idle_s + 10  # the first fetch may take a while
        while time.monotonic() < min(idle_until, deadline):
            for msg in consumer.consume(1000, timeout=0.5):
                if not msg.error():
                    idle_until = time.monotonic() + idle_s
                    yield msg
    finally:
        consumer.close()


def changelog_figures(settings: Settings) -> dict[str, int]:
    """What the worker's changelog topics hold: records, bytes (keys and values) and the keys
    whose last record is not a tombstone. The local broker does not compact: all written."""
    records = size = 0
    last: dict[tuple[str, int, bytes], bool] = {}
    for msg in read_topics(settings, [changelog_topic(settings, t) for t in TABLES]):
        key, value = msg.key() or b"", msg.value()
        records += 1
        size += len(key) + len(value or b"")
        last[(msg.topic(), msg.partition(), key)] = value is not None
    return {"records": records, "bytes": size, "live_keys": sum(last.values())}


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        return json.loads(r.read())


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (Linux /proc): a worker's engine processes are children."""
    pids, i = [pid], 0
    while i < len(pids):
        for children in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            pids += [int(c) for c in _read(children).split()]
        i += 1
    return pids


def _read(path: Path) -> str:
    try:
        return path.read_text()
    # The process or thread ended since the tree was read: its directory is gone, or (ESRCH)
    # the file was opened while it was there. The sampler thread once died of the second and
    # left the peak at 0.
    except (FileNotFoundError, ProcessLookupError):
        return ""


def process_state(pid: int) -> str:
    """A process's state letter (``T``: stopped), or "" if it is gone."""
    stat = _proc(pid, "stat")
    return stat.rsplit(")", 1)[1].split()[0] if stat else ""


def _proc(pid: int, name: str) -> str:
    return _read(Path(f"/proc/{pid}/{name}"))


def peak_rss_each_mb(pid: int) -> list[float]:
    """The peak resident memory of a process and of each of its descendants."""
    return [int(line.split()[1]) / 1024 for p in process_tree(pid)
            for line in _proc(p, "status").splitlines() if line.startswith("VmHWM:")]


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process and its descendants: the sum of their peaks, an
    upper bound when there are several (their peaks need not coincide)."""
    return sum(peak_rss_each_mb(pid))


def pss_mb(pid: int) -> float:
    """The proportional memory of a process and its descendants now: each page they share
    (Python's and librdkafka's libraries, between a worker's processes) counted once in all."""
    return sum(int(line.split()[1]) / 1024 for p in process_tree(pid)
               for line in _proc(p, "smaps_rollup").splitlines() if line.startswith("Pss:"))


class PeakMemory:
    """The largest ``pss_mb`` of a process tree, sampled every ``interval`` seconds in a thread:
    what the worker's processes held at once. A sum of each process's peak (``peak_rss_mb``)
    adds moments that did not coincide and counts shared pages once a process; this counts
    what was there, but only at the samples."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, pss_mb(self.pid))
            self._stop.wait(self.interval)

    def result(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def _name_and_ticks(stat: str) -> tuple[str, int]:
    """A /proc stat line's command (a thread's name) and its user + system clock ticks."""
    name, rest = stat[stat.index("(") + 1:].rsplit(")", 1)
    fields = rest.split()
    return name, int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its descendants have used so far, threads
    included."""
    ticks = sum(_name_and_ticks(stat)[1] for p in process_tree(pid) if (stat := _proc(p, "stat")))
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> Counter[tuple[bool, str]]:
    """CPU time so far by thread name, in the process (False) and in its descendants (True):
    which of the worker's threads (its loops, chDB's pools, librdkafka's) took the cores.
    Numbered names are one (``rdk:broker111`` is ``rdk:broker``); a thread that has ended is no
    longer counted, so these are for comparing threads, ``cpu_seconds`` for totals."""
    out: Counter[tuple[bool, str]] = Counter()
    for p in process_tree(pid):
        for task in Path(f"/proc/{p}/task").glob("*/stat"):
            stat = _read(task)
            if stat:
                name, ticks = _name_and_ticks(stat)
                out[(p != pid, name.rstrip("0123456789"))] += ticks
    return out


class CoresUsed:
    """Cores a set of processes kept busy over a phase: where two shared cores went."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = time.monotonic()
        self.cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.threads = {name: thread_cpu_seconds(pid) for name, pid in pids.items()}

    def result(self) -> dict[str, float]:
        wall = time.monotonic() - self.start
        return {name: round((cpu_seconds(pid) - self.cpu[name]) / wall, 2)
                for name, pid in self.pids.items()}

    def by_thread(self) -> dict[str, dict[str, float]]:
        """Cores by thread name over the phase, for each process and (``"<name> children"``)
        its descendants: names that kept at least 0.01 of a core busy."""
        wall = time.monotonic() - self.start
        hz = os.sysconf("SC_CLK_TCK")
        out: dict[str, dict[str, float]] = {}
        for name, pid in self.pids.items():
            used = thread_cpu_seconds(pid) - self.threads[name]
            for (child, thread), ticks in sorted(used.items(), key=lambda kv: -kv[1]):
                cores = ticks / hz / wall
                if cores >= 0.01:
                    out.setdefault(f"{name} children" if child else name, {})[thread] = round(
                        cores, 2)
        return out


def hook_latencies(settings: Settings, rate: int, seconds: float, seed: int,
                   per_recipient: float | None = None) -> list[float]:
    """Produce ``rate`` replies/s for ``seconds``; return each reply's time to its first hook.
    The replies go to ``rate * 2`` addresses drawn uniformly, or with ``per_recipient`` to
    new addresses and a tail of repeated ones (``generate``)."""
    events = list(generate(int(rate * seconds), seed=seed, recipients=max(100, rate * 2),
                           per_recipient=per_recipient))
    records = encode_stream(events)  # before the clock: at 20,000/s encoding is in the way
    consumer = Consumer(confluent_config(settings, **{"group.id": f"lat-{os.getpid()}",
                                                      "fetch.wait.max.ms": 5}))
    consumer.assign([TopicPartition(settings.topic_hooks, p, OFFSET_END)
                     for p in range(settings.partitions)])
    consumer.consume(1, timeout=2)  # the assignment takes effect before anything is sent
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}

    def read() -> None:
        deadline = time.monotonic() + seconds + 30
        while len(latencies) < len(events) and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.05):
                if msg.error():
                    continue
                event_id = HOOK.decode(msg.value())["event_data"]["event_id"]
                if event_id in sent and event_id not in latencies:
                    latencies[event_id] = time.monotonic() - sent[event_id]

    reader = threading.Thread(target=read)
    reader.start()
    # librdkafka's default linger (5 ms), as an MTA's shipper would batch: one request per
    # record (linger 0) costs the local broker a core at 2,000/s and measures the broker.
    producer = Producer(confluent_config(settings, **{"linger.ms": 5,
                                                      "partitioner": "murmur2_random"}))
    start = time.monotonic()
    for i, (e, (key, value)) in enumerate(zip(events, records)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[e["event_id"]] = time.monotonic()
        produce(producer, settings.topic_replies, key, value)
        producer.poll(0)
    producer.flush()
    reader.join()
    consumer.close()
    if len(latencies) < len(events):
        say(f"  {len(events) - len(latencies)} replies had no hook within 30 s")
    return sorted(latencies.values())


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def rates(text: str) -> list[int]:
    """``--rates``: replies/s, comma-separated, each at least 1."""
    try:
        out = [int(r) for r in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of rates: {text!r}") from None
    if min(out) < 1:
        raise argparse.ArgumentTypeError("every rate must be at least 1")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--replies-per-recipient", type=float, default=1.8,
                        help="replies per address on average: most addresses get one message, a "
                             "long tail many (streams/local/synth.py); at least "
                             f"{replies_per_message():.2f}, one message's replies (default 1.8)")
    parser.add_argument("--recipients", type=int,
                        help="instead: replies to this many addresses drawn uniformly (the "
                             "stream of earlier runs: --recipients EVENTS/10)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=int, default=10_000,
                        help="replies/s of the latency phase (default 10000)")
    parser.add_argument("--rates", type=rates, default=[],
                        help="more latency phases after it, e.g. 5000,20000: the rate at which "
                             "the p99 passes 1 s")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--naive-track-events", type=int, default=20_000,
                        help="replies the naive Faust agent with the track step reads (it is "
                             "slow); the Quix apps read them all")
    parser.add_argument("--processes", type=int, default=0,
                        help="the worker's engine processes (BOUNCEFLOW_PROCESSES; default 0: "
                             "the setting's default, one a core, at most 4)")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="only the pipeline (for memory runs at 1M)")
    args = parser.parse_args(argv)
    if min(args.events, args.rate, args.naive_track_events) < 1:
        parser.error("--events, --rate and --naive-track-events must be at least 1")
    if args.processes < 0:
        parser.error("--processes must be 0 (one a core) or more")
    if args.recipients is None and args.replies_per_recipient < replies_per_message():
        parser.error(f"--replies-per-recipient must be at least {replies_per_message():.2f} "
                     "(every address has at least one message)")
    if args.events <= RAW_BATCH and not args.skip_baselines:
        parser.error(f"--events must be above {RAW_BATCH} for the baselines (the raw consumer's "
                     "first batch is not timed), or give --skip-baselines")
    root = Path(tempfile.mkdtemp(prefix="bounceflow-bench-"))
    say(f"data directory: {root}")
    per_recipient = None if args.recipients else args.replies_per_recipient
    addresses: set[str] = set()

    def counted(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for e in events:
            addresses.add(e["email"])
            yield e

    records = encode_stream(counted(generate(args.events, seed=1, recipients=args.recipients,
                                             per_recipient=per_recipient)))
    recipients = len(addresses)
    out: dict[str, Any] = {"events": args.events, "recipients": recipients,
                           "replies_per_recipient": round(args.events / recipients, 2)}
    with LocalBroker(log_file=root / "broker.log") as broker:
        settings = Settings.load(
            env={}, kafka_bootstrap=broker.bootstrap, clickhouse_dsn=f"chdb://{root}/chdb",
            partitions=args.partitions, app_id="bench",
            # The worker is paused while its stream is produced (``paused``): ~1 s a million.
            session_timeout_s=max(6.0, args.events / 100_000),
            web_port=free_port(), alert_check_s=1e9, processes=args.processes,
        )
        out["processes"] = settings.engine_processes()
        ensure_topics(settings)
        if not args.skip_baselines:
            baseline = create_baseline_topic(settings)
            say(f"producing {args.events} replies to {baseline}")
            produce_stream(settings, records, baseline)
            say("raw aiokafka consumer")
            out["raw_consumer_events_per_s"] = round(
                raw_consumer_rate(settings, args.events, baseline))
            say("naive Faust agent")
            out["naive_faust_events_per_s"] = round(
                naive_faust_rate(settings, args.events, root, topic=baseline))
            tracked = min(args.events, args.naive_track_events)
            say(f"naive Faust agent with the track step, first {tracked} replies")
            out["naive_faust_track_events_per_s"] = round(
                naive_faust_rate(settings, tracked, root, track=True, topic=baseline))
            for track in (False, True):
                say("naive Quix Streams app" + (" with the track step" if track else ""))
                quix = naive_quix(settings, args.events, root, track=track, topic=baseline)
                out["naive_quix" + ("_track" if track else "") + "_events_per_s"] = round(
                    quix["events"] / quix["seconds"])
        say("bounceflow worker")
        assert broker.process is not None
        worker = start_worker(settings, root / "worker.log")
        wait_joined(settings, lambda: worker.poll() is None)
        say(f"producing {args.events} replies to {settings.topic_replies}, the worker paused")
        with paused(process_tree(worker.pid)):
            produce_stream(settings, records)
        del records
        pids = {"worker": worker.pid, "broker": broker.process.pid}
        memory = PeakMemory(worker.pid)
        phase: list[CoresUsed] = []

        def progress(n: int) -> None:
            if n and not phase:  # from the first commit: the worker's start is not in it
                phase.append(CoresUsed(pids))
            say(f"  {n} replies committed")

        try:
            wait_drained(settings, args.events, lambda: worker.poll() is None, timeout=7200,
                         on_progress=progress)
            h = health(settings.web_port)
            out["pipeline_events_per_s"] = round(
                args.events / (h["last_commit_at"] - h["first_record_at"]))
            out["pipeline_cores_used"] = phase[0].result()
            out["pipeline_thread_cores"] = phase[0].by_thread()
            out["state_keys"] = h["state_keys"]
            say("reading the changelogs")
            changelog = changelog_figures(settings)
            out["changelog_records"] = changelog["records"]
            out["changelog_bytes_per_reply"] = round(changelog["bytes"] / args.events, 1)
            latency: dict[str, dict[str, float]] = {}
            for i, rate in enumerate(dict.fromkeys([args.rate, *args.rates])):
                say(f"hook latency at {rate}/s for {args.latency_seconds:.0f}s")
                cores = CoresUsed(pids)
                latencies = hook_latencies(settings, rate, args.latency_seconds, seed=2 + i,
                                           per_recipient=per_recipient)
                latency[str(rate)] = {
                    "p50_ms": round(percentile(latencies, 0.50), 1),
                    "p99_ms": round(percentile(latencies, 0.99), 1),
                    "hooked": round(len(latencies) / int(rate * args.latency_seconds), 4),
                    "cores_used": cores.result(),
                }
            out["latency_cores_used"] = latency[str(args.rate)]["cores_used"]
            out["hook_latency_p50_ms"] = latency[str(args.rate)]["p50_ms"]
            out["hook_latency_p99_ms"] = latency[str(args.rate)]["p99_ms"]
            if args.rates:
                out["hook_latency_by_rate"] = latency
                # A rate whose replies did not all get a hook within 30 s is past 1 s too.
                out["p99_over_1s_from_rate"] = min(
                    (int(r) for r, v in latency.items()
                     if v["p99_ms"] > 1000 or v["hooked"] < 1), default=None)
            out["peak_rss_mb"] = round(peak_rss_mb(worker.pid))
            out["peak_pss_mb"] = round(memory.result())
            if out["processes"] > 1:  # the worker's process (chDB), then its engines
                out["peak_rss_mb_each"] = [round(mb) for mb in peak_rss_each_mb(worker.pid)]
        finally:
            stop_worker(worker)
        say("restoring the state from the changelogs")
        out.update(restore_figures(settings))
    for name in ("naive_faust", "naive_faust_track", "naive_quix", "naive_quix_track",
                 "raw_consumer"):
        if f"{name}_events_per_s" in out:
            out[f"pipeline_vs_{name}"] = round(
                out["pipeline_events_per_s"] / out[f"{name}_events_per_s"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
