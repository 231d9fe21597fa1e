"""Which text rules may match a reply, in one pass over its text: a Hyperscan database of every
rule's pattern, compiled in prefilter mode.

Why: a bounce tried its candidate rules' regular expressions one by one, about ninety of them; a
Hyperscan scan names the few that may match, and only those are confirmed with Python's ``re``
in rule order: the same decisions for a fraction of the time (docs/performance-history.md).

The scan may name a rule that does not match, never miss one that does. To keep that promise:
- Hyperscan is given each pattern as Python parsed it, rewritten in PCRE syntax (the dialects
  read some spellings differently: ``x{,3}`` is a repeat in one, text in the other), with
  look-arounds dropped (that only widens), in prefilter mode (which widens what it cannot
  express);
- a pattern outside that translation (back references, scoped flags) is a rule that is always
  tried;
- ASCII text without control characters is scanned as it is: there the two engines agree on
  case folding, ``\\s``, ``\\d`` and ``\\w``, and a non-ASCII character of a pattern stands
  for the ASCII ones Python's case folding lets it match (the Kelvin sign for k; none for a
  Cyrillic letter);
- any other text is scanned with each of its other characters replaced by one placeholder
  byte, against a wider translation: whatever could match such a character (a non-ASCII
  letter, ``\\w``, a class, ``i``, ``k`` and ``s``, which fold from non-ASCII letters) also
  matches the placeholder, and word boundaries are dropped. A Russian bounce is then tried
  against the few rules with words of its words' lengths, not all of them;
- where Hyperscan is not installed, every text tries every candidate rule.
Compiling the rules takes seconds, so a compiled database is kept in ``~/.cache/bounceflow``
under a digest of what it was compiled from; a start with the same rules loads it instead.
tests/unit/test_prefilter.py checks the scan against Python's re, rule by rule, and that the
classifier decides alike with it and without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import re
import sys
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
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

# Characters the narrow translation is exact for. A text with others is scanned with the wide
# one, each other character replaced by _OTHER: the text keeps its length in characters.
_OTHERS = re.compile(r"[^\t\n\r\x20-\x7e]")
_OTHER = "\x80"
# Chinese, Japanese and Korean characters have a placeholder of their own: a CJK word of a
# pattern then stands for CJK text only, not for every Cyrillic or accented word of its length
# (none of them folds to an ASCII letter).
_CJK = re.compile("[\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
                  "\uff00-\uffef]")
_CJK_OTHER = "\x81"
_NOT_CJK = re.compile(r"[^\t\n\r\x20-\x7e\x81]")  # the others, once CJK is replaced
_SCANNED = [chr(c) for c in (9, 10, 13, *range(0x20, 0x7F))]
_NEVER = "[\\x82-\\xff]"  # no byte of a scanned text
_ANY = "[\\x00-\\xff]"
# ASCII letters that Python's case folding matches with non-ASCII ones (U+0130, U+0131, U+017F
# and the Kelvin sign; tests/unit/test_prefilter.py checks the list against all of Unicode).
FOLDED_FROM_NON_ASCII = frozenset("iks")


class Untranslatable(Exception):
    pass


def pcre(pattern: str, wide: bool = False) -> str:
    """``pattern`` (a case-insensitive Python regex) in PCRE syntax, matching at least what it
    matches in ASCII text without control characters; ``wide``: in any text with its other
    characters replaced by _OTHER."""
    parsed = _parser.parse(pattern, re.IGNORECASE)
    if parsed.state.flags & ~(re.IGNORECASE | re.UNICODE | re.VERBOSE):
        raise Untranslatable(f"flags {parsed.state.flags!r}")
    return _Translation(wide).sequence(parsed)


def _hex(code: int) -> str:
    return f"\\x{code:02x}"


@lru_cache(maxsize=1024)
def _ascii_matches(element: str) -> str:
    """The scanned characters that ``element`` (a character or range of a class, in Python
    syntax) matches case-insensitively, each in PCRE's spelling."""
    compiled = re.compile(element, re.IGNORECASE)
    return "".join(_hex(ord(c)) for c in _SCANNED if compiled.fullmatch(c))


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
# ``$`` is left out: whether it matches before a final newline is where dialects differ.
_ANCHORS = {"AT_BEGINNING": "^", "AT_BOUNDARY": r"\b", "AT_NON_BOUNDARY": r"\B"}


class _Translation:
    """Narrow: for ASCII text, where the dialects agree on case folding, ``\\s``, ``\\d`` and
    ``\\w``, a non-ASCII character of a pattern stands for the ASCII ones it matches.
    Wide: _OTHER may stand for any non-ASCII or control character of the text, so whatever
    could match one matches it too, and word boundaries are dropped (its wordness is unknown)."""

    def __init__(self, wide: bool) -> None:
        self.wide = wide
        self.other = _hex(ord(_OTHER)) if wide else ""
        self.cjk = _hex(ord(_CJK_OTHER)) if wide else ""

    def sequence(self, items: Any) -> str:
        return "".join(self.node(op.name, arg) for op, arg in items)

    def literal(self, code: int) -> str:
        """A character of a class: the scanned characters it matches."""
        if code > 0x7F:
            if _CJK.match(chr(code)):
                return self.cjk
            return _ascii_matches(re.escape(chr(code))) + self.other
        if chr(code).lower() in FOLDED_FROM_NON_ASCII:
            return _hex(code) + self.other
        return _hex(code)

    def set(self, items: Any) -> str:
        negated = bool(items) and items[0][0].name == "NEGATE"
        out = []
        for op, arg in items[1:] if negated else items:
            name = op.name
            if name == "LITERAL" and (arg <= 0x7F or not negated):
                out.append(_hex(arg) if negated else self.literal(arg))
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
        if not negated:
            # a non-ASCII character may be in the class, or fold into it
            out.append(self.other + self.cjk)
        body = "".join(out)
        if not body:  # only non-ASCII characters: none of them is in a scanned text
            return _ANY if negated else _NEVER
        return "[" + ("^" if negated else "") + body + "]"

    def node(self, name: str, arg: Any) -> str:
        if name == "LITERAL":
            matches = self.literal(arg)
            if matches == _hex(arg):
                return matches
            return f"[{matches}]" if matches else _NEVER
        if name == "NOT_LITERAL":
            return f"[^{_hex(arg)}]" if arg <= 0x7F else _ANY
        if name == "ANY":
            return "."
        if name == "IN":
            return self.set(arg)
        if name == "BRANCH":
            return "(?:" + "|".join(self.sequence(branch) for branch in arg[1]) + ")"
        if name == "SUBPATTERN":
            _group, add_flags, del_flags, inner = arg
            if add_flags or del_flags:
                raise Untranslatable("scoped flags")
            return f"(?:{self.sequence(inner)})"
        if name in ("MAX_REPEAT", "MIN_REPEAT"):  # lazy or greedy: a match exists alike
            low, high, inner = arg
            upper = "" if high == _parser.MAXREPEAT else str(high)
            return f"(?:{self.sequence(inner)}){{{low},{upper}}}"
        if name == "AT":
            if self.wide and arg.name != "AT_BEGINNING":
                return ""
            return _ANCHORS.get(arg.name, "")  # other anchors dropped: that only widens
        if name in ("ASSERT", "ASSERT_NOT"):
            return ""  # look-arounds dropped: that only widens
        raise Untranslatable(name)


@lru_cache(maxsize=8)
def _database(patterns: tuple[str, ...], wide: bool = False) -> tuple[Any, frozenset[int]]:
    """The Hyperscan database of the patterns it can take, and the indexes of the others."""
    if hyperscan is None:
        return None, frozenset(range(len(patterns)))
    translated, always = {}, set()
    for i, pattern in enumerate(patterns):
        try:
            translated[i] = pcre(pattern, wide)
        except (Untranslatable, re.error):
            always.add(i)
    if not translated:
        return None, frozenset(always)
    flags = (hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
             | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_ALLOWEMPTY)
    cached = (None if CACHE_DIR is None
              else CACHE_DIR / f"prefilter-{_digest(translated, flags)}.hsdb")
    db = None if cached is None else _load(cached)
    if db is not None:
        return db, frozenset(always)
    db = hyperscan.Database()
    try:
        db.compile(expressions=[p.encode() for p in translated.values()], ids=list(translated),
                   elements=len(translated), flags=[flags] * len(translated))
    except hyperscan.HyperscanError as exc:
        log.warning("text rules are tried one by one (Hyperscan cannot compile them: %s)", exc)
        return None, frozenset(range(len(patterns)))
    if cached is not None:
        _store(cached, db)
    return db, frozenset(always)


def _cache_dir() -> Path | None:
    try:
        return Path.home() / ".cache" / "bounceflow"
    except RuntimeError:  # no home (no HOME, no passwd entry): no cache rather than a shared one
        return None


CACHE_DIR = _cache_dir()
KEPT_BYTES = 64 << 20


def _digest(translated: dict[int, str], flags: int) -> str:
    # A database is valid for the same expressions, ids and flags, on the same Hyperscan and CPU
    # family; loadb refuses one built for another platform, which is then compiled again.
    what = repr((hyperscan.__version__, platform.machine(), flags, sorted(translated.items())))
    return hashlib.sha256(what.encode()).hexdigest()[:32]


def _load(path: Path) -> Any:
    try:
        if not _private(path.parent) or not _private(path):
            log.warning("compiling the text rules: %s is not this user's alone, not loaded", path)
            return None
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        os.utime(path)  # used now: the last to be dropped (``_store``)
        return db
    except FileNotFoundError:
        return None
    except (OSError, hyperscan.HyperscanError) as exc:
        log.info("compiling the text rules again (%s unreadable: %s)", path, exc)
        return None


def _private(path: Path) -> bool:
    # Hyperscan trusts a database's bytes: one another user could have written is not loaded.
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _store(path: Path, db: Any) -> None:
    # Written aside and renamed, so that a process starting at the same time never reads half.
    partial = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
        partial = Path(name)
        with os.fdopen(fd, "wb") as out:
            out.write(hyperscan.dumpb(db))
        partial.replace(path)
    except OSError as exc:
        log.info("the compiled text rules are not kept (%s: %s)", path.parent, exc)
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink()
        return
    # Rules edited again and again (or many small rule sets) leave no heap behind: the databases
    # used last are kept, up to KEPT_BYTES. Another process may drop a file meanwhile.
    sizes = []
    for kept in path.parent.glob("prefilter-*.hsdb"):
        with contextlib.suppress(OSError):
            st = kept.stat()
            sizes.append((st.st_mtime, st.st_size, kept))
    total = 0
    for _, size, kept in sorted(sizes, key=lambda entry: -entry[0]):
        total += size
        if total > KEPT_BYTES and kept != path:
            with contextlib.suppress(OSError):
                kept.unlink()


class Prefilter:
    """``possible(text)``: the indexes of the patterns that may match, or None: try them all."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._narrow, self._always = _database(tuple(patterns))
        self._wide, _ = _database(tuple(patterns), wide=True)
        self._scratch = threading.local()  # a Hyperscan scratch space serves one scan at a time

    def possible(self, text: str) -> set[int] | None:
        db = self._narrow
        if db is not None and _OTHERS.search(text):
            db, text = self._wide, _NOT_CJK.sub(_OTHER, _CJK.sub(_CJK_OTHER, text))
        if db is None:
            return None
        spaces = getattr(self._scratch, "spaces", None)
        if spaces is None:
            spaces = self._scratch.spaces = {}
        scratch = spaces.get(id(db))
        if scratch is None:
            scratch = spaces[id(db)] = hyperscan.Scratch(db)
        hits = set(self._always)
        db.scan(text.encode("latin-1"), match_event_handler=_collect, context=hits,
                scratch=scratch)
        return hits


def _collect(pattern: int, start: int, end: int, flags: int, hits: set[int]) -> None:
    hits.add(pattern)
