"""VERP (variable envelope return path) addresses that say which message and recipient a bounce
is about, signed so that a forged bounce cannot suppress an address.

``bounces+{token}@{domain}`` (the pattern is a setting) where the token is
``<message id>=<recipient local part>=<recipient domain>=<signature>``: the signature is an
HMAC-SHA256 of the message id and recipient under a secret (80 bits, base32). Characters that
may not stand in a local part, and ``+`` and ``%``, are written ``+XX`` (hex of each UTF-8
byte); ``=`` may stand in the message id or local part: the split that verifies is the one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from dataclasses import dataclass

# RFC 5322 atext and ".", minus "+" (the escape, and Postfix's recipient_delimiter) and "%"
# (the percent hack some MTAs still route by).
_SAFE = frozenset(string.ascii_letters + string.digits + "!#$&'*/=?^_`{|}~.-")
_ESCAPED = re.compile(r"\+([0-9A-Fa-f]{2})")
SIGNATURE_CHARS = 16  # 10 bytes of the HMAC in base32


@dataclass(frozen=True)
class Correlated:
    message_id: str
    recipient: str


@dataclass(frozen=True)
class Forged:
    address: str
    reason: str


def _escape(text: str) -> str:
    return "".join(c if c in _SAFE else "".join(f"+{b:02X}" for b in c.encode())
                   for c in text)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text).encode(
        "latin-1", "replace").decode("utf-8", "replace")


class Verp:
    def __init__(self, pattern: str, domain: str, secret: str) -> None:
        """``pattern``: an address with ``{token}`` and ``{domain}``; ``secret``: the HMAC key
        (not empty: an unsigned VERP address would let anyone suppress anyone)."""
        if pattern.count("{token}") != 1 or "@" not in pattern:
            raise ValueError(f"VERP pattern {pattern!r} needs one {{token}} and an @domain")
        if not secret:
            raise ValueError("VERP needs a secret")
        self.pattern, self.domain = pattern, domain.lower()
        self._key = secret.encode()
        head, _, tail = pattern.replace("{domain}", self.domain).partition("{token}")
        self._re = re.compile(re.escape(head) + r"(?P<token>.+)" + re.escape(tail), re.I)

    def signature(self, message_id: str, recipient: str) -> str:
        mac = hmac.new(self._key, f"{message_id}\x1f{recipient.lower()}".encode(),
                       hashlib.sha256).digest()
        return base64.b32encode(mac[:10]).decode().lower()

    def address(self, message_id: str, recipient: str) -> str:
        """The return path of ``message_id`` sent to ``recipient``."""
        local, _, domain = recipient.lower().rpartition("@")
        token = "=".join((_escape(message_id), _escape(local), _escape(domain),
                          self.signature(message_id, recipient)))
        return self.pattern.replace("{domain}", self.domain).replace("{token}", token)

    def read(self, address: str) -> Correlated | Forged | None:
        """The message and recipient of a VERP address; None when ``address`` is not one."""
        m = self._re.fullmatch(address.strip().strip("<>"))
        if m is None:
            return None
        parts = m.group("token").rsplit("=", 2)
        if len(parts) != 3 or len(parts[2]) != SIGNATURE_CHARS:
            return Forged(address, "VERP token has no signature")
        head, domain, signature = parts
        domain = _unescape(domain)
        # The message id and the local part may both hold "=": the signed split is the one.
        for i, c in enumerate(head):
            if c != "=":
                continue
            message_id, local = _unescape(head[:i]), _unescape(head[i + 1:])
            recipient = f"{local}@{domain}".lower()
            if message_id and local and hmac.compare_digest(
                    self.signature(message_id, recipient).encode(),
                    signature.lower().encode("utf-8", "replace")):
                return Correlated(message_id, recipient)
        return Forged(address, "VERP signature does not verify")

    def in_domain(self, address: str) -> bool:
        return address.strip().strip("<>").lower().rpartition("@")[2] == self.domain
