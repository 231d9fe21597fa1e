"""The HTTP plumbing the worker's pages and `bounceflow ingest serve` share: a response, the
bearer or basic auth that guards them, the rule that keeps them on loopback without it, and
writing a response. No ClickHouse, no Kafka: an endpoint imports this, not the pages."""

from __future__ import annotations

import hmac
import ipaddress
import json
from base64 import b64decode
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from streams.exceptions import ConfigError
from streams.settings import Settings


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode())


@dataclass(frozen=True)
class Auth:
    """Bearer token or basic auth; neither set: no check (only allowed on a loopback address)."""

    token: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def of(cls, settings: Settings) -> Auth:
        return cls(settings.web_token, settings.web_user, settings.web_password)

    def required(self) -> bool:
        return bool(self.token or self.user)

    def allows(self, header: str | None) -> bool:
        if not self.required():
            return True
        scheme, _, value = (header or "").partition(" ")
        if self.token and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if self.user and scheme.lower() == "basic":
            try:
                given = b64decode(value.strip(), validate=True)
            except ValueError:
                return False
            return hmac.compare_digest(given, f"{self.user}:{self.password}".encode())
        return False


def check_exposure(host: str, auth: Auth, setting: str = "web_host",
                   secrets: str = "web_token, or web_user and web_password, so that the pages "
                                  "ask for them") -> None:
    """Pages bound beyond the loopback address show reports and addresses: not without auth
    (nor `ingest serve`'s endpoint, which writes to the replies topic)."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not auth.required():
        raise ConfigError(f"{setting} {host} is not a loopback address: set {secrets}")


def send(handler: BaseHTTPRequestHandler, response: Response) -> None:
    """Write ``response`` as the answer to ``handler``'s request."""
    handler.send_response(response.status)
    handler.send_header("Content-Type", response.content_type)
    handler.send_header("Content-Length", str(len(response.body)))
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(response.body)
