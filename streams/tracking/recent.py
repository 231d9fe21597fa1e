"""A recipient's recent events, which let the tracking recognise a replayed event (machine.py):
one string of fixed-width entries, each a flag (the event's pre-state) and a 64-bit digest of the
event id, oldest first.

Why not a list of event ids: at 100,000 recipients with ten events each, a list of ids costs about
1 KB per recipient (a str object per id), 100 MB of a worker's state and as much changelog JSON;
ten 12-character entries in one string cost about 170 bytes. A digest collision would make a new
event look replayed: with 64 bits and 32 entries per address, about 2e-18 per event.
"""

from __future__ import annotations

import base64
import hashlib

KEPT = 32
WIDTH = 12  # the flag, then the digest's 11 base64 characters


def digest(event_id: str) -> str:
    raw = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(raw)[:11].decode()


def flag_of(recent: str, event_digest: str) -> str | None:
    """The flag kept with the event, or None if it is not among the recent events."""
    at = recent.find(event_digest)
    while at >= 0:
        if at % WIDTH == 1:  # a match across two entries is not this event
            return recent[at - 1]
        at = recent.find(event_digest, at + 1)
    return None


def append(recent: str, flag: str, event_digest: str) -> str:
    return recent[-(KEPT - 1) * WIDTH:] + flag + event_digest


def parse(value: str | list[str]) -> str:
    """A stored value; changelogs written before this format hold a list of flag + event id."""
    if isinstance(value, str):
        return value
    return "".join(entry[0] + digest(entry[1:]) for entry in value[-KEPT:])
