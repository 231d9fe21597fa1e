"""Hook subscriptions: where action hooks go and which ones, read from a TOML file
(``BOUNCEFLOW_HOOKS_FILE``), as the modelled platform's hook settings have them::

    [[http]]
    name = "crm"
    url = "https://crm.example/hooks"
    event_types = ["hbounce", "status", "undeliv"]   # empty or absent: every type
    accounts = [1]                                    # also lists, campaigns
    include_test = false
    secret = "..."                                    # signs every request (HMAC-SHA256)
    auth = "bearer"                                   # none, bearer (token) or oauth2
    token = "..."                                     # oauth2: token_url, client_id, client_secret

    [[rabbitmq]]
    name = "billing"
    url = "amqp://user:password@rabbit.example:5672/"
    queue = "bounces"            # one message per hook; or exchange = "hooks" (routing key
                                 # "<list_id>.<event_type>"), exchange_type = "topic"

Pure: loading, checking and matching; delivery is in ``delivery.py`` and its targets.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from streams.exceptions import ConfigError

AUTH = ("none", "bearer", "oauth2")
EXCHANGE_TYPES = ("direct", "topic", "fanout", "headers")


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """What every target has: a name, the hooks it wants, batching and the retry window."""

    name: str
    event_types: tuple[str, ...] = ()
    accounts: tuple[int, ...] = ()
    lists: tuple[int, ...] = ()
    campaigns: tuple[int, ...] = ()
    include_test: bool = False
    batch_size: int = 100
    batch_seconds: float = 1.0
    timeout_s: float = 10.0
    retry_window_s: float = 86400.0

    def matches(self, hook: dict[str, Any]) -> bool:
        data = hook["event_data"]
        return ((not self.event_types or hook["event_type"] in self.event_types)
                and (not self.accounts or hook["account_id"] in self.accounts)
                and (not self.lists or hook["list_id"] in self.lists)
                and (not self.campaigns or data["campaign_id"] in self.campaigns)
                and (self.include_test or not hook["is_test"]))


@dataclass(frozen=True, kw_only=True)
class HttpSubscription(Subscription):
    url: str
    success_regex: str = ""
    secret: str = field(default="", repr=False)
    auth: str = "none"
    token: str = field(default="", repr=False)
    token_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)

    @property
    def target(self) -> str:
        return self.url


@dataclass(frozen=True, kw_only=True)
class RabbitSubscription(Subscription):
    url: str = field(repr=False)  # amqp://user:password@host:port/vhost: holds a password
    queue: str = ""
    exchange: str = ""
    exchange_type: str = "topic"

    @property
    def target(self) -> str:
        where = f"queue {self.queue}" if self.queue else f"exchange {self.exchange}"
        return f"rabbitmq {where}"

    def routing_key(self, hook: dict[str, Any]) -> str:
        """The queue's name, or ``<list_id>.<event_type>`` for an exchange (the modelled
        platform's key; ``0`` when the hook has no list)."""
        if self.queue:
            return self.queue
        return f"{hook['list_id'] or 0}.{hook['event_type']}"


KINDS: dict[str, type[Subscription]] = {"http": HttpSubscription, "rabbitmq": RabbitSubscription}


def load(path: str | Path) -> list[Subscription]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"hooks file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"hooks file {path}: {exc}") from None
    unknown = set(data) - set(KINDS)
    if unknown:
        raise ConfigError(f"hooks file {path}: unknown sections {sorted(unknown)}; "
                          f"subscriptions are [[{']], [['.join(KINDS)}]]")
    out: list[Subscription] = []
    for kind, cls in KINDS.items():
        known = {f.name for f in fields(cls)}
        for n, raw in enumerate(data.get(kind, []), start=1):
            where = f"hooks file {path}, {kind} subscription {raw.get('name', n)}"
            if set(raw) - known:
                raise ConfigError(f"{where}: unknown keys {sorted(set(raw) - known)}")
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            try:
                sub = cls(**values)
            except TypeError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            _check(sub, where)
            out.append(sub)
    names = [s.name for s in out]
    if len(names) != len(set(names)):
        raise ConfigError(f"hooks file {path}: subscription names must be unique")
    return out


def _check(sub: Subscription, where: str) -> None:
    if sub.batch_size < 1 or sub.timeout_s <= 0 or sub.retry_window_s <= 0:
        raise ConfigError(f"{where}: batch_size, timeout_s and retry_window_s must be positive")
    if isinstance(sub, HttpSubscription):
        _check_http(sub, where)
    elif isinstance(sub, RabbitSubscription):
        _check_rabbit(sub, where)


def _check_rabbit(sub: RabbitSubscription, where: str) -> None:
    if not re.match(r"^amqps?://", sub.url):
        raise ConfigError(f"{where}: url must start with amqp:// or amqps://")
    if bool(sub.queue) == bool(sub.exchange):
        raise ConfigError(f"{where}: give a queue or an exchange, not both")
    if sub.exchange_type not in EXCHANGE_TYPES:
        raise ConfigError(f"{where}: exchange_type must be one of {', '.join(EXCHANGE_TYPES)}")


def _check_http(sub: HttpSubscription, where: str) -> None:
    if not re.match(r"^https?://", sub.url):
        raise ConfigError(f"{where}: url must start with http:// or https://")
    if sub.auth not in AUTH:
        raise ConfigError(f"{where}: auth must be one of {', '.join(AUTH)}")
    if sub.auth == "bearer" and not sub.token:
        raise ConfigError(f"{where}: auth = bearer needs a token")
    if sub.auth == "oauth2" and not (sub.token_url and sub.client_id and sub.client_secret):
        raise ConfigError(f"{where}: auth = oauth2 needs token_url, client_id, client_secret")
    if sub.success_regex:
        try:
            re.compile(sub.success_regex)
        except re.error as exc:
            raise ConfigError(f"{where}: success_regex: {exc}") from None
