"""Classification: a pure function from (reply code, enhanced status, text, SMTP stage) to a
result. No I/O after construction; results are cached because real traffic repeats itself.

Decision order, first match wins:
1. a 2xx reply is delivered;
2. text rules: the user's rules file, then the built-in ``rules/patterns.toml``
   (providers, stage context, then generic wording);
3. the enhanced status code (exact, then its subject);
4. the reply code;
5. ``undefined``.
The kind comes from the reply code (2xx delivered, 4xx soft, 5xx hard, none soft) unless the
deciding text rule overrides it (an NXDOMAIN with no SMTP reply is hard).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from streams.classify.normalize import bounce_text
from streams.classify.prefilter import Prefilter
from streams.classify.rules_loader import (
    RULES_DIR,
    Policy,
    StatusTable,
    TextRule,
    load_policies,
    load_retry_rules,
    load_status_table,
    load_text_rules,
)
from streams.exceptions import ConfigError


@dataclass(frozen=True)
class Classification:
    kind: str
    reason: str
    suppress: bool
    retry_after: int | None
    bounce_text: str
    rule: str  # which rule decided: a text rule id, "status:X.1.1", "code:550", "delivered"

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "reason": self.reason, "suppress": self.suppress,
                "retry_after": self.retry_after, "bounce_text": self.bounce_text,
                "rule": self.rule}


class Classifier:
    def __init__(self, policy: str = "altcraft", rules_file: str | Path | None = None) -> None:
        policies = load_policies()
        if policy not in policies:
            raise ConfigError(f"unknown policy {policy!r}: one of {', '.join(policies)}")
        self.policy: Policy = policies[policy]
        user = load_text_rules(Path(rules_file)) if rules_file else []
        self.rules: tuple[TextRule, ...] = (*user, *load_text_rules(RULES_DIR / "patterns.toml"))
        self.status: StatusTable = load_status_table()
        self._retry = load_retry_rules()
        # Small on purpose: most real texts differ per message (ids), so a far larger cache hits
        # barely more often for far more memory (docs/performance-history.md).
        self._cached = lru_cache(maxsize=8192)(self._classify)
        self._delivered = lru_cache(maxsize=128)(self._classify)
        # Every rule's patterns in rule order, each with its rule's index.
        self._patterns = [(i, p) for i, rule in enumerate(self.rules) for p in rule.alternatives]
        self._prefilter = Prefilter([p.pattern for _, p in self._patterns])
        self._retry_prefilter = Prefilter([p.pattern for p in self._retry.patterns])
        self._candidates = lru_cache(maxsize=4096)(self._rules_for)

    def classify(
        self,
        reply_code: int | None,
        enhanced_status: str | None,
        reply_text: str,
        smtp_stage: str | None = None,
    ) -> Classification:
        """The classification of one reply (cached)."""
        if reply_code is not None and 200 <= reply_code < 300:
            # A delivery's classification is its code's alone: keyed by the text, the 2/3 of
            # the synthetic mix that are deliveries (80% of them with a text of their own)
            # missed the cache and pushed the bounces out of it.
            return self._delivered(reply_code, None, "", None)
        return self._cached(reply_code, enhanced_status, reply_text, smtp_stage)

    def _rules_for(self, code: str, stage: str | None) -> tuple[tuple[int, ...], frozenset[int]]:
        """The indexes of the rules a (code, stage) pair can reach, in order and as a set: a few
        dozen codes and stages occur, and skipping the others saves a search per rule."""
        order = tuple(i for i, r in enumerate(self.rules) if r.applies(code, stage))
        return order, frozenset(order)

    def _classify(
        self,
        reply_code: int | None,
        enhanced_status: str | None,
        reply_text: str,
        smtp_stage: str | None = None,
    ) -> Classification:
        kind, reason, rule = self._decide(reply_code, enhanced_status, reply_text, smtp_stage)
        return Classification(
            kind=kind,
            reason=reason,
            suppress=self.suppresses(kind, reason, reply_code),
            retry_after=self.retry_after(reply_text) if kind == "soft" else None,
            # A delivery is not a bounce: no template (and half the traffic spared the masking).
            bounce_text="" if kind == "delivered" else bounce_text(reply_code, reply_text),
            rule=rule,
        )

    def _decide(
        self, code: int | None, status: str | None, text: str, stage: str | None
    ) -> tuple[str, str, str]:
        if code is not None and 200 <= code < 300:
            return "delivered", "delivered", "delivered"
        code_kind = "hard" if code is not None and code >= 500 else "soft"
        code_key = str(code) if code is not None else "none"
        stage = stage.lower() if stage else None
        order, reachable = self._candidates(code_key, stage)
        possible = self._prefilter.possible(text)
        if possible is None:
            matched = next((i for i in order if self.rules[i].regex.search(text)), None)
        else:  # patterns in rule order: the first that matches is the first matching rule's
            matched = next((i for i, pattern in map(self._patterns.__getitem__, sorted(possible))
                            if i in reachable and pattern.search(text)), None)
        if matched is not None:
            rule = self.rules[matched]
            return rule.kind or code_kind, rule.reason, rule.id
        if status:
            subject = status.split(".", 1)[1] if "." in status else ""
            key = f"X.{subject}"
            if key in self.status.enhanced:
                return code_kind, self.status.enhanced[key], f"status:{key}"
            key = "X." + subject.split(".")[0]
            if key + ".0" in self.status.enhanced:
                return code_kind, self.status.enhanced[key + ".0"], f"status:{key}.0"
        if code_key in self.status.reply:
            return code_kind, self.status.reply[code_key], f"code:{code_key}"
        return code_kind, "undefined", "undefined"

    def suppresses(self, kind: str, reason: str, reply_code: int | None) -> bool:
        p = self.policy
        if kind not in p.kinds:
            return False
        if p.reasons is None or reason in p.reasons:
            return True
        return reason in p.reasons_5xx and reply_code is not None and reply_code >= 500

    def retry_after(self, text: str) -> int | None:
        # Most soft bounces name no time: one scan rules the patterns out, instead of a search
        # with each of them (4% of the worker's time).
        possible = self._retry_prefilter.possible(text)
        patterns = self._retry.patterns
        for i in range(len(patterns)) if possible is None else sorted(possible):
            for m in patterns[i].finditer(text):
                unit = self._retry.units.get(m.group(2).lower())
                if unit:
                    return int(m.group(1)) * unit
        return None

    def explain(self, classification: Classification) -> str:
        rule_id = classification.rule
        for rule in self.rules:
            if rule.id == rule_id:
                return f"text rule {rule.id!r} ({rule.source}) from {rule.origin}"
        if rule_id.startswith("status:"):
            return f"enhanced status table entry {rule_id[7:]} (RFC 3463)"
        if rule_id.startswith("code:"):
            return f"reply code table entry {rule_id[5:]} (RFC 5321)"
        if rule_id == "delivered":
            return "2xx reply code"
        return "no rule matched"
