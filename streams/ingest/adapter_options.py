"""The MTA adapters' Options from the ingest_* settings (and the senders file they name): the
adapters themselves (streams/adapters/) stay pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.adapters.common import Options, parse_fields
from streams.datafiles import load_toml
from streams.exceptions import ConfigError, RulesError
from streams.settings import Settings


def options_from(settings: Settings) -> Options:
    """The adapters' options from the ingest_* settings; raises ConfigError."""
    try:
        fields_ = parse_fields(settings.ingest_fields)
    except ValueError as exc:
        raise ConfigError(f"ingest_fields: {exc}") from None
    senders: dict[str, Any] = {}
    if settings.ingest_senders_file:
        try:
            raw = load_toml(Path(settings.ingest_senders_file), "bounceflow.senders/1")
        except (OSError, RulesError) as exc:
            raise ConfigError(f"ingest_senders_file: {exc}") from None
        senders = {k.lower(): v for k, v in raw.items() if isinstance(v, dict)}
    offset = None
    if settings.ingest_log_utc_offset:
        text = settings.ingest_log_utc_offset.strip()
        try:
            sign = -1 if text[0] == "-" else 1
            digits = text.lstrip("+-").replace(":", "")
            hours, minutes = digits[:2], digits[2:]
            if not digits.isdigit() or len(digits) not in (2, 4):
                raise ValueError(text)
            offset = sign * (int(hours) * 3600 + int(minutes or 0) * 60)
        except (ValueError, IndexError):
            raise ConfigError(f"ingest_log_utc_offset {text!r} is not +HH:MM") from None
    return Options(account_id=settings.ingest_account_id, sending_ip=settings.ingest_sending_ip,
                   fields=fields_, senders=senders, utc_offset_s=offset)
