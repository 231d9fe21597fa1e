"""Loads and validates the rules data files (``streams/classify/rules/*.toml`` and a user's file).

Every error names the file and the rule, so that a bad user file is fixed in one look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from streams.datafiles import load_toml
from streams.exceptions import RulesError

RULES_DIR = Path(__file__).resolve().parent / "rules"
# How a classification was decided: a text rule, a specific enhanced-status entry, the reply
# code's entry (or a 2xx code), the word model's guess, or nothing that names a cause (reason
# undefined).
BASES = frozenset({"text", "status", "code", "words", "none"})
STAGES = frozenset({"connect", "helo", "ehlo", "starttls", "mail", "rcpt", "data", "dot"})
_RULE_KEYS = {"id", "reason", "source", "patterns", "codes", "stages", "kind"}
_CODE_PREFIX = re.compile(r"^(none|[245]\d{0,2})$")


@dataclass(frozen=True)
class TextRule:
    id: str
    reason: str
    source: str
    regex: re.Pattern[str]
    # The patterns on their own, each matching where the joined regex may: the prefilter names
    # the few that may match a text, and only those are tried (re tries every alternative of a
    # joined alternation at each position). One regex, the joined one, where a pattern refers to a
    # group (which it would find elsewhere in the joined regex).
    alternatives: tuple[re.Pattern[str], ...]
    codes: tuple[str, ...]  # empty: any
    stages: frozenset[str]  # empty: any
    kind: str | None
    origin: str  # the file it came from

    def applies(self, code: str, stage: str | None) -> bool:
        if self.codes and not any(code.startswith(c) for c in self.codes):
            return False
        return not (self.stages and (stage or "") not in self.stages)


@dataclass(frozen=True)
class StatusTable:
    enhanced: dict[str, str]  # "X.1.1" -> reason
    reply: dict[str, str]  # "550" -> reason


@dataclass(frozen=True)
class Policy:
    name: str
    doc: str
    kinds: frozenset[str]
    reasons: frozenset[str] | None
    reasons_5xx: frozenset[str]
    # Reasons that suppress with a 5xx (or no code) only when a text rule named them.
    reasons_text_5xx: frozenset[str]
    # How a classification may have been decided for it to suppress (Classification.basis);
    # None: any way.
    bases: frozenset[str] | None


@dataclass(frozen=True)
class Context:
    # Patterns that find the reply a relay quotes inside its own text (groups code, status).
    wrappers: tuple[re.Pattern[str], ...]
    # stage -> {reason -> reason}: what a reason means when a reply at that stage gives it.
    stage_reasons: dict[str, dict[str, str]]
    # (stage, pattern): the command a relay says the reply it quotes answered.
    wrapper_stages: tuple[tuple[str, re.Pattern[str]], ...]
    # (stage, pattern): the command a reply says its check refused.
    refused_commands: tuple[tuple[str, re.Pattern[str]], ...]
    # (kind, patterns joined): with no code and no status, the first group found gives the kind.
    text_kinds: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # Reasons hard by their nature, when neither a code, a status nor the words give the kind.
    hard_reasons: frozenset[str] = frozenset()
    # Texts that name no cause: the word model makes no guess on them.
    no_guess: re.Pattern[str] | None = None

    def names_no_cause(self, text: str) -> bool:
        """Whether the text is one that names no cause, on which no guess is made."""
        return self.no_guess is not None and self.no_guess.search(text) is not None

    def kind_of(self, text: str, reason: str) -> str:
        """The kind of a reply with no code and no enhanced status anywhere: its words say it,
        else the nature of the reason its text rules read, else soft."""
        for kind, pattern in self.text_kinds:
            if pattern.search(text):
                return kind
        return "hard" if reason in self.hard_reasons else "soft"


@dataclass(frozen=True)
class RetryRules:
    patterns: tuple[re.Pattern[str], ...]
    units: dict[str, int]


def load_reasons(path: Path = RULES_DIR / "reasons.toml") -> dict[str, str]:
    """The reason vocabulary: reason -> what it means."""
    return dict(load_toml(path, "bounceflow.reasons/1")["reasons"])


# A back reference or a conditional group, or text that looks like one (then the rule's
# patterns are tried joined, as written: never wrong, only slower).
_GROUP_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


def load_text_rules(path: Path) -> list[TextRule]:
    data = load_toml(path, "bounceflow.patterns/1")
    rules, seen = [], set()
    for n, raw in enumerate(data.get("rule", []), 1):
        where = f"{path}: rule {raw.get('id', f'#{n}')!s}"
        unknown = set(raw) - _RULE_KEYS
        if unknown:
            raise RulesError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        for key in ("id", "reason", "patterns"):
            if key not in raw:
                raise RulesError(f"{where}: missing {key!r}")
        if raw["id"] in seen:
            raise RulesError(f"{where}: duplicate id")
        seen.add(raw["id"])
        if raw["reason"] not in REASONS:
            raise RulesError(f"{where}: reason {raw['reason']!r} is not in the vocabulary")
        if raw.get("kind") not in (None, "soft", "hard"):
            raise RulesError(f"{where}: kind must be 'soft' or 'hard', not {raw['kind']!r}")
        bad_codes = [c for c in raw.get("codes", []) if not _CODE_PREFIX.match(str(c))]
        if bad_codes:
            raise RulesError(f"{where}: codes {bad_codes} are not reply-code prefixes or 'none'")
        bad_stages = set(raw.get("stages", [])) - STAGES
        if bad_stages:
            raise RulesError(f"{where}: unknown stages {', '.join(sorted(bad_stages))}")
        patterns = raw["patterns"]
        if not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise RulesError(f"{where}: patterns must be a non-empty list of strings")
        try:
            regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern: {exc}") from None
        alone = not any(_GROUP_REFERENCE.search(p) for p in patterns)
        alternatives = (tuple(re.compile(f"(?:{p})", re.IGNORECASE) for p in patterns)
                        if alone else (regex,))
        rules.append(TextRule(
            id=raw["id"], reason=raw["reason"], source=raw.get("source", ""), regex=regex,
            alternatives=alternatives,
            codes=tuple(str(c) for c in raw.get("codes", [])),
            stages=frozenset(raw.get("stages", [])), kind=raw.get("kind"), origin=str(path),
        ))
    return rules


def load_status_table(path: Path = RULES_DIR / "status_codes.toml") -> StatusTable:
    data = load_toml(path, "bounceflow.status_codes/1")
    for section in ("enhanced", "reply"):
        for key, reason in data.get(section, {}).items():
            if reason not in REASONS:
                raise RulesError(f"{path}: [{section}] {key} = {reason!r} is not in the vocabulary")
    return StatusTable(enhanced=dict(data["enhanced"]), reply=dict(data["reply"]))


def load_policies(path: Path = RULES_DIR / "policies.toml") -> dict[str, Policy]:
    data = load_toml(path, "bounceflow.policies/1")
    out = {}
    for name, raw in data.items():
        if name == "schema":
            continue
        reasons = raw.get("reasons")
        extra = [*raw.get("reasons_5xx", []), *raw.get("reasons_text_5xx", [])]
        for r in [*(reasons or []), *extra]:
            if r not in REASONS:
                raise RulesError(f"{path}: policy {name}: reason {r!r} is not in the vocabulary")
        out[name] = Policy(
            name=name, doc=raw.get("doc", ""), kinds=frozenset(raw["kinds"]),
            reasons=frozenset(reasons) if reasons is not None else None,
            reasons_5xx=frozenset(raw.get("reasons_5xx", [])),
            reasons_text_5xx=frozenset(raw.get("reasons_text_5xx", [])),
            bases=frozenset(raw["bases"]) if "bases" in raw else None,
        )
        unknown = (out[name].bases or frozenset()) - BASES
        if unknown:
            raise RulesError(f"{path}: policy {name}: bases {sorted(unknown)} are not among "
                             f"{', '.join(sorted(BASES))}")
    return out


def load_context(path: Path = RULES_DIR / "context.toml") -> Context:
    data = load_toml(path, "bounceflow.context/1")

    def compiled(section: str, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise RulesError(f"{path}: {section}: bad pattern {pattern!r}: {exc}") from None

    def joined(section: str, patterns: list[str]) -> re.Pattern[str]:
        return compiled(section, "|".join(f"(?:{p})" for p in patterns))

    wrappers = tuple(compiled("wrappers", p) for p in data["wrappers"]["patterns"])
    for wrapper in wrappers:
        if not set(wrapper.groupindex) & {"code", "status"}:
            raise RulesError(f"{path}: wrappers: {wrapper.pattern!r} has no group code or status")
    stage_reasons = data.get("stage_reasons", {})
    wrapper_stages = data.get("wrapper_stages", {})
    refused = data.get("refused_commands", {})
    for section, stages in (("stage_reasons", stage_reasons), ("wrapper_stages", wrapper_stages),
                            ("refused_commands", refused)):
        unknown = sorted(set(stages) - STAGES)
        if unknown:
            raise RulesError(f"{path}: {section}: unknown stage {unknown[0]!r}")
    for stage, mapping in stage_reasons.items():
        bad = sorted({*mapping, *mapping.values()} - REASONS)
        if bad:
            raise RulesError(f"{path}: stage_reasons.{stage}: {bad} not in the vocabulary")
    text_kinds = []
    for n, group in enumerate(data.get("text_kinds", []), 1):
        if group.get("kind") not in ("hard", "soft") or not group.get("patterns"):
            raise RulesError(f"{path}: text_kinds #{n}: needs kind 'hard' or 'soft' and patterns")
        text_kinds.append((group["kind"], joined("text_kinds", group["patterns"])))
    no_guess = data.get("no_guess", {}).get("patterns", [])
    hard_reasons = frozenset(data.get("reason_kinds", {}).get("hard", []))
    if hard_reasons - REASONS:
        raise RulesError(f"{path}: reason_kinds: {sorted(hard_reasons - REASONS)} not in the "
                         "vocabulary")
    return Context(
        wrappers=wrappers,
        stage_reasons={s: dict(m) for s, m in stage_reasons.items()},
        wrapper_stages=tuple((stage, compiled("wrapper_stages", p))
                             for stage, patterns in wrapper_stages.items() for p in patterns),
        refused_commands=tuple((stage, compiled("refused_commands", p))
                               for stage, patterns in refused.items() for p in patterns),
        text_kinds=tuple(text_kinds),
        hard_reasons=hard_reasons,
        no_guess=joined("no_guess", no_guess) if no_guess else None,
    )


def load_retry_rules(path: Path = RULES_DIR / "retry.toml") -> RetryRules:
    data = load_toml(path, "bounceflow.retry/1")
    try:
        patterns = tuple(re.compile(p, re.IGNORECASE) for p in data["patterns"])
    except re.error as exc:
        raise RulesError(f"{path}: bad pattern: {exc}") from None
    return RetryRules(patterns=patterns, units=dict(data["units"]))


REASONS = frozenset(load_reasons())


def load_reason_group(name: str, path: Path = RULES_DIR / "reasons.toml") -> tuple[str, ...]:
    """A named group of reasons from the vocabulary file, each checked against the vocabulary."""
    group = load_toml(path, "bounceflow.reasons/1").get("groups", {}).get(name)
    if group is None:
        raise RulesError(f"{path}: no reason group {name!r}")
    unknown = sorted(set(group) - REASONS)
    if unknown:
        raise RulesError(f"{path}: group {name}: unknown reasons {unknown}")
    return tuple(group)
