"""Which text rules may match a reply, in one pass over its text: a Hyperscan database of every
rule's pattern, compiled in prefilter mode.

Why: a bounce tried its candidate rules' regular expressions one by one, ~90 of them, 58 µs per
bounce; a Hyperscan scan names the few that may match, and only those are confirmed with
Python's ``re`` in rule order: 7 µs, the same decisions.

The scan may name a rule that does not match, never miss one that does. To keep that promise:
- Hyperscan is given each pattern as Python parsed it, rewritten in PCRE syntax (the dialects
  read some spellings differently: ``x{,3}`` is a repeat in one, text in the other), with
  look-arounds dropped (that only widens), in prefilter mode (which widens what it cannot
  express);
- a non-ASCII character of a pattern becomes the ASCII characters Python's case folding lets
  it match (the Kelvin sign matches k), none for most (Cyrillic wording): only ASCII text is
  scanned, so a rule with Russian alternatives is still scanned for its English ones;
- a pattern outside that translation (back references, scoped flags) is a rule that is always
  tried;
- only ASCII text without control characters is scanned: there the two engines agree on case
  folding, ``\\s``, ``\\d`` and ``\\w``; other texts try every candidate rule, as does every
  text where Hyperscan is not installed.
tests/unit/test_classify.py checks the two paths decide alike.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

if sys.version_info >= (3, 11):
    from re import _parser
else:  # pragma: no cover
    import sre_parse as _parser

try:
    import hyperscan
except ImportError:  # no wheel for this platform: every text takes the plain path
    hyperscan = None

log = logging.getLogger("bounceflow")

# Texts on which re and Hyperscan may disagree.
_UNSAFE = re.compile(r"[^\t\n\r\x20-\x7e]")


class Untranslatable(Exception):
    pass


def pcre(pattern: str) -> str:
    """``pattern`` (a case-insensitive Python regex) in PCRE syntax, matching at least what it
    matches in ASCII text without control characters."""
    parsed = _parser.parse(pattern, re.IGNORECASE)
    if parsed.state.flags & ~(re.IGNORECASE | re.UNICODE | re.VERBOSE):
        raise Untranslatable(f"flags {parsed.state.flags!r}")
    return _sequence(parsed)


def _sequence(items: Any) -> str:
    return "".join(_node(op.name, arg) for op, arg in items)


# The characters of a scanned text (``_UNSAFE`` keeps the others from the scan).
_SCANNED = [chr(c) for c in (9, 10, 13, *range(0x20, 0x7F))]
_NEVER = "[\\x80-\\xff]"  # no byte of a scanned text
_ANY = "[\\x00-\\xff]"


def _hex(code: int) -> str:
    return f"\\x{code:02x}"


@lru_cache(maxsize=1024)
def _ascii_matches(element: str) -> str:
    """The scanned characters that ``element`` (a character or range of a class, in Python
    syntax) matches case-insensitively, each in PCRE's spelling."""
    compiled = re.compile(element, re.IGNORECASE)
    return "".join(_hex(ord(c)) for c in _SCANNED if compiled.fullmatch(c))


def _literal(code: int) -> str:
    """A literal inside a class: non-ASCII, the ASCII characters it matches (perhaps none)."""
    return _hex(code) if code <= 0x7F else _ascii_matches(re.escape(chr(code)))


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
# ``$`` is left out: whether it matches before a final newline is where dialects differ.
_ANCHORS = {"AT_BEGINNING": "^", "AT_BOUNDARY": r"\b", "AT_NON_BOUNDARY": r"\B"}


def _set(items: Any) -> str:
    negated = bool(items) and items[0][0].name == "NEGATE"
    out = []
    for op, arg in items[1:] if negated else items:
        name = op.name
        if name == "LITERAL" and (arg <= 0x7F or not negated):
            out.append(_literal(arg))
        elif name == "RANGE" and (arg[1] <= 0x7F or not negated):
            low, high = arg
            out.append(f"{_hex(low)}-{_hex(high)}" if high <= 0x7F else
                       _ascii_matches(f"[{re.escape(chr(low))}-{re.escape(chr(high))}]"))
        elif name in ("LITERAL", "RANGE"):
            continue  # non-ASCII, negated: left out, the class only widens
        elif name == "CATEGORY" and arg.name in _CATEGORIES:
            out.append(_CATEGORIES[arg.name])
        else:
            raise Untranslatable(name)
    body = "".join(out)
    if not body:  # only non-ASCII characters: none of them is in a scanned text
        return _ANY if negated else _NEVER
    return "[" + ("^" if negated else "") + body + "]"


def _node(name: str, arg: Any) -> str:
    if name == "LITERAL":
        if arg <= 0x7F:
            return _hex(arg)
        matches = _literal(arg)
        return f"[{matches}]" if matches else _NEVER
    if name == "NOT_LITERAL":
        return f"[^{_hex(arg)}]" if arg <= 0x7F else _ANY
    if name == "ANY":
        return "."
    if name == "IN":
        return _set(arg)
    if name == "BRANCH":
        return "(?:" + "|".join(_sequence(branch) for branch in arg[1]) + ")"
    if name == "SUBPATTERN":
        _group, add_flags, del_flags, inner = arg
        if add_flags or del_flags:
            raise Untranslatable("scoped flags")
        return f"(?:{_sequence(inner)})"
    if name in ("MAX_REPEAT", "MIN_REPEAT"):  # lazy or greedy: a match exists alike
        low, high, inner = arg
        upper = "" if high == _parser.MAXREPEAT else str(high)
        return f"(?:{_sequence(inner)}){{{low},{upper}}}"
    if name == "AT":
        return _ANCHORS.get(arg.name, "")  # other anchors dropped: that only widens
    if name in ("ASSERT", "ASSERT_NOT"):
        return ""  # look-arounds dropped: that only widens
    raise Untranslatable(name)


@lru_cache(maxsize=8)
def _database(patterns: tuple[str, ...]) -> tuple[Any, frozenset[int]]:
    """The Hyperscan database of the patterns it can take, and the indexes of the others."""
    if hyperscan is None:
        return None, frozenset(range(len(patterns)))
    translated, always = {}, set()
    for i, pattern in enumerate(patterns):
        try:
            translated[i] = pcre(pattern)
        except (Untranslatable, re.error):
            always.add(i)
    if not translated:
        return None, frozenset(always)
    flags = (hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
             | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_ALLOWEMPTY)
    db = hyperscan.Database()
    try:
        db.compile(expressions=[p.encode() for p in translated.values()], ids=list(translated),
                   elements=len(translated), flags=[flags] * len(translated))
    except hyperscan.HyperscanError as exc:
        log.warning("text rules are tried one by one (Hyperscan cannot compile them: %s)", exc)
        return None, frozenset(range(len(patterns)))
    return db, frozenset(always)


class Prefilter:
    """``possible(text)``: the indexes of the patterns that may match, or None: try them all."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._db, self._always = _database(tuple(patterns))
        self._scratch = threading.local()  # a Hyperscan scratch space serves one scan at a time

    def possible(self, text: str) -> set[int] | None:
        if self._db is None or _UNSAFE.search(text):
            return None
        scratch = getattr(self._scratch, "space", None)
        if scratch is None:
            scratch = self._scratch.space = hyperscan.Scratch(self._db)
        hits = set(self._always)
        self._db.scan(text.encode(), match_event_handler=_collect, context=hits, scratch=scratch)
        return hits


def _collect(pattern: int, start: int, end: int, flags: int, hits: set[int]) -> None:
    hits.add(pattern)
