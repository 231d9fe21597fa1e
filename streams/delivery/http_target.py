"""An HTTP subscription's endpoint: one signed, authenticated POST of a JSON array per batch."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from streams.delivery.policy import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Attempt,
    outcome,
    parse_retry_after,
    signature,
)
from streams.delivery.subscriptions import HttpSubscription


class HttpTarget:
    def __init__(self, sub: HttpSubscription) -> None:
        self.sub = sub
        self._token: tuple[str, float] | None = None

    def send(self, hooks: list[dict[str, Any]]) -> Attempt:
        body = json.dumps(hooks).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "bounceflow"}
        if self.sub.secret:
            now = int(time.time())
            headers[TIMESTAMP_HEADER] = str(now)
            headers[SIGNATURE_HEADER] = signature(self.sub.secret, now, body)
        started = time.monotonic()
        try:
            if self.sub.auth != "none":
                headers["Authorization"] = f"Bearer {self._bearer()}"
            request = urllib.request.Request(self.sub.url, data=body, headers=headers,
                                             method="POST")
            with urllib.request.urlopen(request, timeout=self.sub.timeout_s) as response:
                status, text = response.status, response.read(64 * 1024).decode(errors="replace")
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read(64 * 1024).decode(errors="replace")
            retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            if status == 401:
                self._token = None  # an expired OAuth2 token: fetch a new one next time
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return Attempt(outcome(None, ""), f"no response: {type(exc).__name__}: {exc}")
        return Attempt(outcome(status, text, self.sub.success_regex), f"{status} {text}",
                       retry_after, round((time.monotonic() - started) * 1000, 1))

    def close(self) -> None:
        pass  # one connection per request: nothing held open

    def _bearer(self) -> str:
        if self.sub.auth == "bearer":
            return self.sub.token
        if self._token is None or self._token[1] <= time.monotonic():
            form = urllib.parse.urlencode({
                "grant_type": "client_credentials", "client_id": self.sub.client_id,
                "client_secret": self.sub.client_secret}).encode()
            with urllib.request.urlopen(self.sub.token_url, data=form,
                                        timeout=self.sub.timeout_s) as response:
                answer = json.loads(response.read())
            lifetime = float(answer.get("expires_in", 3600))
            self._token = (answer["access_token"], time.monotonic() + max(lifetime - 30, 1))
        return self._token[0]
