"""HTTP delivery decisions and request signing."""

import random

import pytest

from streams.delivery.policy import (
    GIVE_UP,
    MAX_DELAY_S,
    OK,
    RETRY,
    next_delay,
    outcome,
    parse_retry_after,
    signature,
    verify,
)


@pytest.mark.parametrize(("status", "body", "regex", "want"), [
    (200, "", "", OK), (204, "", "", OK), (200, '{"ok":true}', r'"ok":\s*true', OK),
    (200, "error", r'"ok":\s*true', RETRY), (500, "", "", RETRY), (503, "", "", RETRY),
    (None, "", "", RETRY), (408, "", "", RETRY), (429, "", "", RETRY),
    (400, "", "", GIVE_UP), (401, "", "", GIVE_UP), (404, "", "", GIVE_UP),
])
def test_outcome(status, body, regex, want):
    assert outcome(status, body, regex) == want


def test_backoff_grows_with_jitter_and_honours_retry_after():
    rng = random.Random(1)
    assert all(0 <= next_delay(a, None, rng) <= 2 ** (a - 1) for a in range(1, 10))
    assert max(next_delay(30, None, rng) for _ in range(50)) <= MAX_DELAY_S
    assert next_delay(3, 7.0, rng) == 7.0
    assert parse_retry_after("12") == 12.0
    # An HTTP date counts from now; one in the past means at once; nonsense means our back-off.
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    assert parse_retry_after(date, now=1792567650.0) == 30.0
    assert parse_retry_after(date, now=1792567700.0) == 0.0
    assert parse_retry_after("soon") is None


def test_signature_verifies_and_rejects_tampering_and_replays():
    body = b'[{"hook_id": "e1:hbounce"}]'
    sig = signature("s3cret", 1_800_000_000, body)
    assert verify("s3cret", "1800000000", body, sig, now=1_800_000_010)
    assert not verify("s3cret", "1800000000", body + b" ", sig, now=1_800_000_010)
    assert not verify("other", "1800000000", body, sig, now=1_800_000_010)
    assert not verify("s3cret", "1800000000", body, sig, now=1_800_001_000)  # too old
