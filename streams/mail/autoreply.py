"""Auto-replies (out of office, vacation, autoresponders): their own outcome, never a bounce.
What marks one is data (``autoreply.toml``): RFC 3834 and vendors' header fields, and
vacation subjects in several languages; mail from a mailer daemon is a bounce whatever it says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from functools import cache
from pathlib import Path

from streams.datafiles import load_toml
from streams.exceptions import RulesError

DATA = Path(__file__).resolve().parent / "autoreply.toml"
SCHEMA = "bounceflow.autoreply/1"
_FIELDS = {"schema", "daemon_senders", "headers", "subjects"}


@dataclass(frozen=True)
class Rules:
    headers: tuple[tuple[str, re.Pattern[str]], ...]
    subject: re.Pattern[str]
    daemons: frozenset[str]


@cache
def rules(path: Path = DATA) -> Rules:
    """The rules of ``path``; raises RulesError naming the file and the bad entry."""
    data = load_toml(path, SCHEMA)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise RulesError(f"{path}: unknown field {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(_FIELDS))})")
    headers = []
    for i, h in enumerate(data.get("headers", [])):
        if set(h) != {"name", "pattern", "source"}:
            raise RulesError(f"{path}: headers[{i}] needs exactly name, pattern and source")
        headers.append((h["name"].lower(), _compile(path, f"headers[{i}]", h["pattern"])))
    subjects = []
    for lang, patterns in data.get("subjects", {}).items():
        if not isinstance(patterns, list):
            raise RulesError(f"{path}: subjects.{lang} must be a list of patterns")
        for p in patterns:
            _compile(path, f"subjects.{lang}", p)
            subjects.append(f"(?:{p})")
    if not headers or not subjects:
        raise RulesError(f"{path}: needs [[headers]] and [subjects]")
    # "Re:" / "AW:" / "RE :" prefixes come before an auto-reply's own words in some clients.
    subject = re.compile(r"^\s*(?:(?:re|aw|sv|fw|wg)\s?:\s*)*(?:" + "|".join(subjects) + ")",
                         re.I)
    daemons = data.get("daemon_senders")
    if not daemons:
        raise RulesError(f"{path}: needs daemon_senders (top level, before the tables)")
    return Rules(tuple(headers), subject, frozenset(d.lower() for d in daemons))


def _compile(path: Path, where: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise RulesError(f"{path}: {where}: bad pattern {pattern!r}: {exc}") from None


def is_autoreply(msg: Message, subject: str, path: Path = DATA) -> bool:
    """Whether ``msg`` (whose decoded subject is ``subject``) is an automatic reply."""
    r = rules(path)
    senders = [a for _, a in getaddresses([str(v) for v in msg.get_all("from", [])])]
    if any(a.partition("@")[0].lower() in r.daemons for a in senders):
        return False
    for name, pattern in r.headers:
        if any(pattern.search(str(v)) for v in msg.get_all(name, [])):
            return True
    return bool(r.subject.search(subject))
