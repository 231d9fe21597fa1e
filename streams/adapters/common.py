"""What the MTA adapters share: options, the deterministic event id, the SmtpReply they build,
and the reason a record gives no reply.

An adapter is pure: a record or log line in, zero or more SmtpReply dicts out, or a ``Skip``
that says why not. Adapters that must correlate lines (Postfix queue ids, the last real reply
of a message for its expiry) keep that state in plain dicts that ``state()``/``restore()``
turn into JSON, so a file reader can persist it beside its position.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from streams.datafiles import load_toml
from streams.exceptions import RulesError
from streams.ingest.validation import problems

DATA = Path(__file__).resolve().parent / "adapters.toml"
ID_FIELDS = ("account_id", "campaign_id", "list_id", "profile_id")
FORMATS = ("kumomta", "postfix", "powermta", "exim")
# RFC 3463 "delivery time expired", transient class: an expiry without a real reply to show.
EXPIRED_STATUS = "4.4.7"
# An MTA's own notices (non-delivery, delay) go out with the null sender: not mailings.
NULL_SENDER = "delivery of a bounce notice (null sender)"
# An open message silent this long (log time) never completes: Postfix's queue lifetime is 5
# days by default, Exim's default retry rule gives up after 4.
IDLE_DAYS = 7
SWEEP_LINES = 10_000  # lines between two looks for idle messages
_REPLY = re.compile(r"^([2-5]\d\d)(?:[ -]+([2-5]\.\d{1,3}\.\d{1,3}))?(?:[ -]+|$)(.*)$", re.S)


@dataclass(frozen=True)
class Skip:
    """A record that gives no reply. ``bad``: it could not be read (counted as an error);
    otherwise a record of a kind that is not a reply (Reception, internal throttling, ...)."""

    reason: str
    bad: bool = False


Result = list[dict[str, Any]] | Skip


@cache
def _data() -> dict[str, Any]:
    data = load_toml(DATA, "bounceflow.adapters/1")
    for mta, fields_ in data["fields"].items():
        if mta not in FORMATS or set(fields_) - set(ID_FIELDS):
            raise RulesError(f"{DATA}: [fields.{mta}] names an unknown MTA or field")
    return data


@cache
def _stages() -> dict[str, str]:
    return _data()["stages"]


def stage_of(command: str | None) -> str | None:
    """The smtp_stage of the command an MTA names (``RCPT TO``, ``end of DATA``, ``.``)."""
    if not command:
        return None
    return _stages().get(command) or _stages().get(command.strip().lower())


def parse_fields(spec: str) -> dict[str, str]:
    """``account_id=meta.tenant,campaign_id=jobId`` -> {field: source}; raises ValueError."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, source = part.partition("=")
        name = name.strip()
        if not sep or name not in ID_FIELDS or not source.strip():
            raise ValueError(f"ingest field {part!r}: expected one of {', '.join(ID_FIELDS)}"
                             "=<source>")
        out[name] = source.strip()
    return out


@dataclass(frozen=True)
class Options:
    """What an adapter cannot read from the record itself."""

    account_id: int = 0  # when the record names none
    sending_ip: str = ""  # when the source has none (Postfix never logs it)
    fields: Mapping[str, str] = field(default_factory=dict)  # overrides of adapters.toml
    # Postfix/Exim: values per envelope sender or sender domain (the senders mapping file)
    senders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    utc_offset_s: int | None = None  # syslog times: the log host's zone; None: this host's
    remember: int = 100_000  # messages whose last real reply is kept for their expiry

    def sources(self, mta: str) -> dict[str, str]:
        return {**_data()["fields"].get(mta, {}), **self.fields}

    def sender_values(self, sender: str) -> Mapping[str, Any]:
        if not self.senders:
            return {}
        sender = sender.lower()
        return self.senders.get(sender) or self.senders.get(sender.rpartition("@")[2]) or {}


def event_id(mta: str, *identity: object) -> str:
    """The same record always gives the same id (a replayed log is recognised downstream);
    built from the record's fields, not its bytes, so every way in agrees."""
    raw = "\x1f".join(map(str, identity))
    return f"{mta}-{hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()}"


def split_reply(text: str) -> tuple[int | None, str | None, str]:
    """``550 5.1.1 <a@b>: unknown`` -> (550, "5.1.1", "<a@b>: unknown"); text without a reply
    code is returned whole with no code."""
    m = _REPLY.match(text.strip())
    if not m:
        return None, None, text.strip()
    rest = m.group(3).strip()
    return int(m.group(1)), m.group(2), rest or text.strip()


def local_ms(dt: datetime, options: Options) -> int:
    """Epoch ms of a log time; one without a zone is in the log host's (``utc_offset_s``, by
    default this host's)."""
    if dt.tzinfo is None:
        if options.utc_offset_s is None:
            dt = dt.astimezone()
        else:
            seconds = calendar.timegm(dt.timetuple()) - options.utc_offset_s
            return seconds * 1000 + dt.microsecond // 1000
    return int(dt.timestamp() * 1000)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def log_getters(sources: Mapping[str, str], options: Options
                ) -> dict[str, Callable[[Mapping[str, str], str], Any]]:
    """The id sources of a mail log (Postfix, Exim), each a function of the headers the log
    carried (``header.<Name>``, names in lower case) and the envelope sender (``sender.<key>``:
    the senders file); any other source gives nothing."""

    def getter(source: str) -> Callable[[Mapping[str, str], str], Any]:
        where, _, key = source.partition(".")
        if where == "header":
            name = key.lower()
            return lambda headers, sender: headers.get(name)
        if where == "sender":
            return lambda headers, sender: options.sender_values(sender).get(key)
        return lambda headers, sender: None

    return {name: getter(source) for name, source in sources.items()}


def id_values(got: Mapping[str, Any], options: Options) -> dict[str, Any]:
    """account/campaign/list/profile from the values the record's sources gave (or None)."""
    profile = got.get("profile_id")
    return {
        "account_id": as_int(got.get("account_id")) or options.account_id,
        "campaign_id": as_int(got.get("campaign_id")),
        "list_id": as_int(got.get("list_id")),
        "profile_id": None if profile in (None, "") else str(profile),
    }


def build(
    *, event_id: str, event_time: int, email: str, message_id: str, sender: str,
    sending_ip: str, mx_host: str | None, attempt: int, final: bool, stage: str | None,
    code: int | None, enhanced: str | None, text: str, ids: Mapping[str, Any],
) -> dict[str, Any] | Skip:
    """One SmtpReply, or a bad Skip when it would not pass validation."""
    reply = {
        "event_id": event_id, "event_time": event_time, **ids, "message_id": message_id,
        "email": email, "from_domain": sender.rpartition("@")[2].lower(),
        "sending_ip": sending_ip, "mx_host": mx_host or None, "attempt": max(1, attempt),
        "final": final, "smtp_stage": stage, "reply_code": code, "enhanced_status": enhanced,
        "reply_text": text, "is_test": False,
    }
    wrong = problems(reply)
    if wrong:
        return Skip("invalid reply: " + "; ".join(wrong), bad=True)
    return reply


def gathered(results: list[dict[str, Any] | Skip]) -> Result:
    """The replies of a record's recipients; the first skip when none gave one."""
    replies = [r for r in results if not isinstance(r, Skip)]
    if replies or not results:
        return replies
    return results[0]  # type: ignore[return-value]


def last_reply(reply: dict[str, Any], *extra: str) -> dict[str, Any]:
    """What an expiry shows of a message's last real reply (plus the ``extra`` fields)."""
    return {k: reply[k] for k in ("reply_code", "enhanced_status", "reply_text", "smtp_stage",
                                  *extra)}


class LastReplies:
    """The last real reply of each pending message (bounded, oldest forgotten first): an
    expiry shows it instead of the MTA's synthetic text."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def keep(self, key: str, reply: dict[str, Any]) -> None:
        if self.limit <= 0:
            return
        self.items[key] = last_reply(reply)
        self.items.move_to_end(key)
        while len(self.items) > self.limit:
            self.items.popitem(last=False)

    def pop(self, key: str) -> dict[str, Any] | None:
        return self.items.pop(key, None)


class Idle:
    """Forgets the open messages of a log that never complete (a lost line, a purged queue):
    each entry of ``queue`` keeps its last log time in ``t``; every SWEEP_LINES lines those
    silent IDLE_DAYS are dropped and counted, so memory and the --follow state stay bounded."""

    def __init__(self, queue: dict[str, dict[str, Any]]) -> None:
        self.queue = queue
        self.abandoned = 0
        self._lines = 0

    def tick(self, now: int) -> None:
        self._lines += 1
        if self._lines % SWEEP_LINES:
            return
        horizon = now - IDLE_DAYS * 86_400_000
        idle = [key for key, entry in self.queue.items() if entry.get("t", 0) < horizon]
        for key in idle:
            del self.queue[key]
        self.abandoned += len(idle)


class QueueLog:
    """What the adapter of a log whose lines are joined by a queue or message id keeps: the open
    entries (saved in and restored from the ingest state file) and those given up on."""

    def __init__(self) -> None:
        self.queue: dict[str, dict[str, Any]] = {}
        self.idle = Idle(self.queue)

    def state(self) -> dict[str, Any]:
        return {"queue": self.queue, "abandoned": self.abandoned}

    def restore(self, state: dict[str, Any]) -> None:
        self.queue.update(state.get("queue", {}))
        self.idle.abandoned = state.get("abandoned", 0)

    @property
    def abandoned(self) -> int:
        """Entries that never completed."""
        return self.idle.abandoned

    @property
    def open(self) -> int:
        return len(self.queue)


def gave_up(last: dict[str, Any] | None, fallback: str) -> dict[str, Any]:
    """The reply fields of "the MTA gave up": the message's last real reply when known, else
    its own text under a transient "delivery time expired" status, never a permanent one (an
    expiry must not read as a hard bounce or suppress anyone)."""
    if last is not None and (last["reply_code"] or 0) < 500:
        return {"code": last["reply_code"], "enhanced": last["enhanced_status"],
                "text": last["reply_text"], "stage": last["smtp_stage"]}
    return {"code": None, "enhanced": EXPIRED_STATUS, "text": fallback, "stage": None}
