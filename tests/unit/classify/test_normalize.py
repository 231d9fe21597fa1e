"""Bounce-text templates: the design's examples, pinned; and masking word by word equals
masking the whole text."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.classify import normalize
from streams.classify.normalize import bounce_text
from streams.local.synth import generate
from tests.unit.classify.test_corpus import load


@pytest.mark.parametrize(
    ("code", "text", "template"),
    [
        (450, "<john@example.com>: Sender address rejected: Greylisted for 120 seconds! Please, "
              "see http://www.example.org/greylist?id=9f8e7d",
         "450 <<EMAIL>>: Sender address rejected: Greylisted for 120 seconds! Please, see <URL>"),
        (None, "dial tcp 10.1.2.3:34567->198.51.100.7:25: i/o timeout",
         "dial tcp <IP4:PORT>-><IP4:PORT>: i/o timeout"),
        (550, "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
              "550-5.1.1 double-checking the recipient's email address for typos or\n"
              "550 5.1.1 unnecessary spaces.",
         "550 5.1.1 The email account that you tried to reach does not exist. Please try "
         "double-checking the recipient's email address for typos or unnecessary spaces."),
        (554, "Client host [203.0.113.9] blocked using zen.spamhaus.org; id 4Bx2Yk5z1Hz8",
         "554 Client host [<IP4>] blocked using <HOST>; id <ID>"),
    ],
)
def test_templates(code, text, template):
    assert bounce_text(code, text) == template


def test_identical_causes_add_up():
    a = bounce_text(452, "Mailbox full: alice@mail.ru, queue 20260101123456")
    b = bounce_text(452, "Mailbox full: bob@mail.ru, queue 20260101999999")
    assert a == b == "452 Mailbox full: <EMAIL>, queue <NUM>"


def test_numbers_that_carry_meaning_stay():
    assert "120 seconds" in bounce_text(450, "Greylisted for 120 seconds")
    assert bounce_text(450, "Greylisted for 120 seconds") != bounce_text(
        450, "Greylisted for 300 seconds")


def masked_as_a_whole(text: str) -> str:
    """The masks applied to the whole text, one after another (the definition)."""
    text = normalize._CONTINUATION.sub(" ", text)
    for pattern, mask, _needs in normalize._MASKS:
        text = pattern.sub(mask, text)
    return re.sub(r"\s+", " ", text).strip()


KNOWN = [row["text"] for row in load()] + [e["reply_text"] for e in generate(3000, seed=5)]


def test_known_texts_are_masked_word_by_word_as_a_whole() -> None:
    for text in KNOWN:
        assert normalize.masked(text) == masked_as_a_whole(text), text


@pytest.mark.parametrize("text", [
    "text 550 5.1.1 more", "a 450 4.2.0 b", "a 452-4.2.2 b", "x 250 2.0.0 y", "a 550-5.1.1 b",
    "b 421-4.7.0 c", "c 250-2.0.0 d", "x\n550 y", "  550 5.1.1 y", "\u2028421-4.7.0 x", "550-text",
])
def test_continuation_prefixes_are_folded(text: str) -> None:
    assert normalize.masked(text) == masked_as_a_whole(text)
    assert normalize.masked(text) != " ".join(text.split())


# Pieces of what the masks look for, glued by every kind of separator, whitespace or not.
pieces = st.sampled_from([
    "alice@mail.ru", "<bob.x+y@sub.example.com>", "10.1.2.3", "[203.0.113.9]:25", "::1",
    "fe80::1:2", "http://x.example/a?b=1", "www.example.org", "mx.gmail.com", "4Bx2Yk5z1Hz8",
    "20260101123456", "550-5.1.1", "5.7.1", "full", "a", "-", "_", ".", ":", "@", "[", "]",
    "1", "12", "123456", "\u00e9", "\u0430\u0431", "421", "4.2.0", "250-2.0.0",
]) | st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=0x450), max_size=6)
separators = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\n550 ", "\xa0", "\u2028",
                              "\x1c", ",", ";", "/", "=", "(", ")"])
texts = st.lists(st.tuples(pieces, separators), max_size=14).map(
    lambda parts: "".join(piece + sep for piece, sep in parts))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_texts_are_masked_word_by_word_as_a_whole(text: str) -> None:
    assert normalize.masked(text) == masked_as_a_whole(text)
