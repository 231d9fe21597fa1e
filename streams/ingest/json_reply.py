"""An SmtpReply written as a JSON object (`bounceflow produce`'s lines, the json input format):
checked against the schema and the validation, times as epoch ms or RFC 3339."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastavro.validation import ValidationError, validate

from streams.ingest.codec import schema
from streams.ingest.validation import problems


def parse_line(line: str) -> dict[str, Any]:
    """One JSON Lines record as an SmtpReply dict; raises ValueError saying why not."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    t = obj.get("event_time")
    if isinstance(t, str):
        try:
            obj["event_time"] = int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
                                    * 1000)
        except ValueError:
            raise ValueError(f"event_time {t!r} is not RFC 3339 or epoch milliseconds") from None
    unknown = set(obj) - {f["name"] for f in schema("smtp_reply")["fields"]}
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        validate(obj, schema("smtp_reply"), raise_errors=True)
    except ValidationError as exc:
        raise ValueError(f"does not match the SmtpReply schema: {_schema_errors(exc)}") from None
    wrong = problems(obj)
    if wrong:
        raise ValueError("; ".join(wrong))
    return obj


def _schema_errors(exc: ValidationError) -> str:
    # fastavro lists every union branch it tried; the field paths are what a user needs.
    paths = sorted({str(e).split(" ")[0].strip('"') for e in exc.errors})
    return "check the types of " + ", ".join(paths)
