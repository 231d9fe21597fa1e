"""A recipient's recent events, which let the tracking recognise the same event coming again
at another position of the input (machine.py): a DSN delivered twice, a mailbox or an MTA's log
read again, a shipper that resends. One string of fixed-width entries, each a flag (the event's
pre-state) and a 64-bit digest of the event id, oldest first. Only an address with something to
remember keeps it: a clean address has no entry at all, and a repeated delivery changes nothing.

Why not a list of event ids: a str object per id costs about 1 KB a recipient at ten events;
twelve characters an entry in one string cost a tenth of it. A digest collision would make a new
event look repeated: with 64 bits and KEPT entries per address, about 1e-18 per event.
"""

from __future__ import annotations

import base64
import hashlib

KEPT = 8
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
