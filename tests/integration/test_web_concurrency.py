"""The worker's web port under concurrent requests while its stream runs (issue 34, fault 1):
every request thread reads ClickHouse with a client of its own, so 50 concurrent /windows and
/suppression requests each get the right answer."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from streams.classify.classifier import Classifier
from streams.local.broker import free_port
from streams.local.reference import expected
from streams.local.synth import generate
from tests.conftest import jsonl, run_cli

pytestmark = pytest.mark.integration


def get(settings, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}{path}", timeout=60) as r:
        assert r.status == 200
        return json.loads(r.read())


def other_senders(events: list[dict]) -> list[dict]:
    """The same stream from other senders to other addresses: it leaves the first stream's
    windows and suppressions as they were."""
    return [{**e, "event_id": f"b{e['event_id']}", "message_id": f"b{e['message_id']}",
             "email": f"b{e['email']}", "from_domain": f"b.{e['from_domain']}"} for e in events]


def test_50_concurrent_requests_while_the_stream_runs(settings_factory, worker_factory,
                                                       tmp_path):
    settings = settings_factory(web_port=free_port(), sink_batch_size=500)
    first = list(generate(3000, seed=5))
    done = run_cli(settings, "produce", str(jsonl(first, tmp_path / "a.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    worker = worker_factory(settings)
    worker.wait(len(first))

    want = expected(first, Classifier(settings.policy), settings.max_attempts)
    addresses = sorted({e["email"] for e in first})
    suppressed = sorted(want["suppressed_addresses"])
    assert suppressed and len(addresses) > len(suppressed)
    paths = [f"/windows?minutes=60&last=48&from_domain={d}"
             for d in sorted({e["from_domain"] for e in first})]
    paths += [f"/suppression?email={a}" for a in suppressed[:10] + addresses[:10]]
    answers = {p: get(settings, p) for p in paths}  # one at a time: the reference answers
    assert sum(w["replies"] for p, a in answers.items() if p.startswith("/windows")
               for w in a) == want["summary"]["replies"]
    for a in addresses[:10]:
        assert answers[f"/suppression?email={a}"]["suppressed"] == (a in suppressed)

    second = other_senders(list(generate(30000, seed=6)))
    done = run_cli(settings, "produce", str(jsonl(second, tmp_path / "b.jsonl")), "--quiet")
    assert done.returncode == 0, done.stderr
    requests = [paths[n % len(paths)] for n in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        got = list(pool.map(lambda p: (p, get(settings, p)), requests))
    assert worker.process.poll() is None
    assert [p for p, answer in got if answer != answers[p]] == []

    worker.wait(len(first) + len(second))
    assert worker.stop() == 0
