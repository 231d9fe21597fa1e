"""Classification basics and policies, on replies shaped like real traffic."""

import pytest

from streams.classify.classifier import Classifier


@pytest.fixture(scope="module")
def altcraft():
    return Classifier("altcraft")


@pytest.fixture(scope="module")
def recipient():
    return Classifier("recipient")


@pytest.mark.parametrize(
    ("code", "status", "text", "stage", "kind", "reason"),
    [
        (250, "2.0.0", "OK queued as 4Bx2Yk5z1Hz8", "dot", "delivered", "delivered"),
        (550, "5.1.1", "The email account that you tried to reach does not exist.", "rcpt",
         "hard", "userunknown"),
        (550, None, "<a@b.ru>: Recipient address rejected: User unknown in virtual mailbox table",
         "rcpt", "hard", "userunknown"),
        (452, "4.2.2", "The email account that you tried to reach is over quota.", "rcpt",
         "soft", "mailboxfull"),
        (552, "5.3.4", "Message size exceeds fixed maximum message size", "dot", "hard",
         "mesgtoobig"),
        (450, "4.2.0", "<a@b.com>: Sender address rejected: Greylisted for 120 seconds", "rcpt",
         "soft", "blocked"),
        (421, "4.7.0", "[TSS04] Messages from 1.2.3.4 temporarily deferred due to unexpected "
         "volume or user complaints", "mail", "soft", "speeding"),
        (554, "5.7.1", "Service unavailable; Client host [1.2.3.4] blocked using "
         "zen.spamhaus.org", "rcpt", "hard", "blocked"),
        (550, "5.7.26", "Unauthenticated email from example.com is not accepted due to domain's "
         "DMARC policy", "dot", "hard", "authfailure"),
        (None, None, "dial tcp 1.2.3.4:25->5.6.7.8:25: i/o timeout", "connect", "soft",
         "networkerror"),
        (None, None, "Host or domain name not found. Name service error for name=x.invalid "
         "type=MX: Host not found (NXDOMAIN)", "connect", "hard", "hostunknown"),
        (550, "5.7.1", "No such user!", "rcpt", "hard", "userunknown"),
        (550, None, "Mailbox unavailable: no such user", "dot", "hard", "filtered"),
        (551, None, "User not local; please try <b@c.com>", "rcpt", "hard", "hasmoved"),
        (556, "5.1.10", "Recipient address has null MX", "rcpt", "hard", "notaccept"),
        (550, "5.7.1", "Unable to relay for a@b.com", "rcpt", "hard", "norelaying"),
        (530, "5.7.0", "Must issue a STARTTLS command first", "mail", "hard", "failedstarttls"),
        (550, "5.2.1", "The email account that you tried to reach is disabled.", "rcpt", "hard",
         "suspend"),
        (554, "5.7.1", "Message rejected: virus found in attachment", "dot", "hard",
         "virusdetected"),
        (550, "5.7.350", "Remote server returned message detected as spam", "dot", "hard",
         "spamdetected"),
        (452, "4.3.1", "Insufficient system storage", "rcpt", "soft", "systemfull"),
        (550, "5.4.7", "Xyzzy plugh frobnitz", "dot", "hard", "expired"),
        (550, None, "Xyzzy plugh frobnitz", "rcpt", "hard", "undefined"),
        (599, None, "Xyzzy plugh frobnitz", "rcpt", "hard", "undefined"),
    ],
)
def test_reason_and_kind(altcraft, code, status, text, stage, kind, reason):
    result = altcraft.classify(code, status, text, stage)
    assert (result.kind, result.reason) == (kind, reason), altcraft.explain(result)


def test_altcraft_suppresses_every_hard_bounce(altcraft):
    assert altcraft.classify(554, "5.7.1", "Client host blocked using zen.spamhaus.org",
                             "rcpt").suppress
    assert altcraft.classify(550, "5.1.1", "User unknown", "rcpt").suppress
    assert not altcraft.classify(452, "4.2.2", "Mailbox full", "rcpt").suppress
    assert not altcraft.classify(250, None, "OK", "dot").suppress


def test_recipient_policy_keeps_addresses_on_sender_blocks(recipient):
    assert recipient.classify(550, "5.1.1", "User unknown", "rcpt").suppress
    assert not recipient.classify(554, "5.7.1", "Client host blocked using zen.spamhaus.org",
                                  "rcpt").suppress
    assert recipient.classify(556, "5.1.10", "Recipient address has null MX", "rcpt").suppress
    assert not recipient.classify(452, "4.2.2", "Mailbox full", "rcpt").suppress


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Greylisted for 120 seconds", 120),
        ("Greylisting in action, please come back in 5 minutes", 300),
        ("Temporary failure, retry after 300s", 300),
        ("Mailbox busy, try again in 2 hours", 7200),
        ("Try again later", None),
    ],
)
def test_retry_after(altcraft, text, seconds):
    assert altcraft.classify(450, None, text, "rcpt").retry_after == seconds


def test_retry_after_only_for_soft_bounces(altcraft):
    assert altcraft.classify(550, None, "Greylisted for 120 seconds", "rcpt").retry_after is None


def test_user_rules_come_first(tmp_path, altcraft):
    rules = tmp_path / "mine.toml"
    rules.write_text(
        'schema = "bounceflow.patterns/1"\n'
        '[[rule]]\nid = "corp-vacation"\nreason = "vacation"\nsource = "our MX"\n'
        "patterns = ['out of office']\n"
    )
    mine = Classifier("altcraft", rules)
    result = mine.classify(550, None, "User unknown (out of office)", "rcpt")
    assert (result.reason, result.rule) == ("vacation", "corp-vacation")
    assert "corp-vacation" in mine.explain(result)
    assert altcraft.classify(550, None, "User unknown (out of office)", "rcpt").reason == \
        "userunknown"


def test_a_delivery_has_no_bounce_text_and_a_bounce_has_its_template():
    c = Classifier()
    assert c.classify(250, "2.0.0", "OK queued as 4Bx2Yk5z1Hz8", "dot").bounce_text == ""
    assert c.classify(550, "5.1.1", "<bob@example.com>: User unknown", "rcpt").bounce_text == \
        "550 <<EMAIL>>: User unknown"


@pytest.mark.parametrize("policy", ["altcraft", "recipient"])
@pytest.mark.parametrize(("code", "status", "text", "stage"), [
    (250, "2.0.0", "OK queued as 4Bx2Yk5z1Hz8", "dot"),
    (250, None, "2.6.0 <x@y> Queued mail for delivery; user unknown in the footer", "dot"),
    (251, "2.1.5", "User not local; will forward to <b@c.com>", "rcpt"),
])
def test_a_delivery_is_classified_by_its_code_alone(policy, code, status, text, stage):
    # The cache of deliveries is keyed by the code: the full decision must not read the text.
    c = Classifier(policy)
    assert c.classify(code, status, text, stage) == c._classify(code, status, text, stage)


def test_deliveries_leave_the_cache_to_the_bounces():
    c = Classifier()
    bounce = (550, "5.1.1", "<bob@example.com>: User unknown", "rcpt")
    c.classify(*bounce)
    for i in range(10_000):
        c.classify(250, "2.0.0", f"OK queued as {i:012x}", "dot")
    before = c._cached.cache_info().hits
    c.classify(*bounce)
    assert c._cached.cache_info().hits == before + 1
