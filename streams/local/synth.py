"""A realistic stream of SMTP replies for the demo and the benchmarks: deliveries, soft bounces
retried until delivered or given up, hard bounces, network failures with no reply code, and later
sends to addresses that hard-bounced before. Deterministic for a seed."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CATALOG = Path(__file__).resolve().parent / "data" / "synth_replies.toml"
PROVIDERS = {
    "gmail.com": 30, "outlook.com": 12, "hotmail.com": 6, "yahoo.com": 10, "aol.com": 2,
    "icloud.com": 4, "mail.ru": 10, "bk.ru": 2, "yandex.ru": 8, "gmx.de": 3, "web.de": 3,
    "orange.fr": 2, "comcast.net": 2, "corp-example.com": 5,
}
FROM_DOMAINS = ["news.shop.example", "mail.bank.example", "promo.travel.example"]
SENDING_IPS = ["203.0.113.10", "203.0.113.11", "198.51.100.7", "198.51.100.8"]
# Outcome of a message: (weight, sequence of soft outcomes before the last, last outcome)
SCENARIOS: list[tuple[int, str]] = [
    (70, "delivered"),
    (5, "greylisted>delivered"),
    (3, "mailboxfull>mailboxfull>delivered"),
    (3, "ratelimited>delivered"),
    (2, "network>delivered"),
    (3, "mailboxfull*"),  # retried until the MTA gives up (final or max attempts)
    (1, "network*"),
    (5, "userunknown"),
    (1, "hostunknown"),
    (3, "blocked"),
    (1, "spam"),
]
HARD = {"userunknown", "hostunknown", "blocked", "spam"}


def _catalog() -> dict[str, dict[str, Any]]:
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return {r["outcome"]: r for r in data["reply"]}


def generate(
    n_events: int, seed: int = 7, recipients: int | None = None, start_ms: int = 1_767_225_600_000,
    max_attempts: int = 5, per_recipient: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield about ``n_events`` SmtpReply dicts in event-time order (exactly ``n_events``).

    Each message goes to an address drawn uniformly from ``recipients`` addresses, or, with
    ``per_recipient`` (replies per address on average), as real sending does: most addresses
    get one message, and a long tail gets many (``_tail_addresses``)."""
    rng = random.Random(seed)
    catalog = _catalog()
    domains = list(PROVIDERS)
    weights = list(PROVIDERS.values())
    if per_recipient is None:
        n_recipients = recipients or max(10, n_events // 3)
        pool = [f"user{i}@{rng.choices(domains, weights)[0]}" for i in range(n_recipients)]
        addresses = iter(lambda: rng.choice(pool), None)
    else:
        repeat = max(0.0, 1 - replies_per_message(max_attempts) / per_recipient)
        addresses = _tail_addresses(rng, repeat, lambda: rng.choices(domains, weights)[0])
    scenario_weights = [w for w, _ in SCENARIOS]
    scenarios = [s for _, s in SCENARIOS]
    events: list[dict[str, Any]] = []
    msg = 0
    # Spread over 12 hours of event time: well inside the 24 h message lifetime, so every message
    # is settled by its own replies.
    span_ms = 12 * 3600 * 1000
    while len(events) < n_events:
        msg += 1
        email = next(addresses)
        t = start_ms + rng.randrange(span_ms)
        base = {
            "account_id": rng.choice([1, 1, 1, 2, 3]),
            "list_id": rng.choice([10, 11, 12, None]),
            "campaign_id": rng.choice([100, 101, 102, 103, None]),
            "message_id": f"m{seed}-{msg}",
            "profile_id": f"p-{email.split('@')[0]}",
            "email": email,
            "from_domain": rng.choice(FROM_DOMAINS),
            "sending_ip": rng.choice(SENDING_IPS),
            "mx_host": f"mx.{email.split('@')[1]}",
            "is_test": rng.random() < 0.01,
        }
        scenario = rng.choices(scenarios, scenario_weights)[0]
        if scenario.endswith("*"):
            steps = [scenario[:-1]] * rng.randint(2, max_attempts)
        else:
            steps = scenario.split(">")
        for attempt, outcome in enumerate(steps, 1):
            reply = catalog[outcome]
            text = rng.choice(reply["texts"]).format(
                email=email, ip=base["sending_ip"], host=base["mx_host"],
                id=f"{rng.getrandbits(48):012x}q{rng.randrange(10**6)}",
            )
            events.append({
                **base,
                "event_id": f"e{seed}-{msg}-{attempt}",
                "event_time": t + (attempt - 1) * 600_000,
                "attempt": attempt,
                "final": scenario.endswith("*") and attempt == len(steps)
                         and attempt < max_attempts,
                "smtp_stage": reply["stage"],
                "reply_code": reply.get("code"),
                "enhanced_status": reply.get("status"),
                "reply_text": text,
            })
    events = events[:n_events]
    events.sort(key=lambda e: (e["event_time"], e["event_id"]))
    yield from events


def replies_per_message(max_attempts: int = 5) -> float:
    """The mean number of replies of one message over the scenarios (retries included)."""
    total = sum(w for w, _ in SCENARIOS)
    return sum(w * ((2 + max_attempts) / 2 if s.endswith("*") else len(s.split(">")))
               for w, s in SCENARIOS) / total


def _tail_addresses(rng: random.Random, repeat: float,
                    domain: Callable[[], str]) -> Iterator[str]:
    """Each message's address: a new one, or with probability ``repeat`` the address of an
    earlier message drawn at random, so an address is picked again in proportion to the
    messages it already had (Simon's model): 1 / (1 - repeat) messages an address on average,
    and the share of addresses with k messages falls as a power of k, a long tail of addresses
    that are sent to, and bounce, again and again."""
    sent: list[str] = []
    while True:
        if sent and rng.random() < repeat:
            email = rng.choice(sent)
        else:
            email = f"user{len(sent)}@{domain()}"
        sent.append(email)
        yield email
