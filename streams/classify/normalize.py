"""Bounce-text templates: the reply with everything that varies per message masked, so that
identical causes add up in the reports (``450 <<EMAIL>>: ... Greylisted for 120 seconds``).

The masks are part of the report contract: change them only on purpose (tests pin examples).
"""

from __future__ import annotations

import re
from functools import lru_cache

# Order matters: URLs contain hosts, addresses contain hosts, IP:port before IP. Each mask has
# a substring test that any text it can match passes: a regex scan is skipped when it fails.
_MASKS: tuple[tuple[re.Pattern[str], str, re.Pattern[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), mask, re.compile(needs, re.IGNORECASE))
    for pattern, mask, needs in (
        (r"\b(?:https?|ftp)://[^\s<>\"')\]]+", "<URL>", "://"),
        (r"\b[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+\b", "<EMAIL>", "@"),
        (r"\[?\b(?:\d{1,3}\.){3}\d{1,3}\]?:\d{1,5}\b", "<IP4:PORT>", r"\d\.\d"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "<IP4>", r"\d\.\d"),
        (r"\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b\]?(?::\d{1,5}\b)?", "<IP6>", ":.*:"),
        (r"\bwww\.[\w-]+(?:\.[\w-]+)+\b", "<URL>", "www"),
        (r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24})\b", "<HOST>", r"\.[a-z]"),
        # queue ids, message ids, session tokens: long runs mixing letters and digits
        (r"\b(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{10,}\b", "<ID>", r"\d"),
        (r"\b\d{6,}\b", "<NUM>", r"\d{6}"),
    )
)
# Multi-line replies repeat the code on every line: "550-5.1.1 text\n550 5.1.1 more".
_CONTINUATION = re.compile(
    r"^\s*\d{3}[ -](?:[245]\.\d{1,3}\.\d{1,3}\s)?"  # at a line start: "550-5.1.1 "
    r"|\s\d{3}[ -][245]\.\d{1,3}\.\d{1,3}\s",  # inline only before a status: keeps "for 120 s"
    re.MULTILINE,
)
# What any match of _CONTINUATION contains, tested with str methods first: the regex is tried at
# every position (its matches start with no literal), and most texts have none of these (a status
# after "[ -]", a line after the first, a digit after the leading blanks).
_STATUS_STARTS = (" 2.", " 4.", " 5.", "-2.", "-4.", "-5.")
_LEADING_CODE = re.compile(r"^\s*(\d{3})[ -]")


def bounce_text(reply_code: int | None, reply_text: str) -> str:
    """The normalised template of one reply: code first, continuation prefixes folded, variable
    parts masked, whitespace collapsed."""
    text = reply_text.strip()
    lead = _LEADING_CODE.match(text)
    code = lead.group(1) if lead else (str(reply_code) if reply_code is not None else "")
    if lead:
        text = text[lead.end():]
    status = re.match(r"^([245]\.\d{1,3}\.\d{1,3})\s", text)
    prefix = f"{code} {status.group(1)}" if status else code
    if status:
        text = text[status.end():]
    text = masked(text)
    return f"{prefix} {text}".strip() if prefix else text


def masked(text: str) -> str:
    """The text with continuation prefixes folded, variable parts masked, whitespace collapsed.

    No mask matches whitespace, and at a word's edges ``\\b`` reads whitespace as the text's
    ends: masking word by word gives the whole text's masking, and most words recur, so each is
    masked once (only ids and addresses are new). Splitting on whitespace and joining with one
    space is the collapse (str.split and re's ``\\s`` agree on every character)."""
    if "\n" in text or text.lstrip()[:1].isdigit() or any(s in text for s in _STATUS_STARTS):
        text = _CONTINUATION.sub(" ", text)
    return " ".join(map(_masked, text.split()))


@lru_cache(maxsize=16384)
def _masked(word: str) -> str:
    for pattern, mask, needs in _MASKS:
        if needs.search(word):
            word = pattern.sub(mask, word)
    return word
