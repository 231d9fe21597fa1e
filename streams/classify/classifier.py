"""Classification: a pure function from (reply code, enhanced status, text, SMTP stage) to a
result. No I/O after construction; results are cached because real traffic repeats itself.

Decision order, first match wins:
1. a 2xx reply is delivered;
2. when the text quotes another server's reply after a relay's own words ("Address error: 552
   5.2.2 Mailbox full", ``rules/context.toml``), the quoted reply first: the text rules on its
   text, then its enhanced status;
3. text rules on the whole text: the user's rules file, then the built-in ``rules/patterns.toml``
   (failures with no reply, stage context, stated causes, providers, then generic wording);
4. the enhanced status code (exact, then its subject), where its entry names a cause: a generic
   entry (X.0.0, X.2.0 "other or undefined ...") is ``undefined`` and does not decide;
5. the reply code, likewise (a bare 550 or 554 says only "failed");
6. a guess from the reply's words (``words.py``: a model of the labelled replies, the corpus and
   the blind sets), when a word it knows makes one reason likely enough;
7. ``undefined``.
The kind comes from the reply code (2xx delivered, 4xx soft, 5xx hard), or with none from the
enhanced status's class (5.x.x hard, 4.x.x soft), unless the deciding text rule overrides it (an
NXDOMAIN with no SMTP reply is hard); with neither anywhere in the text, from its words
("permanently", "try again later": ``[[text_kinds]]`` in context.toml), else from the nature of
the reason its text rules read (an unknown address is hard), else soft. Before RCPT TO (HELO,
MAIL FROM) a reason that blames the recipient is read as the sender's (``[stage_reasons]`` in
context.toml), and so is one whose text names the HELO or sender check that refused it, at any
stage; a reply with no stage of its own takes the one its relay names ("in reply to MAIL FROM
command").
``basis`` says which step decided (text, status, code, words, none): a policy may suppress only
on some.
"""

from __future__ import annotations

import re
from bisect import bisect_left
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
    load_context,
    load_policies,
    load_retry_rules,
    load_status_table,
    load_text_rules,
)
from streams.classify.words import WordModel
from streams.classify.words import load as load_words
from streams.exceptions import ConfigError

# The reply's own code and enhanced status at the start of its text ("550-5.1.1 ...", "#5.1.1").
_LEAD = re.compile(r"\s*(?:(?P<code>[245]\d\d)(?:[ -]|$))?\s*#?"
                   r"(?:(?P<status>[245]\.\d{1,3}\.\d{1,3})(?![\w.]))?")
# An enhanced status marked with "#" anywhere in the text: qmail's "(#5.1.1)", Exchange's "#5.1.1".
_MARKED_STATUS = re.compile(r"#(?P<status>[245]\.\d{1,3}\.\d{1,3})(?![\w.])")


@dataclass(frozen=True)
class Classification:
    kind: str
    reason: str
    suppress: bool
    retry_after: int | None
    bounce_text: str
    rule: str  # which rule decided: a text rule id, "status:X.1.1", "code:550", "delivered"
    # How: "text" (a text rule), "status" (an enhanced status entry naming a cause), "code" (the
    # reply code alone), "words" (no rule did: the word model's guess), "none" (nothing named a
    # cause: reason undefined).
    basis: str = "none"

    def as_dict(self) -> dict[str, object]:
        """The ClassifiedReply's classification fields."""
        return {"kind": self.kind, "reason": self.reason, "suppress": self.suppress,
                "retry_after": self.retry_after, "bounce_text": self.bounce_text,
                "rule": self.rule, "basis": self.basis}


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
        self.context = load_context()
        self.words: WordModel = load_words()
        # The reasons some stage reads otherwise (most replies' reasons are none of them).
        self._stage_read = frozenset(r for m in self.context.stage_reasons.values() for r in m)
        # Small on purpose: most real texts differ per message (ids), so a far larger cache hits
        # barely more often for far more memory (docs/performance-history.md).
        self._cached = lru_cache(maxsize=8192)(self._classify)
        self._delivered = lru_cache(maxsize=128)(self._classify)
        # Every rule's patterns in rule order, each with its rule's index.
        self._patterns = [(i, p) for i, rule in enumerate(self.rules) for p in rule.alternatives]
        # The wrapper patterns ride on the same scan, after the rules' (a quoted reply is rare:
        # most texts are ruled out of the search for one by a scan they have anyway).
        self._wrappers_from = len(self._patterns)
        self._prefilter = Prefilter([p.pattern for _, p in self._patterns]
                                    + [w.pattern for w in self.context.wrappers])
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
        kind, reason, rule, basis, code = self._decide(
            reply_code, enhanced_status, reply_text, smtp_stage)
        return Classification(
            kind=kind,
            reason=reason,
            suppress=self.suppresses(kind, reason, code, basis),
            retry_after=self.retry_after(reply_text) if kind == "soft" else None,
            # A delivery is not a bounce: no template (and half the traffic spared the masking).
            bounce_text="" if kind == "delivered" else bounce_text(reply_code, reply_text),
            rule=rule,
            basis=basis,
        )

    def _decide(
        self, code: int | None, status: str | None, text: str, stage: str | None
    ) -> tuple[str, str, str, str, int | None]:
        """(kind, reason, rule, basis, the reply code it read)."""
        if code is not None and 200 <= code < 300:
            return "delivered", "delivered", "delivered", "code", code
        stage = stage.lower() if stage else None
        lead = _LEAD.match(text)
        lead_code = int(lead.group("code")) if lead and lead.group("code") else None
        lead_status = lead.group("status") if lead else None
        own_code = code if code is not None else lead_code
        own_status = status or lead_status
        if own_status is None and "#" in text:
            marked = _MARKED_STATUS.search(text)
            own_status = marked.group("status") if marked else None
        possible = self._prefilter.possible(text)
        quoted = None
        if possible is None or max(possible, default=0) >= self._wrappers_from:
            quoted = self._quoted(text, lead.end() if lead else 0, own_code, own_status)
        q_code, q_status, inner = quoted if quoted else (None, None, "")
        if quoted and stage is None:
            stage = next((s for s, p in self.context.wrapper_stages if p.search(text)), None)
        # The class of the first of: the code, the given status, the text's own code and
        # status, the quoted reply's (a delayed report's 4.x.x stays soft whatever it quotes).
        evidence = (str(code) if code is not None else None, status,
                    lead.group("code") if lead else None, own_status,
                    str(q_code) if q_code is not None else None, q_status)
        first = next((e for e in evidence if e), None)
        # With none, the text rules give no kind (None) and the words decide after them.
        code_kind = ("hard" if first[0] == "5" else "soft") if first else None
        if own_code is None:
            own_code = q_code
        rules_code = q_code if q_code is not None else own_code
        decided = None
        if quoted:
            decided = self._text_rule(inner, rules_code, stage, code_kind)
            if decided is None and q_status:
                decided = self._status_entry(q_status, code_kind)
        if decided is None:
            decided = self._text_rule(text, rules_code, stage, code_kind, possible)
        if decided is None and own_status:
            decided = self._status_entry(own_status, code_kind)
        if decided is None:
            for c in (q_code, own_code):
                reason = self.status.reply.get(str(c), "undefined")
                if reason != "undefined":
                    decided = code_kind, reason, f"code:{c}", "code"
                    break
        kind, reason, rule, basis = decided or (code_kind, "undefined", "undefined", "none")
        if kind is None:
            kind = self.context.kind_of(text, reason)
        if basis == "none" and not self.context.names_no_cause(text):
            # after the kind, which a guessed reason must not change
            guessed = self.words.guess(own_code, own_status, stage, text)
            if guessed is not None:
                reason, rule, basis = guessed, "words", "words"
        if reason in self._stage_read:
            stage = next((s for s, p in self.context.refused_commands if p.search(text)), stage)
            reason = self.context.stage_reasons.get(stage or "", {}).get(reason, reason)
        return kind, reason, rule, basis, own_code

    def _text_rule(self, text: str, code: int | None, stage: str | None, code_kind: str | None,
                   possible: set[int] | None = None) -> tuple[str | None, str, str, str] | None:
        """The first text rule that applies and matches; ``possible``: the text's scan."""
        order, reachable = self._candidates(str(code) if code is not None else "none", stage)
        if possible is None:
            possible = self._prefilter.possible(text)
        if possible is None:
            matched = next((i for i in order if self.rules[i].regex.search(text)), None)
        else:  # patterns in rule order: the first that matches is the first matching rule's
            patterns = sorted(possible)
            if patterns and patterns[-1] >= self._wrappers_from:  # the wrappers' come last
                patterns = patterns[:bisect_left(patterns, self._wrappers_from)]
            matched = next((i for i, pattern in map(self._patterns.__getitem__, patterns)
                            if i in reachable and pattern.search(text)), None)
        if matched is None:
            return None
        rule = self.rules[matched]
        return rule.kind or code_kind, rule.reason, rule.id, "text"

    def _status_entry(self, status: str,
                      code_kind: str | None) -> tuple[str | None, str, str, str] | None:
        """The entry of an enhanced status (exact, then its subject's), if it names a cause."""
        subject = status.split(".", 1)[1] if "." in status else ""
        for key in (f"X.{subject}", "X." + subject.split(".")[0] + ".0"):
            if key in self.status.enhanced:
                reason = self.status.enhanced[key]
                return None if reason == "undefined" else (code_kind, reason, f"status:{key}",
                                                           "status")
        return None

    def _quoted(self, text: str, start: int, code: int | None,
                status: str | None) -> tuple[int | None, str | None, str] | None:
        """The reply a relay quotes after its own words: (code, status, its text), the earliest
        one that is not a continuation line of the reply's own code and status."""
        best: re.Match[str] | None = None
        for pattern in self.context.wrappers:
            found = pattern.search(text, start)
            while found is not None:
                groups = found.groupdict()
                q_code = groups.get("code")
                if (int(q_code) if q_code else code) != code or \
                        (groups.get("status") or status) != status:
                    break
                found = pattern.search(text, found.end())
            if found is not None and (best is None or found.start() < best.start()):
                best = found
        if best is None:
            return None
        groups = best.groupdict()
        return (int(groups["code"]) if groups.get("code") else None, groups.get("status"),
                text[best.end():])

    def suppresses(self, kind: str, reason: str, reply_code: int | None,
                   basis: str = "text") -> bool:
        p = self.policy
        if kind not in p.kinds or (p.bases is not None and basis not in p.bases):
            return False
        if p.reasons is None or reason in p.reasons:
            return True
        # With no reply code the kind is already hard (a 5.x.x status, or a rule that knows).
        if reply_code is not None and reply_code < 500:
            return False
        return reason in p.reasons_5xx or (reason in p.reasons_text_5xx and basis == "text")

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
        return f"{self._how(classification.rule)} [basis: {classification.basis}]"

    def _how(self, rule_id: str) -> str:
        for rule in self.rules:
            if rule.id == rule_id:
                return f"text rule {rule.id!r} ({rule.source}) from {rule.origin}"
        if rule_id.startswith("status:"):
            return f"enhanced status table entry {rule_id[7:]} (RFC 3463)"
        if rule_id.startswith("code:"):
            return f"reply code table entry {rule_id[5:]} (RFC 5321)"
        if rule_id == "delivered":
            return "2xx reply code"
        if rule_id == "words":
            return "no rule named a cause: a guess from the reply's words (rules/words.toml)"
        return "no rule named a cause: the reason is undefined, the kind is the code's"
