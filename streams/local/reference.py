"""What the reports must equal for a stream, computed the plain way: one pass over the events in
the order they were produced, one dict per recipient. The demo and the tests compare ClickHouse
with this. It is deliberately not the pipeline's code path (no Kafka, no tables, no tracking
module), so that a bug there shows up as a difference here.

Scope: streams whose event time spans less than the message lifetime (no lifetime expiry), as the
demo's and the tests' streams do, with soft-bounce escalation off (its default).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from streams.classify.classifier import Classifier
from streams.ingest.validation import AFTER_DELIVERY, problems

GROUPS = ("from_domain", "sending_ip")
HOOK_TYPE = {"delivered": "deliv", "soft": "sbounce", "hard": "hbounce"}
# The summary figures that `report summary` must equal.
SUMMARY_KEYS = ("replies", "delivered", "soft_bounces", "hard_bounces", "undelivered",
                "suppressed", "messages", "hard_bounced_profiles", "dead_letters",
                "async_soft_bounces", "async_hard_bounces", "delivered_messages")


def expected(
    events: Iterable[dict[str, Any]], classifier: Classifier, max_attempts: int
) -> dict[str, Any]:
    suppressed: set[str] = set()
    messages: set[str] = set()
    pending: dict[str, int] = {}  # soft-bounced, not yet settled: message id -> attempts
    hook_ids: set[str] = set()
    undelivered: dict[str, dict[str, Any]] = {}
    summary = Counter(replies=0, delivered=0, soft_bounces=0, hard_bounces=0, suppressed=0,
                      hard_bounced_profiles=0, dead_letters=0, async_soft_bounces=0,
                      async_hard_bounces=0)
    delivered: set[str] = set()
    bounced_later: set[str] = set()  # hard bounces by mail (a DSN): no longer delivered
    bounces: dict[str, Counter] = {g: Counter() for g in GROUPS}
    bounces_guessed: dict[str, Counter] = {g: Counter() for g in GROUPS}  # reason not by text
    for e in events:
        if problems(e):
            summary["dead_letters"] += 1
            continue
        c = classifier.classify(e["reply_code"], e.get("enhanced_status"), e["reply_text"],
                                e.get("smtp_stage"))
        email = e["email"].strip().lower()
        domain = email.rsplit("@", 1)[1]
        summary["replies"] += 1
        summary[{"delivered": "delivered", "soft": "soft_bounces", "hard": "hard_bounces"}[
            c.kind]] += 1
        messages.add(e["message_id"])
        if c.kind == "delivered":
            delivered.add(e["message_id"])
        elif e.get("smtp_stage") == AFTER_DELIVERY:
            summary[f"async_{c.kind}_bounces"] += 1
            if c.kind == "hard":
                bounced_later.add(e["message_id"])
        if c.kind == "soft":
            for g in GROUPS:
                bounces[g][(e[g], domain, c.bounce_text)] += 1
                if c.basis != "text":
                    bounces_guessed[g][(e[g], domain, c.bounce_text)] += 1
        if email in suppressed:
            summary["suppressed"] += 1
            hook_ids.add(f"{e['event_id']}:suppress")
            continue
        hook_ids.add(f"{e['event_id']}:{HOOK_TYPE[c.kind]}")
        if c.kind == "hard" and c.suppress:
            suppressed.add(email)
            summary["hard_bounced_profiles"] += 1
            hook_ids.add(f"{e['event_id']}:status")
        if c.kind != "soft":
            pending.pop(e["message_id"], None)
        elif e.get("final") or e["attempt"] >= max_attempts:
            pending.pop(e["message_id"], None)
            hook_ids.add(f"{e['message_id']}:undeliv")
            undelivered.setdefault(e["message_id"], {**e, "domain": domain,
                                                     "bounce_text": c.bounce_text,
                                                     "basis": c.basis})
        else:
            pending[e["message_id"]] = max(e["attempt"], pending.get(e["message_id"], 0))
    undeliveries = {g: Counter((u[g], u["domain"], u["bounce_text"])
                               for u in undelivered.values()) for g in GROUPS}
    undeliveries_guessed = {g: Counter((u[g], u["domain"], u["bounce_text"])
                                       for u in undelivered.values() if u["basis"] != "text")
                            for g in GROUPS}
    return {
        "summary": {**summary, "messages": len(messages), "undelivered": len(undelivered),
                    "delivered_messages": len(delivered - bounced_later)},
        "bounces": bounces,
        "undeliveries": undeliveries,
        # per report row, how many of its amount had a guessed reason (the `guessed` column)
        "guessed": {"bounces": bounces_guessed, "undeliveries": undeliveries_guessed},
        "hook_ids": hook_ids,
        "suppressed_addresses": suppressed,
        "pending_attempts": pending,
    }
