"""Auto-replies (out of office, vacation, autoresponders): their own outcome, never a bounce.
What marks one is data (``autoreply.toml``): RFC 3834 and vendors' header fields, and
vacation subjects in several languages; mail from a mailer daemon is a bounce whatever it says.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATA = Path(__file__).resolve().parent / "autoreply.toml"
SCHEMA = "bounceflow.autoreply/1"


@dataclass(frozen=True)
class Rules:
    headers: tuple[tuple[str, re.Pattern[str]], ...]
    subject: re.Pattern[str]
    daemons: frozenset[str]


@cache
def rules(path: Path = DATA) -> Rules:
    """The rules of ``path``; raises ValueError naming the file and the bad entry."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema must be {SCHEMA}")
    headers = []
    for i, h in enumerate(data.get("headers", [])):
        if set(h) != {"name", "pattern", "source"}:
            raise ValueError(f"{path}: headers[{i}] needs exactly name, pattern and source")
        headers.append((h["name"].lower(), _compile(path, f"headers[{i}]", h["pattern"])))
    subjects = []
    for lang, patterns in data.get("subjects", {}).items():
        if not isinstance(patterns, list):
            raise ValueError(f"{path}: subjects.{lang} must be a list of patterns")
        for p in patterns:
            _compile(path, f"subjects.{lang}", p)
            subjects.append(f"(?:{p})")
    if not headers or not subjects:
        raise ValueError(f"{path}: needs [[headers]] and [subjects]")
    # "Re:" / "AW:" / "RE :" prefixes come before an auto-reply's own words in some clients.
    subject = re.compile(r"^\s*(?:(?:re|aw|sv|fw|wg)\s?:\s*)*(?:" + "|".join(subjects) + ")",
                         re.I)
    daemons = data.get("daemon_senders")
    if not daemons:
        raise ValueError(f"{path}: needs daemon_senders (top level, before the tables)")
    return Rules(tuple(headers), subject, frozenset(d.lower() for d in daemons))


def _compile(path: Path, where: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise ValueError(f"{path}: {where}: bad pattern {pattern!r}: {exc}") from None


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
