"""Bounce-text templates: the design's examples, pinned."""

import pytest

from streams.normalize import bounce_text


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
