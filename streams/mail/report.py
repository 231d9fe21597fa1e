"""What a mail reports: an RFC 3464 delivery status notification, a non-standard bounce, an
auto-reply, or nothing bounceflow reads (``Unreadable``, with the reason).

Order, first match wins:
1. RFC 3464: a ``message/delivery-status`` part (in ``multipart/report;
   report-type=delivery-status`` or, as some MTAs send it, another multipart). A report that
   declares itself one but has no readable status part is unreadable, never guessed at.
2. An auto-reply (``autoreply.py``): RFC 3834 headers, vacation subjects; never a bounce.
3. A non-standard bounce (qmail's QSBMF, plain-text bounces of old MTAs and providers):
   flufl.bounce's detectors (Mailman's) name the failed addresses, temporary or permanent; the
   diagnostic is the text that follows each address in the body.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timezone
from email import message_from_bytes
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from flufl.bounce import all_failures

from streams.mail.autoreply import is_autoreply

# Header fields of the DSN's own headers that name the address it was delivered to, most
# trustworthy first: our receiver writes X-Original-To (the RCPT TO), Postfix local delivery
# X-Original-To and Delivered-To, Exim Envelope-to, Dovecot LMTP Delivered-To.
ENVELOPE_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "to")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
# A multi-line SMTP reply's continuation prefixes ("550-5.1.1 ") inside a folded diagnostic.
_CONTINUATION = re.compile(r"\s+[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?")
_REPLY_CODE = re.compile(r"\b[245]\d\d[ -]")
_MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.I | re.M)
_FROM_LINE = re.compile(r"^From:[ \t]*(.+)$", re.I | re.M)
_RETURNED = re.compile(r"^(?:Return-Path|Received|Message-ID|From):", re.I | re.M)
# qmail-send's own words after the remote reply (QSBMF): not the receiver's diagnostic.
_QMAIL_OWN = re.compile(r"^\s*(?:Giving up on |I'm not going to try again)", re.M)
NO_DIAGNOSTIC = "delivery failed, the report gives no diagnostic"
log = logging.getLogger(__name__)
# flufl.bounce logs each traceback of a detector that trips over an odd mail before raising it;
# such a mail is reported here (unreadable, with its raw bytes), once.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a report (RFC 3464 section 2.3), or what a non-standard
    bounce says of one address."""

    recipient: str  # Final-Recipient's address
    original: str | None  # Original-Recipient's address, as the sender gave it
    action: str  # failed or delayed
    status: str | None  # RFC 3463 class.subject.detail
    diagnostic: str | None  # Diagnostic-Code without its type: "550 5.1.1 <a@b>: unknown"
    remote_mta: str | None
    last_attempt_ms: int | None


@dataclass(frozen=True)
class Report:
    kind: str  # dsn (RFC 3464), bounce (non-standard) or autoreply
    recipients: tuple[RecipientStatus, ...]  # failed and delayed only; empty for autoreply
    reporting_mta: str | None
    date_ms: int | None  # the report's own Date
    envelope_to: tuple[str, ...]  # where it was delivered (ENVELOPE_HEADERS), in that order
    original_message_id: str | None  # of the message it reports on, without <>
    original_from: str | None
    sender: str | None  # the report's From address (an auto-reply's: the recipient)
    subject: str
    message_id: str | None  # the report's own Message-ID


@dataclass(frozen=True)
class Unreadable:
    reason: str


def read(raw: bytes) -> Report | Unreadable:
    """What the mail ``raw`` reports."""
    try:
        msg = message_from_bytes(raw)
    except Exception as exc:  # the parser is lenient; a crash in it is still bad input
        return Unreadable(f"not a mail: {exc}")
    if not msg.keys():
        return Unreadable("not a mail: no header fields")
    status_part = _first(msg, ("message/delivery-status", "message/global-delivery-status"))
    declared = (msg.get_content_type() == "multipart/report"
                and (msg.get_param("report-type") or "").lower() == "delivery-status")
    if status_part is not None:
        blocks = _blocks(status_part)
        if len(blocks) < 2:
            return Unreadable("message/delivery-status part has no per-recipient fields")
        return _dsn(msg, blocks)
    if declared:
        defects = ", ".join(sorted({type(d).__name__ for d in _defects(msg)}))
        return Unreadable("multipart/report; report-type=delivery-status without a readable "
                          "message/delivery-status part" + (f" ({defects})" if defects else ""))
    if is_autoreply(msg, _subject(msg)):
        return _report(msg, "autoreply", ())
    found = _plain_bounce(msg)
    if found:
        return _report(msg, "bounce", found)
    return Unreadable("neither a delivery status notification nor an auto-reply")


def _first(msg: Message, types: tuple[str, ...]) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() in types:
            return part
    return None


def _defects(msg: Message) -> list[object]:
    return [d for part in msg.walk() for d in part.defects]


def _blocks(part: Message) -> list[Message]:
    """The status part's header blocks: the per-message fields, then one per recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message) and b.keys()]
    # message/global-delivery-status (RFC 6533) is left as text by the parser: UTF-8 fields.
    text = payload if isinstance(payload, str) else ""
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
    chunks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    return [b for b in (HeaderParser().parsestr(c) for c in chunks) if b.keys()]


def _value(block: Message, name: str) -> str | None:
    v = block.get(name)
    if v is None:
        return None
    return " ".join(str(v).split()) or None


def _typed(value: str | None) -> str | None:
    """``rfc822; a@b`` -> ``a@b`` (RFC 3464 address-type / diagnostic-type / mta-name-type)."""
    if value is None:
        return None
    _, sep, rest = value.partition(";")
    return (rest if sep else value).strip() or None


def _address(value: str | None) -> str | None:
    v = _typed(value)
    if not v:
        return None
    v = v.strip("<> ").lower()
    return v if "@" in v else None


def _ms(value: str | None) -> int | None:
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:  # "-0000": UTC, the sender's own zone unknown (RFC 5322 3.3)
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def _diagnostic(value: str | None) -> str | None:
    text = _typed(value)
    if not text:
        return None
    return _CONTINUATION.sub(" ", text).strip()


def _dsn(msg: Message, blocks: list[Message]) -> Report:
    per_message, *per_recipient = blocks
    out = []
    for b in per_recipient:
        action = (_value(b, "action") or "").lower()
        if action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: not a bounce
        final = _address(_value(b, "final-recipient"))
        original = _address(_value(b, "original-recipient"))
        if final is None and original is None:
            continue
        status = _STATUS.search(_value(b, "status") or "")
        out.append(RecipientStatus(
            recipient=final or original or "", original=original, action=action,
            status=status.group(1) if status else None,
            diagnostic=_diagnostic(_value(b, "diagnostic-code")),
            remote_mta=_typed(_value(b, "remote-mta")),
            last_attempt_ms=_ms(_value(b, "last-attempt-date")),
        ))
    return _report(msg, "dsn", tuple(out), _typed(_value(per_message, "reporting-mta")))


def _report(msg: Message, kind: str, recipients: tuple[RecipientStatus, ...],
            reporting_mta: str | None = None) -> Report:
    original_id, original_from = _returned(msg, kind)
    sender = [a for _, a in getaddresses([str(v) for v in msg.get_all("from", [])]) if "@" in a]
    envelope = []
    for name in ENVELOPE_HEADERS:
        for _, addr in getaddresses([str(v) for v in msg.get_all(name, [])]):
            if "@" in addr and addr.lower() not in envelope:
                envelope.append(addr.lower())
    own_id = msg.get("message-id")
    return Report(
        kind=kind, recipients=recipients, reporting_mta=reporting_mta,
        date_ms=_ms(_value(msg, "date")),
        envelope_to=tuple(envelope), original_message_id=original_id,
        original_from=original_from, sender=sender[0].lower() if sender else None,
        subject=_subject(msg), message_id=str(own_id).strip().strip("<>") if own_id else None,
    )


def _subject(msg: Message) -> str:
    raw = msg.get("subject")
    if raw is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(raw)))).split())
    except (ValueError, LookupError, MessageError):  # a bad encoded word or charset: as sent
        return " ".join(str(raw).split())


def _returned(msg: Message, kind: str) -> tuple[str | None, str | None]:
    """The Message-ID (without <>) and From address of the message a report is about."""
    if kind == "autoreply":  # RFC 3834 section 3.1.5: In-Reply-To names the message answered
        ref = msg.get("in-reply-to") or (str(msg.get("references") or "").split() or [None])[-1]
        return (str(ref).strip().strip("<>") or None) if ref else None, None
    headers = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            body = part.get_payload(decode=True)
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
            headers = HeaderParser().parsestr(text.lstrip())
        if headers is not None:
            break
    if headers is not None:
        mid = headers.get("message-id")
        froms = [a for _, a in getaddresses([str(v) for v in headers.get_all("from", [])])]
        return (str(mid).strip().strip("<>") or None if mid else None,
                froms[0].lower() if froms and "@" in froms[0] else None)
    # A non-standard bounce quotes the message in its text: its first header-like line on.
    text = _body_text(msg)
    start = _RETURNED.search(text)
    if start is None:
        return None, None
    quoted = text[start.start():]
    mid = _MESSAGE_ID.search(quoted)
    frm = _FROM_LINE.search(quoted)
    addrs = [a for _, a in getaddresses([frm.group(1)])] if frm else []
    return (mid.group(1).strip("<>") if mid else None,
            addrs[0].lower() if addrs and "@" in addrs[0] else None)


def _body_text(msg: Message) -> str:
    """The text of the mail's text/plain parts (the whole body of a single-part mail)."""
    texts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "message/rfc822") and msg.is_multipart():
            continue
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            try:
                texts.append(raw.decode(part.get_content_charset() or "latin-1", "replace"))
            except LookupError:  # a charset Python does not know: the bytes as Latin-1
                texts.append(raw.decode("latin-1"))
    return "\n".join(texts).replace("\r\n", "\n")  # as stored on disk or as sent by SMTP


def _plain_bounce(msg: Message) -> tuple[RecipientStatus, ...]:
    try:
        temporary, permanent = all_failures(msg)
    except Exception:
        # A detector that trips over an odd body must not stop the relay: the mail is then
        # reported as unreadable, with its raw bytes, like any other.
        log.debug("flufl.bounce failed on a mail", exc_info=True)
        return ()
    body = _body_text(msg)
    out = []
    for action, found in (("failed", permanent), ("delayed", temporary - permanent)):
        for raw_addr in sorted(found):
            addr = raw_addr.decode("utf-8", "replace") if isinstance(raw_addr, bytes) else raw_addr
            addr = addr.strip("<> ").lower()
            if "@" not in addr:
                continue
            text = _text_after(body, addr)
            status = _STATUS.search(text or "")
            out.append(RecipientStatus(
                recipient=addr, original=None, action=action,
                status=status.group(1) if status else None, diagnostic=text,
                remote_mta=None, last_attempt_ms=None))
    return tuple(out)


def _text_after(body: str, address: str) -> str | None:
    """What a plain-text bounce says of ``address``: the rest of its paragraph after the
    address (qmail: ``<a@b>:`` then the remote host's words; Exim: the address, then the
    reason indented below it), from its SMTP reply on when there is one."""
    at = body.lower().find(address)
    if at < 0:
        return None
    rest = body[at + len(address):]
    paragraph = re.split(r"\n[ \t]*\n", rest.lstrip(">: \t\r\n"), maxsplit=1)[0]
    code = _REPLY_CODE.search(paragraph)
    if code is None:
        return " ".join(paragraph.split())[:2000] or None
    text = _QMAIL_OWN.split(paragraph[code.start():], maxsplit=1)[0]
    return " ".join((text[:4] + _CONTINUATION.sub(" ", text[4:])).split())[:2000]
