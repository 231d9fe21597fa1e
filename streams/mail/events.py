"""A received mail -> the SmtpReply events it stands for, the auto-replies it is, or why neither.

Correlation (which message and recipient a report is about), first that applies:
1. a VERP address among the report's envelope addresses (``verp.py``): signed, so trusted; a
   VERP address that does not verify makes the mail forged (refused, never applied);
2. the Message-ID of the returned message (an auto-reply: its In-Reply-To), when
   ``trust_message_id`` is on: the message id is that Message-ID without <>, the recipient the
   report's Original- or Final-Recipient (an auto-reply: its sender);
3. otherwise the mail is uncorrelated: counted and reported, never guessed.

Semantics: each failed or delayed recipient is one SmtpReply at stage ``after-delivery``, the
diagnostic as its reply text, classified downstream like any live reply: a failed recipient is
``final`` (the reporting MTA gave up), hard or soft by its code or status; a delayed recipient is
soft, whatever its diagnostic's class (the MTA still tries). Event ids come from the report's
content, so the same report delivered twice (or read from SMTP and a mailbox) counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.adapters.common import Skip, build, event_id, split_reply
from streams.ingest.validation import AFTER_DELIVERY, MAX_REPLY_TEXT, problems
from streams.mail.report import NO_DIAGNOSTIC, RecipientStatus, Report, Unreadable, read
from streams.mail.verp import Correlated, Forged, Verp

STAGE = AFTER_DELIVERY
AUTOREPLY_REASON = "vacation"
# A field taken from one header line: RFC 5322 (2.1.1) bounds a line at 998 characters, so a
# longer one is not what it claims. With the texts' own bound, every record fits its topic: one
# that did not would stop the relay at its flush, mail after mail.
MAX_FIELD = 998
TEXTS = frozenset({"reply_text", "bounce_text"})


@dataclass(frozen=True)
class MailOptions:
    verp: Verp | None = None  # None: no VERP secret configured
    trust_message_id: bool = True
    account_id: int = 0
    sending_ip: str = ""


@dataclass
class Outcome:
    """What one mail gives: replies for the pipeline, auto-replies, or one reason it gives
    nothing (``problem``: unreadable, forged or uncorrelated, with a word for counting)."""

    replies: list[dict[str, Any]] = field(default_factory=list)
    autoreplies: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # unreadable, forged, uncorrelated, invalid
    reason: str = ""


def outcome(raw: bytes, received_ms: int, options: MailOptions) -> Outcome:
    report = read(raw)
    if isinstance(report, Unreadable):
        return Outcome(problem="unreadable", reason=report.reason)
    verp = _verp(report, options)
    if isinstance(verp, Forged):
        return Outcome(problem="forged", reason=f"{verp.reason}: {verp.address}")
    when = report.date_ms or received_ms
    if report.kind == "autoreply":
        if verp is None and not (options.trust_message_id and report.original_message_id
                                 and report.sender):
            return Outcome(problem="uncorrelated",
                           reason="auto-reply names no VERP address and no In-Reply-To")
        mid, email = (verp.message_id, verp.recipient) if verp else (
            report.original_message_id or "", report.sender or "")
        auto = _autoreply(report, mid, email, when, options)
        wrong = _too_long(auto) or "; ".join(problems({**auto, "reply_text": auto["bounce_text"]}))
        if wrong:
            return Outcome(problem="invalid", reason=f"auto-reply: {wrong}")
        return Outcome(autoreplies=[auto])
    if not report.recipients:
        return Outcome(problem="uncorrelated",
                       reason="delivery report names no failed or delayed recipient")
    pairs = _correlate(report, verp, options)
    if not pairs:
        return Outcome(problem="uncorrelated", reason="delivery report names no VERP address "
                       "and no Message-ID of the returned message")
    out = Outcome()
    for mid, email, status in pairs:
        reply = _reply(report, status, mid, email, received_ms, options)
        if isinstance(reply, Skip):
            return Outcome(problem="invalid", reason=reply.reason)
        wrong = _too_long(reply)
        if wrong:
            return Outcome(problem="invalid", reason=wrong)
        out.replies.append(reply)
    return out


def _too_long(record: dict[str, Any]) -> str | None:
    for name, value in record.items():
        limit = MAX_REPLY_TEXT if name in TEXTS else MAX_FIELD
        if isinstance(value, str) and len(value) > limit:
            return f"{name} is longer than {limit} characters"
    return None


def _verp(report: Report, options: MailOptions) -> Correlated | Forged | None:
    if options.verp is None:
        return None
    for address in report.envelope_to:
        found = options.verp.read(address)
        if found is not None:
            return found
    return None


def _correlate(report: Report, verp: Correlated | None, options: MailOptions,
               ) -> list[tuple[str, str, RecipientStatus]]:
    if verp is not None:
        # One message to one recipient: the block about it (an alias may expand to several),
        # else the report's most severe block.
        about = [r for r in report.recipients
                 if verp.recipient in (r.recipient, r.original)] or list(report.recipients)
        worst = next((r for r in about if r.action == "failed"), about[0])
        return [(verp.message_id, verp.recipient, worst)]
    if not (options.trust_message_id and report.original_message_id):
        return []
    seen: dict[str, RecipientStatus] = {}
    for r in report.recipients:
        email = r.original or r.recipient
        if email not in seen or (r.action == "failed" and seen[email].action != "failed"):
            seen[email] = r
    return [(report.original_message_id, email, r) for email, r in seen.items()]


def _reply(report: Report, status: RecipientStatus, message_id: str, email: str,
           received_ms: int, options: MailOptions) -> dict[str, Any] | Skip:
    code, enhanced, text = (split_reply(status.diagnostic) if status.diagnostic
                            else (None, None, ""))
    # A generic Status (Exim writes 5.0.0) says less than the remote server's own status.
    if status.status and not (enhanced and status.status.endswith(".0.0")):
        enhanced = status.status
    if status.action == "delayed":
        # Still being retried: never a permanent failure, whatever the last reply said.
        if code is not None and code >= 500:
            code = None
        if enhanced and enhanced.startswith("5"):
            enhanced = "4" + enhanced[1:]
    if not text.strip():
        text = f"{status.action}: {NO_DIAGNOSTIC}" + (f" ({enhanced})" if enhanced else "")
    identity = (message_id, email, status.action, enhanced, status.diagnostic,
                report.reporting_mta, status.last_attempt_ms)
    return build(
        event_id=event_id("mail", *identity),
        event_time=status.last_attempt_ms or report.date_ms or received_ms,
        email=email, message_id=message_id, sender=report.original_from or "",
        sending_ip=options.sending_ip, mx_host=status.remote_mta, attempt=1,
        final=status.action == "failed", stage=STAGE, code=code, enhanced=enhanced,
        text=text,
        ids={"account_id": options.account_id, "campaign_id": None, "list_id": None,
             "profile_id": None},
    )


def _autoreply(report: Report, message_id: str, email: str, when: int,
               options: MailOptions) -> dict[str, Any]:
    """The reply fields an ``autoreply`` hook is built from (``tracking/hooks.py``)."""
    return {
        "event_id": event_id("autoreply", message_id, email, report.message_id, report.subject),
        "event_time": when, "account_id": options.account_id, "profile_id": None,
        "list_id": None, "attempt": 1, "is_test": False, "message_id": message_id,
        "campaign_id": None, "email": email, "recipient_domain": email.rpartition("@")[2],
        "from_domain": (report.original_from or "").rpartition("@")[2],
        "sending_ip": options.sending_ip, "reply_code": None, "enhanced_status": None,
        "reason": AUTOREPLY_REASON, "bounce_text": report.subject.strip() or "(no subject)",
        "smtp_stage": STAGE,
    }
