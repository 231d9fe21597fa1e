"""The principles that make classification hold up on replies it was not written from (issue 31),
each on several phrasings invented from the principle (none taken from a corpus or a blind set)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from streams.classify.classifier import Classifier
from streams.classify.words import train

GIBBERISH = "Zorp quux wibble"


def rules_only(policy: str) -> Classifier:
    """The rules and tables alone: each principle here is a rule's, and where it says no rule
    names a cause (undefined), the word model's guess is another step (test_words.py)."""
    classifier = Classifier(policy)
    classifier.words = train([])
    return classifier


@pytest.fixture(scope="module")
def recipient():
    return rules_only("recipient")


@pytest.fixture(scope="module")
def shipped():
    """The recipient policy with the word model, for the principles that concern its guess."""
    return Classifier("recipient")


@pytest.fixture(scope="module")
def altcraft():
    return rules_only("altcraft")


# ---- Generic table entries give the kind, not a guessed reason ------------------------------

@pytest.mark.parametrize(("code", "status", "kind"), [
    (550, "5.0.0", "hard"), (550, "5.2.0", "hard"), (554, "5.5.0", "hard"),
    (550, "5.1.0", "hard"), (550, "5.7.0", "hard"), (450, "4.2.0", "soft"),
    (550, None, "hard"), (554, None, "hard"), (421, None, "soft"), (450, None, "soft"),
    (553, None, "hard"),
    # entries servers send for causes of several reasons: a guess would be wrong half the time
    (550, "5.7.1", "hard"), (451, "4.7.1", "soft"), (451, "4.3.0", "soft"), (451, None, "soft"),
    (452, None, "soft"), (552, None, "hard"),
])
def test_a_generic_entry_gives_the_kind_and_no_reason(recipient, code, status, kind):
    got = recipient.classify(code, status, GIBBERISH, "rcpt")
    assert (got.kind, got.reason, got.basis, got.suppress) == (kind, "undefined", "none", False)


def test_a_generic_status_lets_a_specific_code_decide(recipient):
    got = recipient.classify(551, "5.0.0", GIBBERISH, "rcpt")
    assert (got.reason, got.rule, got.basis) == ("hasmoved", "code:551", "code")


@pytest.mark.parametrize(("status", "reason"), [
    ("5.1.1", "userunknown"), ("5.1.2", "hostunknown"), ("5.1.10", "notaccept"),
    ("5.2.2", "mailboxfull"), ("5.3.4", "mesgtoobig"),
])
def test_a_specific_status_still_decides(recipient, status, reason):
    got = recipient.classify(550, status, GIBBERISH, "rcpt")
    assert (got.reason, got.basis) == (reason, "status")


# ---- Confidence: how it was decided; the recipient policy never suppresses on a guess --------

def test_each_classification_says_how_it_was_decided(recipient):
    assert recipient.classify(550, None, "User unknown", "rcpt").basis == "text"
    assert recipient.classify(550, "5.1.1", GIBBERISH, "rcpt").basis == "status"
    assert recipient.classify(551, None, GIBBERISH, "rcpt").basis == "code"
    assert recipient.classify(550, None, GIBBERISH, "rcpt").basis == "none"
    assert recipient.classify(250, None, "OK", "dot").basis == "code"
    assert "basis: status" in recipient.explain(recipient.classify(550, "5.1.1", GIBBERISH,
                                                                   "rcpt"))


@pytest.mark.parametrize(("code", "status", "text", "suppress"), [
    (550, "5.1.1", GIBBERISH, True),  # a specific status
    (550, "5.1.2", GIBBERISH, True),
    (556, "5.1.10", GIBBERISH, True),
    (550, None, "No such user here", True),  # a text rule
    (551, None, GIBBERISH, False),  # the reply code alone: a guess
    (556, None, GIBBERISH, False),
    (550, None, GIBBERISH, False),
])
def test_recipient_suppresses_only_on_a_text_rule_or_a_specific_status(recipient, altcraft, code,
                                                                        status, text, suppress):
    assert recipient.classify(code, status, text, "rcpt").suppress is suppress
    assert altcraft.classify(code, status, text, "rcpt").suppress  # every hard bounce


def test_classify_explain_shows_the_basis():
    from streams.cli import cli

    lines = [{"reply_code": 551, "enhanced_status": None, "reply_text": GIBBERISH,
              "smtp_stage": "rcpt"},
             {"reply_code": 550, "enhanced_status": "5.1.1", "reply_text": "User unknown",
              "smtp_stage": "rcpt"}]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = CliRunner().invoke(cli, ["classify", "--policy", "recipient", "--explain"],
                                input=stdin)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert (first["basis"], first["suppress"]) == ("code", False)
    assert "basis: code" in first["explain"]
    assert (second["basis"], second["suppress"]) == ("text", True)
    plain = CliRunner().invoke(cli, ["classify"], input=stdin)
    assert "basis" not in json.loads(plain.output.splitlines()[0])


# ---- No reply code: the enhanced status's class decides the kind -----------------------------

@pytest.mark.parametrize(("status", "text", "kind", "reason"), [
    ("5.1.1", "User unknown", "hard", "userunknown"),
    ("5.4.4", "Host not found", "hard", "hostunknown"),
    ("5.1.2", "Unrouteable domain", "hard", "hostunknown"),
    ("4.2.2", "Mailbox full", "soft", "mailboxfull"),
    ("4.7.1", "Greylisted, please try again later", "soft", "blocked"),
])
def test_with_no_code_the_status_class_gives_the_kind(recipient, status, text, kind, reason):
    got = recipient.classify(None, status, text, None)
    assert (got.kind, got.reason) == (kind, reason)
    assert got.suppress is (kind == "hard")


@pytest.mark.parametrize("text", [
    "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown",
    "550-5.1.1 No such user",
    "5.1.1 Unknown recipient",
])
def test_with_no_code_or_status_the_text_s_own_gives_the_kind(recipient, text):
    got = recipient.classify(None, None, text, None)
    assert (got.kind, got.reason, got.suppress) == ("hard", "userunknown", True)


# ---- A relay's wrapper: the quoted reply decides, not the relay's label ----------------------

@pytest.mark.parametrize(("code", "status", "text", "kind", "reason"), [
    (550, None, "Address error: 552 5.2.2 Mailbox full", "hard", "mailboxfull"),
    (550, "5.0.0", "Mailbox unavailable: 5.2.2 quota exceeded", "hard", "mailboxfull"),
    (550, "5.1.1", "Recipient address error: 452 4.2.2 over quota", "hard", "mailboxfull"),
    (None, None, "host mx.example.net[192.0.2.7] said: 550 5.1.1 <a@example.net>: Recipient "
     "address rejected: User unknown (in reply to RCPT TO command)", "hard", "userunknown"),
    (554, "5.0.0", "Remote Server returned '550 5.2.2 mailbox full'", "hard", "mailboxfull"),
    (550, None, "SMTP error from remote mail server after RCPT TO:<a@example.org>: 452 4.2.2 "
     "The account is over quota", "hard", "mailboxfull"),
    (451, None, "Temporary address error; remote said: 421 Too many connections from your host",
     "soft", "toomanyconn"),
])
def test_the_quoted_reply_decides(recipient, code, status, text, kind, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.kind, got.reason) == (kind, reason), recipient.explain(got)
    assert got.suppress is (reason == "userunknown")


@pytest.mark.parametrize("text", [
    "550-5.7.1 The very low reputation of the sending domain.\n550 5.7.1 See our postmaster site",
    "550-5.7.1 The very low reputation of the sending domain. 550 5.7.1 See our postmaster site",
])
def test_a_continuation_line_is_not_a_quoted_reply(recipient, text):
    assert recipient.classify(550, "5.7.1", text, "rcpt").reason == "badreputation"


def test_a_quoted_reply_that_says_nothing_leaves_the_whole_text_to_decide(recipient):
    got = recipient.classify(550, None, "Message refused, DNSBL listed: 554 5.0.0 " + GIBBERISH,
                             "rcpt")
    assert got.reason == "blocked"


# ---- Stage as context ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "<a@example.org>: Recipient address rejected: User unknown in local recipient table",
    "No such user here",
    "5.1.1 Unknown recipient",
])
def test_recipient_refusals_reported_at_data_are_recipient_failures(recipient, text):
    got = recipient.classify(550, "5.1.1", text, "data")
    assert (got.reason, got.suppress) == ("userunknown", True)


@pytest.mark.parametrize(("code", "status", "text"), [
    (553, "5.1.8", "<s@nowhere.example>: Sender address rejected: Domain not found"),
    (550, None, "Domain not found"),
    (501, "5.1.8", "Bad sender's system address"),
    (550, "5.1.2", "Host unknown"),
    (550, "5.7.27", "Sender address has null MX"),
    (450, "4.1.8", "<s@nowhere.example>: Domain does not exist"),
])
def test_a_mail_from_refusal_is_about_the_sender(recipient, code, status, text):
    got = recipient.classify(code, status, text, "mail")
    assert (got.reason, got.suppress) == ("rejected", False)


@pytest.mark.parametrize("text", [
    "<bad.invalid>: Helo command rejected: Host not found",
    "Your HELO name does not resolve: unknown host",
])
def test_a_helo_refusal_is_about_the_client(recipient, text):
    got = recipient.classify(550, None, text, "helo")
    assert (got.reason, got.suppress) == ("blocked", False)


# ---- A stated cause before a generic one -----------------------------------------------------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (None, None, "retry timeout exceeded; last error: 452 4.2.2 mailbox full", "mailboxfull"),
    (550, "5.4.7", "Message expired after 5 days: the user's mailbox is over quota",
     "mailboxfull"),
    (451, "4.4.7", "Giving up: recipient's quota exceeded", "mailboxfull"),
    (552, "5.7.0", "Rejected by policy: message size exceeds the limit of this server",
     "mesgtoobig"),
    (554, "5.7.1", "Message refused due to local policy: message too large", "mesgtoobig"),
    (550, "5.7.1", "Blocked: the mail size limit of 10 MB was exceeded", "mesgtoobig"),
    (552, "5.3.4", "Your message exceeds our maximum size limit", "mesgtoobig"),
    (None, None, "retry timeout exceeded", "expired"),
    (None, None, "Message expired after 48 hours", "expired"),
])
def test_a_stated_cause_beats_expiry_and_policy_words(recipient, code, status, text, reason):
    assert recipient.classify(code, status, text, "rcpt").reason == reason


def test_a_sending_quota_is_not_a_full_mailbox(recipient):
    assert recipient.classify(550, None, "Daily sending quota exceeded for this sender",
                              "mail").reason != "mailboxfull"


# ---- Keyword rules with word boundaries and context ------------------------------------------

@pytest.mark.parametrize("text", [
    "User not listed in public Name & Address Book",
    "Recipient not found in the corporate directory",
    "<a@example.org>: not listed in our LDAP directory",
    "Address unknown in the global address list",
])
def test_a_directory_the_user_is_missing_from_is_not_a_block_list(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("userunknown", True)


@pytest.mark.parametrize("text", [
    "Client host [192.0.2.1] is listed in bl.example.net",
    "Your IP 192.0.2.1 is listed on a DNS block list",
    "Sender IP is blacklisted, see https://rbl.example.net",
    "Rejected: listed at zen.example.org",
])
def test_a_block_list_listing_is_still_blocked(recipient, text):
    assert recipient.classify(554, None, text, "rcpt").reason == "blocked"


@pytest.mark.parametrize("text", [
    "Your message was blocked by the recipient",
    "The recipient has blocked mail from this sender",
    "Sender address is on the recipient's block list",
    "You are in the user's blocked senders list",
    "The addressee does not wish to receive mail from you",
])
def test_the_recipients_own_blocking_is_filtered(recipient, text):
    got = recipient.classify(550, "5.7.1", text, "rcpt")
    assert (got.reason, got.suppress) == ("filtered", False)


def test_a_server_of_the_recipient_is_not_the_recipient(recipient):
    got = recipient.classify(550, "5.1.0", "Sender address was rejected by the recipient's server",
                             "mail")
    assert got.reason == "rejected"


@pytest.mark.parametrize("text", [
    "Duplicate DKIM-Signature header",
    "Message has multiple DKIM-Signature headers",
    "More than one From: header",
    "Header Subject appears more than once",
])
def test_a_header_name_in_a_format_complaint_is_not_authentication(recipient, text):
    assert recipient.classify(550, "5.7.1", text, "dot").reason == "notcompliantrfc"


@pytest.mark.parametrize("text", [
    "DKIM signature verification failed: body hash mismatch",
    "DKIM-Signature is invalid",
    "SPF check failed for sender domain",
])
def test_authentication_results_are_still_authfailure(recipient, text):
    assert recipient.classify(550, "5.7.1", text, "dot").reason == "authfailure"


@pytest.mark.parametrize(("code", "status", "text"), [
    (550, None, "Requested action not taken: mailbox unavailable"),
    (550, "5.0.0", "Mailbox unavailable"),
    (450, None, "Mailbox not available"),
])
def test_the_generic_mailbox_unavailable_does_not_suppress(recipient, code, status, text):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == ("undefined", False)


@pytest.mark.parametrize(("code", "status", "text", "reason", "basis"), [
    (550, "5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
     "[DB5EUR03FT029.eop-EUR03.prod.protection.outlook.com]", "undefined", "none"),
    (450, None, "Requested mail action not taken: mailbox unavailable", "undefined", "none"),
    # a cause the status or the text goes on to state still decides
    (550, "5.1.1", "Requested action not taken: mailbox unavailable", "userunknown", "status"),
    (550, None, "550 5.2.2 Requested action not taken: mailbox unavailable", "mailboxfull",
     "status"),
    (550, None, "Requested action not taken: mailbox unavailable (user unknown)", "userunknown",
     "text"),
])
def test_rfc5321s_own_mailbox_unavailable_names_no_cause_and_is_not_guessed(
        shipped, code, status, text, reason, basis):
    got = shipped.classify(code, status, text, "rcpt")
    assert (got.reason, got.basis, got.suppress) == (reason, basis, reason == "userunknown")


@pytest.mark.parametrize("text", [
    "Requested action not taken: mailbox unavailable (greylisted)",  # a word, not an id
    "Requested action not taken: mailbox unavailable for <a@b.example>",
])
def test_words_after_rfc5321s_mailbox_unavailable_may_still_be_guessed_from(shipped, text):
    assert not shipped.context.names_no_cause(text)


def test_a_word_inside_another_is_not_the_word(recipient):
    # "eof" inside "thereof", "timeout" of a retry policy
    assert recipient.classify(None, None, "Delivery failed, the cause thereof unknown",
                              None).reason != "networkerror"


# ---- Common phrasings that fell through to the tables, in several languages ------------------

PHRASINGS = {
    "mailboxfull": [
        "The recipient's mailbox has exceeded its storage quota",
        "Inbox is full, the message cannot be stored",
        "User storage quota reached",
        "Not enough space in the recipient's mailbox",
        "Das Postfach des Empfängers ist voll",
        "La boîte du destinataire est pleine",
        "El buzón de correo está lleno",
        "La casella di posta è piena",
        "A caixa de correio está cheia",
        "Превышен размер почтового ящика",
        "Skrzynka odbiorcza jest pełna",
        "收件人邮箱已满",
    ],
    "hostunknown": [
        "Domain example.invalid does not exist",
        "No MX record found for example.invalid",
        "Could not resolve the recipient's domain",
        "Host not found",
        "Nonexistent domain",
        "Die Domain existiert nicht",
        "Le domaine est inexistant",
        "El dominio no existe",
        "Домен не найден",
    ],
    "networkerror": [
        "Destination host is unreachable",
        "Could not connect to the mail server",
        "Remote server did not respond",
        "No answer from the remote host",
        "Der Server ist nicht erreichbar",
        "Connexion refusée par le serveur distant",
        "Не удалось подключиться к серверу",  # noqa: RUF001
    ],
    "badreputation": [
        "Your sending IP has a poor reputation with us",
        "Message refused: sender reputation too low",
        "Rejected because of the reputation of your domain",
        "Mensaje rechazado por la reputación del remitente",
    ],
    "systemfull": [
        "Insufficient disk space on the server, try later",
        "Not enough free space to accept the message",
        "The mail spool is full",
        "Espace disque insuffisant",
    ],
    "syntaxerror": [
        "Command not implemented",
        "Unrecognized command",
        "BDAT not supported: command not implemented",
        "Befehl nicht implementiert",
        "Commande inconnue",
    ],
}


@pytest.mark.parametrize(("reason", "text"),
                         [(r, t) for r, texts in PHRASINGS.items() for t in texts])
def test_common_phrasings_are_read(recipient, reason, text):
    code = 452 if reason in ("systemfull", "networkerror") else 550
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.basis) == (reason, "text"), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Sender domain example.invalid does not exist",
    "Invalid sender domain",
    "<s@example.invalid>: Sender address rejected: Domain not found",
    "MAIL FROM domain has no MX",
    "Le domaine de l'expéditeur est invalide",
])
def test_an_invalid_sender_domain_is_the_sender_s(recipient, text):
    for stage in ("mail", "rcpt"):
        got = recipient.classify(553, None, text, stage)
        assert (got.reason, got.suppress) == ("rejected", False), (stage, recipient.explain(got))


# ---- Provider rules say only what the text supports ------------------------------------------

@pytest.mark.parametrize(("code", "text", "not_reason"), [
    (421, "Service refused, please try later", "speeding"),
    (451, "Sorry, the service is currently unavailable. Please come back later.", "speeding"),
    (554, "Reject due to policy restrictions", "blocked"),
    (554, "Message not accepted for policy reasons", "blocked"),
    (550, "[CS01] Message rejected due to local policy", "blocked"),
])
def test_a_generic_refusal_is_not_a_specific_cause(recipient, code, text, not_reason):
    assert recipient.classify(code, None, text, "rcpt").reason != not_reason


@pytest.mark.parametrize("text", [
    "Reject due to policy restrictions",
    "Message not accepted for policy reasons",
    "Message rejected due to local policy",
    "Refused by the organization's policy",
])
def test_a_policy_refusal_is_policyviolation(recipient, text):
    assert recipient.classify(554, "5.7.1", text, "rcpt").reason == "policyviolation"


def test_a_generic_unavailable_service_is_a_system_error(recipient):
    got = recipient.classify(451, "4.7.1", "Sorry, the service is currently unavailable. Please "
                             "come back later.", "rcpt")
    assert (got.kind, got.reason) == ("soft", "systemerror")


def test_a_label_naming_an_address_error_does_not_decide(recipient):
    got = recipient.classify(550, None, "Unknown address error 552-'5.2.2 Mailbox full'", "rcpt")
    assert (got.reason, got.suppress) == ("mailboxfull", False)
    got = recipient.classify(550, None, "Unknown address error 552 'Mailbox full'", "rcpt")
    assert (got.reason, got.suppress) == ("mailboxfull", False)


MORE_PHRASINGS = {
    "userunknown": [
        "Recipient address is not valid",
        "Addressee unknown",
        "The email address could not be found",
        "No account by that name",
        "Empfänger unbekannt",
        "Destinataire inconnu",
        "Destinatario desconocido",
        "Indirizzo inesistente",
        "Destinatário inexistente",
        "Адресат не найден",
        "Użytkownik nie istnieje",
        "收件人不存在",
    ],
    "suspend": [
        "Account has been disabled",
        "Cuenta deshabilitada",
        "Compte suspendu",
        "Konto deaktiviert",
    ],
    "speeding": [
        "Too many messages from your IP, slow down",
        "Zu viele Nachrichten, bitte später erneut versuchen",
        "Demasiados mensajes enviados",
    ],
    "toomanyconn": [
        "Too many concurrent connections from your host",
        "Zu viele Verbindungen",
        "Demasiadas conexiones",
    ],
    "expired": [
        "Maximum delivery time exceeded",
        "Message could not be delivered within the allotted time",
        "Retry period expired",
    ],
}


@pytest.mark.parametrize(("reason", "text"),
                         [(r, t) for r, texts in MORE_PHRASINGS.items() for t in texts])
def test_more_common_phrasings_are_read(recipient, reason, text):
    got = recipient.classify(450 if reason in ("speeding", "toomanyconn") else 550, None, text,
                             "rcpt")
    assert got.reason == reason, recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Sender address does not exist",
    "The sender's email address is invalid",
    "Unknown sender",
    "From address invalid",
])
def test_an_address_failure_that_names_the_sender_is_the_sender_s(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("rejected", False)


@pytest.mark.parametrize(("text", "reason", "suppress"), [
    ("host mx.example.net[192.0.2.7] said: 550 5.1.2 <s@nowhere.example>: Domain not found "
     "(in reply to MAIL FROM command)", "rejected", False),
    ("SMTP error from remote mail server after MAIL FROM:<s@nowhere.example>: 550 5.1.1 No such "
     "user", "rejected", False),
    ("host mx.example.net[192.0.2.7] said: 550 5.1.2 <a@nowhere.example>: Domain not found "
     "(in reply to RCPT TO command)", "hostunknown", True),
])
def test_a_quoted_reply_with_no_stage_takes_the_one_its_relay_names(recipient, text, reason,
                                                                     suppress):
    got = recipient.classify(None, None, text, None)
    assert (got.reason, got.suppress) == (reason, suppress)


@pytest.mark.parametrize(("code", "status"), [(550, "5.3.2"), (451, "4.3.2")])
def test_a_system_not_accepting_messages_is_not_the_address(recipient, code, status):
    # RFC 3463: shutdown, excessive load or maintenance of the host
    got = recipient.classify(code, status, GIBBERISH, "rcpt")
    assert (got.reason, got.suppress) == ("systemerror", False)


@pytest.mark.parametrize(("code", "text", "kind", "reason"), [
    (None, "Sorry, no mailbox here by that name. (#5.1.1)", "hard", "userunknown"),
    (None, "Sorry, I couldn't find any host named example.invalid. (#5.1.2)", "hard",
     "hostunknown"),
    (550, "Requested action not taken (#5.1.2)", "hard", "hostunknown"),
    (None, "Mailbox busy, deferred (#4.2.0)", "soft", "undefined"),
])
def test_an_enhanced_status_marked_in_the_text_is_read(recipient, code, text, kind, reason):
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.kind, got.reason) == (kind, reason), recipient.explain(got)
    assert got.suppress is (reason in ("userunknown", "hostunknown"))


@pytest.mark.parametrize("text", ["Local message loop detected", "Mail loop: too many hops"])
def test_a_mail_loop_is_a_network_error(recipient, text):
    assert recipient.classify(554, None, text, "dot").reason == "networkerror"


@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (450, "4.7.1", "<bad.example>: Helo command rejected: Host not found", "blocked"),
    (550, None, "<bad.example>: Helo command rejected: Host not found", "blocked"),
    (550, "5.1.1", "<s@example.org>: Sender address rejected: User unknown in local recipient "
     "table", "rejected"),
    (550, None, "Invalid HELO name: unknown host", "blocked"),
])
def test_a_reply_naming_the_check_that_refused_it_is_read_at_that_command(recipient, code,
                                                                          status, text, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


def test_a_recipient_check_at_rcpt_still_blames_the_recipient(recipient):
    got = recipient.classify(550, "5.1.1", "<a@example.org>: Recipient address rejected: User "
                             "unknown in local recipient table", "rcpt")
    assert (got.reason, got.suppress) == ("userunknown", True)


@pytest.mark.parametrize(("text", "reason"), [
    ("Blocked by policy: IP address has poor reputation", "badreputation"),
    ("Blocked by our policy: message looks like spam", "spamdetected"),
    ("Blocked by policy", "policyviolation"),
    ("Multiple DKIM-Signature header fields found", "notcompliantrfc"),
    ("Unknown local user", "userunknown"),
])
def test_a_stated_cause_beats_the_policy_that_applied_it(recipient, text, reason):
    assert recipient.classify(550, "5.7.1", text, "rcpt").reason == reason


@pytest.mark.parametrize(("text", "suppress"), [
    ("bob@example.org isn't a valid mailbox", True),
    ("This is not a valid recipient", True),
    ("Your HELO hostname isn't a valid FQDN", False),
])
def test_not_valid_names_what_is_not_valid(recipient, text, suppress):
    assert recipient.classify(550, None, text, "rcpt").suppress is suppress


@pytest.mark.parametrize("text", [
    "Please try later",
    "Resources temporarily unavailable",
    "Bitte später erneut versuchen",
    "Veuillez réessayer plus tard",
    "Inténtelo de nuevo más tarde",
    "Попробуйте позже",
])
def test_a_bare_try_later_is_a_temporary_system_error(recipient, text):
    got = recipient.classify(451, None, text, "rcpt")
    assert (got.kind, got.reason) == ("soft", "systemerror")


@pytest.mark.parametrize(("text", "reason"), [
    ("Greylisted, please try later", "blocked"),
    ("Too many connections, please try later", "toomanyconn"),
    ("Mailbox full, please try later", "mailboxfull"),
])
def test_a_try_later_with_a_cause_is_the_cause(recipient, text, reason):
    assert recipient.classify(451, None, text, "rcpt").reason == reason


@pytest.mark.parametrize(("status", "text", "kind"), [
    ("4.1.1", "host mx.example.net[192.0.2.7] said: 550 5.1.1 user unknown", "soft"),
    ("5.2.2", "host mx.example.net[192.0.2.7] said: 452 4.2.2 mailbox full", "hard"),
    (None, "host mx.example.net[192.0.2.7] said: 550 5.1.1 user unknown", "hard"),
    (None, "host mx.example.net[192.0.2.7] said: 452 4.2.2 mailbox full", "soft"),
])
def test_with_no_code_the_given_status_decides_the_kind_before_a_quoted_reply(recipient, status,
                                                                             text, kind):
    assert recipient.classify(None, status, text, None).kind == kind


# ---- Recipient-sounding words that are about the sender --------------------------------------

@pytest.mark.parametrize("text", [
    "Service unavailable, example.org does not accept mail over IPv6",
    "Servizio non disponibile: example.org non accetta messaggi tramite IPv6",
    "example.org não aceita mensagens via IPv6",
])
def test_a_refused_transport_is_not_a_null_mx(recipient, text):
    got = recipient.classify(550, "5.2.1", text, "connect")
    assert (got.reason, got.suppress) == ("blocked", False), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Too many invalid recipients from your host, contact your provider",
    "Rejected: too many unknown users in this session",
    "Too many recipients are invalid, closing",
])
def test_a_count_of_invalid_recipients_blames_the_sender(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("blocked", False), recipient.explain(got)


# ---- Disabled mailboxes: the recipient policy suppresses them on their text ------------------

@pytest.mark.parametrize(("code", "status", "text", "suppress"), [
    (550, "5.2.1", "This account has been disabled", True),
    (550, "5.1.1", "Inactive recipient, message refused", True),
    (550, None, "Mailbox is frozen, see our help page", True),
    (None, "5.2.1", "The mailbox you wrote to is suspended", True),
    (550, "5.2.1", GIBBERISH, False),  # the status alone: also sent for refusals of the sender
    (450, "4.2.1", "Account temporarily disabled", False),  # soft
])
def test_a_disabled_mailbox_suppresses_when_its_text_says_so(recipient, altcraft, code, status,
                                                            text, suppress):
    got = recipient.classify(code, status, text, "rcpt")
    assert got.reason == "suspend", recipient.explain(got)
    assert got.suppress is suppress
    assert altcraft.classify(code, status, text, "rcpt").suppress is (got.kind == "hard")


def test_a_disabled_sender_is_not_a_disabled_recipient(recipient):
    got = recipient.classify(550, "5.7.1", "<s@example.org>: Sender address rejected: mailbox "
                             "disabled", "rcpt")
    assert (got.reason, got.suppress) == ("rejected", False)


# ---- A verdict before the signs it names -----------------------------------------------------

@pytest.mark.parametrize(("text", "reason"), [
    ("Message looks unsolicited (forged HELO), resend with a token in the subject",
     "spamdetected"),
    ("Sender address is forged, message refused", "securityerror"),
])
def test_a_spam_verdict_naming_a_forged_header_is_spam(recipient, text, reason):
    assert recipient.classify(554, "5.7.1", text, "dot").reason == reason


MORE_FAMILIES = {
    "userunknown": [
        "The mailbox you are trying to reach does not exist anymore",
        "Address bob@example.org is not hosted here",
        "User <bob> unknown",
        "Invalid RCPT TO address",
    ],
    "toomanyconn": [
        "Çok fazla bağlantı, daha sonra tekrar deneyin",  # noqa: RUF001
        "Zbyt wiele połączeń z Twojego adresu",
        "Te veel gelijktijdige verbindingen",
        "Muitas conexões simultâneas",
        "并发连接数过多",
        "Too many open connections from your network",
    ],
    "speeding": [
        "Outbound send limit exceeded for this account",
        "Sending limit reached, try again in an hour",
        "IP frequency limited, slow down",
    ],
    "securityerror": [
        "Too many failed AUTH attempts, closing",
        "Too many authentication failures from your address",
    ],
    "syntaxerror": [
        "Too many unrecognized commands, goodbye",
        "Too many errors in this session",
    ],
    "mesgtoobig": ["The size of the message has exceeded what we accept"],
    "exceedlimit": ["The number of recipients is over our limit"],
    "rejected": ["Sender not authorized for this domain", "Unverified sending domain"],
}


@pytest.mark.parametrize(("reason", "text"),
                         [(r, t) for r, texts in MORE_FAMILIES.items() for t in texts])
def test_families_of_phrasings_are_read(recipient, reason, text):
    code = 421 if reason in ("toomanyconn", "speeding", "securityerror") else 550
    got = recipient.classify(code, None, text, "rcpt" if reason != "rejected" else "mail")
    assert (got.reason, got.basis) == (reason, "text"), recipient.explain(got)


@pytest.mark.parametrize(("text", "reason"), [
    ("421 HL:ICC mx3 too busy", "toomanyconn"),
    ("451 MI:SFQ smtp5 see the help page", "speeding"),
    ("554 DT:SPM mx2 see the help page", "spamdetected"),
    ("550 MI:SPF mx2 see the help page", "authfailure"),
])
def test_a_provider_s_published_code_names_its_cause(recipient, text, reason):
    code = int(text[:3])
    assert recipient.classify(code, None, text, "rcpt").reason == reason


@pytest.mark.parametrize(("text", "reason"), [
    ("<x.example>: Helo command rejected: Host not found", "blocked"),
    ("Helo command rejected: name spoofed", "blocked"),
    ("EHLO hostname refused: it does not resolve", "blocked"),
    ("<x>: Helo command rejected: need fully-qualified hostname", "syntaxerror"),
])
def test_a_refused_helo_name_is_a_block_of_the_client(recipient, text, reason):
    got = recipient.classify(504 if reason == "syntaxerror" else 550, "5.5.2", text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "TLS negotiation failed, closing",
    "TLS handshake with the server failed",
    "STARTTLS is mandatory on this port",
    "TLS minimum version not met",
])
def test_tls_failures_in_a_reply_are_read(recipient, text):
    assert recipient.classify(421, "4.7.0", text, "connect").reason == "failedstarttls"


@pytest.mark.parametrize("text", [
    "Message refused due to user rules",
    "Delivery refused: recipient preferences",
    "This mailbox is only accepting mail from approved senders",
    "Address protected by a challenge-response system, please confirm",
    "The recipient is not accepting any mail from you",
])
def test_the_recipient_s_own_settings_are_filtered(recipient, text):
    got = recipient.classify(550, "5.7.1", text, "rcpt")
    assert (got.reason, got.suppress) == ("filtered", False), recipient.explain(got)


LANGUAGE_FAMILIES = {
    "mailboxfull": ["The mailbox is over its storage limit", "Die Mailbox ist voll",
                    "Le quota de la boîte aux lettres est dépassé",
                    "El buzón del destinatario está lleno",
                    "user: message would exceed maximum mailbox size"],
    "userunknown": ["No mailbox by that name is currently available"],
    "hostunknown": ["Unroutable domain", "MX lookup returned NXDOMAIN",
                    "Kein MX-Eintrag für die Domain"],
    "suspend": ["Аккаунт заблокирован", "アカウントは停止されています"],
    "toomanyconn": ["Maximum number of connections reached"],
    "norelaying": ["Relais nicht erlaubt", "Relais non autorisé", "Relay no permitido",
                   "Ретрансляция запрещена"],
    "mesgtoobig": ["Nachricht zu groß", "Message trop volumineux", "Mensaje demasiado grande",
                   "メッセージが大きすぎます"],
    "requireptr": ["Kein Reverse-DNS-Eintrag"],
    "syntaxerror": ["Syntaxfehler im Befehl", "Erreur de syntaxe"],
}


@pytest.mark.parametrize(("reason", "text"),
                         [(r, t) for r, texts in LANGUAGE_FAMILIES.items() for t in texts])
def test_a_stated_cause_is_read_in_several_languages(recipient, reason, text):
    code = 450 if reason == "toomanyconn" else 550
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.basis) == (reason, "text"), recipient.explain(got)


@pytest.mark.parametrize(("text", "reason"), [
    ("Sender address is blacklisted", "rejected"),
    ("Sender domain example.org is blacklisted", "rejected"),
    ("Mail from this sender domain is refused", "rejected"),
    ("Sender IP is blacklisted", "blocked"),
    ("Mail from your host is not accepted here", "blocked"),
    ("Your mail server has been banned", "blocked"),
    ("The recipient has chosen not to receive mail from you", "filtered"),
    ("Recipient refuses mail from this sender", "filtered"),
])
def test_who_is_refused_decides_between_sender_host_and_recipient_s_choice(recipient, text,
                                                                          reason):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- Families of causes in their many phrasings ---------------------------------------------

CAUSE_FAMILIES = {
    "userunknown": ["The address you typed could not be found anywhere", "Addressee not found",
                    "Recipient is not recognised here", "No such e-mail address",
                    "That user does not have an account with us", "Recipient has no mailbox",
                    "Destination address is not valid", "user not exist",
                    "Malformed recipient address", "Konto nicht gefunden"],
    "hostunknown": ["No MX for that domain", "The domain has no valid mail servers",
                    "no mail exchanger published"],
    "mesgtoobig": ["Size limit reached for this message",
                   "Exceeds the maximum allowed message size",
                   "Your message is larger than the limit", "Mail size is over the limit",
                   "Too much mail data"],
    "norelaying": ["We will not relay for you", "Relaying is not authorised here",
                   "relay forbidden"],
    "securityerror": ["Auth required before sending", "SMTP authentication is required"],
    "failedstarttls": ["This host requires STARTTLS", "Server requires a secure connection"],
    "rejected": ["MAIL FROM refused", "Email address is not verified in this region",
                 "Bad sender syntax"],
    "blocked": ["Client 192.0.2.1 has been banned", "Your network is temporarily blocked"],
    "speeding": ["Deferred due to excessive volume", "You are sending too quickly",
                 "Hourly quota for this client reached", "Limit of 200 per hour exceeded",
                 "Messages per minute limit reached"],
    "toomanyconn": ["Concurrency limit hit, come back later"],
    "exceedlimit": ["Batch limit exceeded for this transaction"],
}


@pytest.mark.parametrize(("reason", "text"),
                         [(r, t) for r, texts in CAUSE_FAMILIES.items() for t in texts])
def test_a_family_of_causes_is_read_in_its_phrasings(recipient, reason, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.basis) == (reason, "text"), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Sender throttled after repeated full-mailbox failures",
    "Client rate-limited after repeated unknown user errors",
    "The sender's submission quota was exceeded",
])
def test_the_sender_s_throttle_is_speeding_whatever_failure_it_counts(recipient, text):
    got = recipient.classify(550, None, text, "mail")
    assert (got.reason, got.suppress) == ("speeding", False), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Daily message quota exceeded", "Recipient quota exceeded for this hour",
    "Per-day sending limit reached",
])
def test_a_quota_per_time_window_is_a_volume_not_a_full_mailbox(recipient, text):
    assert recipient.classify(452, None, text, "rcpt").reason == "speeding"


@pytest.mark.parametrize("text", ["Mailbox quota exceeded", "Over quota"])
def test_a_quota_without_a_time_window_stays_a_full_mailbox(recipient, text):
    assert recipient.classify(552, None, text, "rcpt").reason == "mailboxfull"


# ---- No code, no status: the words give the kind ---------------------------------------------

@pytest.mark.parametrize(("text", "kind", "reason", "suppress"), [
    ("Mailbox does not exist", "hard", "userunknown", True),
    ("Addressee not found", "hard", "userunknown", True),
    ("No MX for that domain", "hard", "hostunknown", True),
    ("Temporarily unable to verify the user, try again later", "soft", None, False),
    ("Relaying denied", "hard", "norelaying", False),
    ("Too many messages, slow down", "soft", "speeding", False),
    ("Permanent failure: zorp", "hard", "undefined", False),
    ("Deferred: zorp", "soft", "undefined", False),
    (GIBBERISH, "soft", "undefined", False),
    ("550 5.1.1 zorp", "hard", "userunknown", True),  # the text's own code and status
    ("4.2.2 zorp", "soft", "mailboxfull", False),
])
def test_without_code_or_status_the_words_give_the_kind(recipient, text, kind, reason, suppress):
    got = recipient.classify(None, None, text, None)
    assert (got.kind, got.suppress) == (kind, suppress), recipient.explain(got)
    assert reason is None or got.reason == reason


def test_a_code_or_status_still_beats_the_words(recipient):
    assert recipient.classify(450, None, "Permanently rejected", "rcpt").kind == "soft"
    assert recipient.classify(None, "5.1.1", "try again later", "rcpt").kind == "hard"


# ---- Round 3: families of wording that no rule read -------------------------------------------

@pytest.mark.parametrize("text", [
    "Mailbox q.x@example.org does not exist", "unknown e-mail address", "user invalid",
    "I have no mailbox for that recipient", "Mailbox name not found",
    "User not listed in address table", "Casella di posta inesistente", "Okänd mottagare",
    "Ismeretlen címzett", "Такого почтового ящика нет", "该邮箱不存在",
])
def test_unknown_recipients_in_more_wordings_suppress(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("userunknown", True)


@pytest.mark.parametrize("text", [
    "Relaying from an unknown host is not allowed", "Relaying of mail not permitted",
    "relaying mail to example.org is not allowed", "Unauthorized relay attempt",
    "Relais interdit",
])
def test_a_relay_refusal_is_norelaying_whatever_else_it_names(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("norelaying", False)


@pytest.mark.parametrize("text", [
    "Could not verify sender", "MAIL FROM address not allowed", "Absender abgelehnt",
    "Expéditeur refusé", "Sender address <a@b.example> not owned by user c@b.example",
    "Client does not have permission to send as this sender",
])
def test_sender_side_refusals_are_rejected(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("rejected", False)


@pytest.mark.parametrize("text", [
    "Message blocked by the domain's content rules", "Your e-mail was blocked",
    "Sender is not in the recipient's allowed senders list",
])
def test_blocked_said_of_the_message_is_filtered(recipient, text):
    assert recipient.classify(550, None, text, "dot").reason == "filtered"


def test_a_blocked_message_that_names_the_ip_stays_blocked(recipient):
    assert recipient.classify(550, None, "Message blocked: your IP is banned",
                              "rcpt").reason == "blocked"


@pytest.mark.parametrize("text", [
    "This account has been terminated", "The user's account is temporarily disabled",
    "Mailbox has expired", "Cuenta cancelada",
])
def test_closed_and_terminated_accounts_are_suspended(recipient, text):
    assert recipient.classify(550, None, text, "rcpt").reason == "suspend"


@pytest.mark.parametrize("text", [
    "Server is shutting down", "Configuration error on this host", "Error while writing spool file",
    "LDAP lookup failed",
])
def test_server_side_failures_are_systemerror(recipient, text):
    assert recipient.classify(451, None, text, "rcpt").reason == "systemerror"


# ---- Chinese, Japanese and Korean wording of every family -----------------------------------

CJK_CASES = [
    ('userunknown', '550 收件人不存在'),
    ('userunknown', '550 该用户不存在\uff0c请核对地址'),
    ('userunknown', '550 查无此人'),
    ('userunknown', '550 無此使用者'),
    ('userunknown', '550 宛先不明のため配送できませんでした'),
    ('userunknown', '550 指定されたメールアドレスは存在しません'),
    ('userunknown', '550 존재하지 않는 사용자입니다'),
    ('userunknown', '550 收件人地址格式错误'),
    ('hostunknown', '550 收件人域名不存在'),
    ('hostunknown', '550 宛先ドメインが見つかりません'),
    ('hostunknown', '550 도메인을 찾을 수 없습니다'),
    ('mailboxfull', '552 对方邮箱已满'),
    ('mailboxfull', '452 收件人邮箱空间不足'),
    ('mailboxfull', '552 信箱容量已滿'),
    ('mailboxfull', '552 容量オーバーのため受信できません'),
    ('mailboxfull', '452 메일함 용량이 초과되었습니다'),
    ('suspend', '550 该邮箱已被冻结'),
    ('suspend', '550 帐号已停用'),
    ('suspend', '550 用户已注销'),
    ('suspend', '550 このアカウントは利用停止されています'),
    ('suspend', '550 휴면 계정입니다'),
    ('rejected', '553 发件人地址被拒绝'),
    ('rejected', '550 发信人电子邮件地址不合规范'),
    ('rejected', '553 送信者アドレスが不正です'),
    ('spamdetected', '554 邮件被判定为垃圾邮件'),
    ('spamdetected', '554 スパムと判定されました'),
    ('spamdetected', '554 스팸으로 분류되어 거부되었습니다'),
    ('speeding', '451 发送频率过高\uff0c请稍后再试'),
    ('speeding', '450 发信过于频繁'),
    ('speeding', '421 送信数が多すぎます'),
    ('speeding', '550 IP发送频率过高被禁止'),
    ('norelaying', '554 不允许中继'),
    ('norelaying', '550 リレーは許可されていません'),
    ('norelaying', '554 릴레이가 거부되었습니다'),
    ('mesgtoobig', '552 邮件大小超过限制'),
    ('mesgtoobig', '552 メールのサイズが大きすぎます'),
    ('mesgtoobig', '552 메일 크기가 제한을 초과했습니다'),
    ('blocked', '554 发信IP已被列入黑名单'),
    ('blocked', '554 您的IP已被封禁'),
    ('blocked', '554 送信元IPアドレスは拒否されました'),
    ('blocked', '554 IP가 차단되었습니다'),
    ('blocked', '554 ブラックリストに登録されています'),
    ('authfailure', '550 SPF验证失败'),
    ('authfailure', '550 DKIM签名验证失败'),
    ('authfailure', '550 送信ドメイン認証に失敗しました'),
    ('securityerror', '535 登录失败\uff0c密码错误'),
    ('filtered', '550 收件人已设置拒收'),
    ('filtered', '550 受信拒否設定により配信できません'),
    ('filtered', '550 수신 거부된 주소입니다'),
    ('virusdetected', '554 邮件含有病毒'),
    ('virusdetected', '554 ウイルスが検出されました'),
    ('networkerror', '451 连接超时'),
    ('networkerror', '451 DNS解析失败'),
    ('networkerror', '451 接続がタイムアウトしました'),
    ('systemerror', '451 服务器繁忙\uff0c请稍后再试'),
    ('systemerror', '451 一時的なエラーです。しばらくしてから再送してください'),
    ('systemerror', '451 잠시 후 다시 시도하십시오'),
    ('syntaxerror', '500 语法错误'),
    ('syntaxerror', '500 コマンドが認識できません'),
    ('policyviolation', '550 违反反垃圾策略'),
    ('contenterror', '550 邮件内容违规'),
    ('exceedlimit', '452 收件人数量超过限制'),
    ('badreputation', '550 发信IP信誉度低'),
    ('requireptr', '550 发信IP没有反向解析'),
    ('systemfull', '452 服务器磁盘空间不足'),
    ('expired', '投递超时\uff0c已放弃'),
]


@pytest.mark.parametrize(("reason", "text"), CJK_CASES)
def test_a_cause_in_chinese_japanese_or_korean_is_read(recipient, reason, text):
    code = int(text[:3]) if text[:3].isdigit() else None
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.basis) == (reason, "text")


@pytest.mark.parametrize(("text", "suppress"), [
    ("550 收件人不存在", True), ("550 宛先不明", True), ("550 该邮箱已被冻结", True),
    ("553 发件人地址不存在", False),  # the sender's address, not the recipient's
    ("554 发信IP已被列入黑名单", False), ("550 发送频率过高", False), ("552 对方邮箱已满", False),
])
def test_cjk_suppression_rests_on_the_recipient_s_cause(recipient, text, suppress):
    assert recipient.classify(int(text[:3]), None, text, "rcpt").suppress is suppress


def test_a_cjk_sender_refusal_wins_over_the_address_words(recipient):
    assert recipient.classify(553, None, "553 发件人地址不存在", "rcpt").reason == "rejected"


def test_a_bare_cjk_try_later_comes_after_a_stated_cause(recipient):
    stated = "451 发送频率过高\uff0c请稍后再试"  # a rate, then "try again later"
    assert recipient.classify(451, None, stated, "rcpt").reason == "speeding"
    assert recipient.classify(451, None, "451 请稍后再试", "rcpt").reason == "systemerror"


@pytest.mark.parametrize(("text", "kind"), [
    ("收件人不存在", "hard"), ("服务器暂时不可用\uff0c请稍后再试", "soft"), ("宛先不明", "hard"),
    ("一時的なエラーです", "soft"),
])
def test_without_code_cjk_words_give_the_kind(recipient, text, kind):
    assert recipient.classify(None, None, text, None).kind == kind


def test_cjk_words_do_not_widen_the_scan_of_other_scripts(recipient):
    # a Cyrillic text is not a candidate for the CJK rules (their words have a placeholder of
    # their own), and is still read
    possible = recipient._prefilter.possible("почтовый ящик переполнен")
    cjk = {i for i, (r, _) in enumerate(recipient._patterns)
           if recipient.rules[r].id.endswith("-cjk")}
    assert possible is not None and not possible & cjk


# ---- Round 5: families of terse and non-native wording that no rule read ---------------------

@pytest.mark.parametrize("text", [
    "no access for this ip", "black ip", "Your IP 192.0.2.7 is forbidden", "IP_REJECT",
    "unwelcome connection", "client [192.0.2.7] listed at relays.example.net",
])
def test_terse_refusals_of_the_sending_ip_are_blocks(recipient, text):
    got = recipient.classify(554, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("blocked", False)


def test_a_refusal_at_the_greeting_is_of_the_client(recipient):
    assert recipient.classify(554, None, "Sorry, you are not welcome here", "connect").reason \
        == "blocked"
    # a cause the greeting states still wins
    assert recipient.classify(421, None, "too many connections from your host",
                              "connect").reason == "toomanyconn"


def test_a_recipient_not_listed_in_a_directory_is_not_a_listing(recipient):
    got = recipient.classify(550, None, "User a@b.example not listed in public Name & Address Book",
                             "rcpt")
    assert got.reason == "userunknown"


@pytest.mark.parametrize("text", [
    "<a@b.example> is no longer valid", "not in recipient list",
    "account a@b.example does no exists",
    "this account dosn't exist", "local user a not found", "user a@b.example not found in server",
    "unavailable mail user", "<someone@example.com>... address invalid",
    "The recipient could not be found",
    "no such active account", "user name is unknown", "not user of this server", "该用户邮箱未开通",
])
def test_terse_and_misspelt_unknown_recipients_suppress(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("userunknown", True)


@pytest.mark.parametrize("text", ["Recipient rejected", "mailbox unavailable",
                                  "IP address invalid"])
def test_a_refusal_that_names_no_cause_does_not_suppress(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert got.reason != "userunknown" and not got.suppress


def test_a_sender_named_unknown_at_mail_from_does_not_suppress(recipient):
    got = recipient.classify(550, None, "account a@b.example does no exists", "mail")
    assert (got.reason, got.suppress) == ("rejected", False)


@pytest.mark.parametrize("text", [
    "queue unavailable", "server too busy", "system is busy", "message could not be queued",
    "LDAP server error", "reconfiguration in progress", "license expired",
    "temporary domain failure",
])
def test_the_recipient_s_system_in_trouble_is_a_system_error(recipient, text):
    assert recipient.classify(451, None, text, "rcpt").reason == "systemerror"


def test_a_busy_system_that_states_a_cause_is_the_cause(recipient):
    assert recipient.classify(421, None, "system busy, too many connections",
                              "connect").reason == "toomanyconn"


def test_memory_exhausted_is_a_full_system_like_its_storage(recipient):
    assert recipient.classify(421, None, "421 out of memory (#4.3.0)",
                              "connect").reason == "systemfull"


@pytest.mark.parametrize("text", [
    "no access for this domain", "host denies the sender", "fake sender",
    "sender verification failed", "sender is unvalidated", "mail from invalid", "bogus mail from",
    "From: domain must resolve", "the domain spam.example is banned",
    "sender a@b.example is on our blacklist", "envelope sender mismatch with login user",
    "The from address does not match a verified Sender Identity", "not local sender",
])
def test_terse_refusals_of_the_envelope_sender_are_rejected(recipient, text):
    got = recipient.classify(553, None, text, "mail")
    assert (got.reason, got.suppress) == ("rejected", False)


def test_a_block_list_naming_the_client_at_mail_from_stays_blocked(recipient):
    got = recipient.classify(550, None, "Client host [192.0.2.1] blocked using zen.spamhaus.org",
                             "mail")
    assert got.reason == "blocked"


# ---- Round 6: families of wording that no rule read (issue 31) --------------------------------

@pytest.mark.parametrize("text", [
    "Message is too long", "Your mail body was too big for us", "Exceeded mailsize limit",
    "Data stream is more than 10485760 bytes", "Message size violation",
    "Email size exceeded (policy)", "Attachment size is at its maximum",
])
def test_a_size_in_other_words_is_a_message_too_big(recipient, text):
    got = recipient.classify(552, "5.7.1", text, "dot")
    assert (got.reason, got.basis) == ("mesgtoobig", "text"), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Mailbox size limit exceeded",  # the mailbox's size, not the message's
    "Header line too long",  # a line, not the message
])
def test_a_size_that_is_not_the_message_s_is_not_mesgtoobig(recipient, text):
    assert recipient.classify(552, None, text, "dot").reason != "mesgtoobig"


@pytest.mark.parametrize("text", [
    "This host denies relay", "Relay operation rejected", "No relaying allowed",
    "Relay check for a@b.example failed", "Sorry, that domain is not in my list of allowed hosts",
    "Relaying through this server without authentication is not possible",
    "Requested action not taken: local user only",
])
def test_a_relay_refusal_in_other_words_is_norelaying(recipient, text):
    got = recipient.classify(553, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("norelaying", False), recipient.explain(got)


def test_local_user_only_is_the_sender_s_at_mail_from_and_auth_talk_is_not_a_relay(recipient):
    assert recipient.classify(553, None, "Local user only", "mail").reason == "rejected"
    assert recipient.classify(550, None, "Local user only or Authentication mechanism",
                              "rcpt").reason == "securityerror"


@pytest.mark.parametrize("text", [
    "You can only send 100 messages per day", "Ratelimited, come back later",
    "Not enough sending quota left", "You are over your relay quota",
    "Relay quota exceeded for this account", "Max messages per session reached",
    "Max defers and failures per hour reached",
])
def test_a_count_of_what_the_sender_sends_is_speeding(recipient, text):
    got = recipient.classify(452, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("speeding", False), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Too many recipient attempts", "Total of RCPTs exceeds the maximum",
    "Too much recipient", "Maximum number of recipients per message reached",
])
def test_a_count_of_recipients_in_one_message_is_exceedlimit(recipient, text):
    got = recipient.classify(452, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("exceedlimit", False), recipient.explain(got)


@pytest.mark.parametrize("text", ["Your email quota has been exceeded", "User is over quota"])
def test_a_quota_that_is_not_about_sending_stays_a_full_mailbox(recipient, text):
    assert recipient.classify(452, None, text, "rcpt").reason == "mailboxfull"


@pytest.mark.parametrize(("status", "text"), [
    (None, "Concurrent connections limit exceeded"),
    ("4.3.2", "All connection backlog slots are used up"),
    ("4.3.2", "Connection backlog slots full, try later"),
    ("4.3.2", "Too many connections from your IP"),
    ("4.7.0", "Your connection exceeds an accepting limit"),
])
def test_a_stated_connection_limit_beats_a_generic_status(recipient, status, text):
    got = recipient.classify(421, status, text, "connect")
    assert (got.reason, got.basis) == ("toomanyconn", "text"), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Server certificate not verified", "TLS session failed: certificate error",
    "Peer certificate is untrusted", "Invalid server certificate", "TLS required",
])
def test_a_certificate_failure_is_a_failed_tls_session(recipient, text):
    assert recipient.classify(454, "4.7.5", text, "starttls").reason == "failedstarttls"


@pytest.mark.parametrize(("text", "reasons"), [
    ("Client not authenticated to send mail", {"securityerror"}),
    ("Authentication required", {"securityerror"}),
    ("You are not authorized to send on behalf of this user", {"securityerror", "rejected"}),
    ("Send-as denied", {"securityerror", "rejected"}),
    ("Anonymous client does not have permissions to send as this sender",
     {"securityerror", "rejected"}),
])
def test_an_unauthenticated_or_impersonating_client_is_not_an_spf_result(recipient, text, reasons):
    got = recipient.classify(550, "5.7.1", text, "mail")
    assert got.reason in reasons and not got.suppress, recipient.explain(got)


# notaccept suppresses: it must mean the domain accepts no mail at all (null MX, 521/556).

@pytest.mark.parametrize(("code", "text"), [
    (554, "Service not available, no SMTP service for you"),
    (554, "mx.example.net: no SMTP service for 192.0.2.1"),
    (554, "No SMTP service: your IP has no reverse DNS"),
    (554, "No SMTP service, your network has a poor reputation"),
    (550, "mail for example.org loops back to myself"),
    (554, "MX list for example.org points back to mx.example.net"),
    (550, "Callback setup failed while verifying <s@example.net>"),
    (550, "Sender verify failed (result of an earlier callout reused)"),
])
def test_a_refusal_of_the_client_or_a_configuration_error_is_not_notaccept(recipient, code,
                                                                           text):
    got = recipient.classify(code, None, text, "connect" if "SMTP" in text else "rcpt")
    assert got.reason != "notaccept" and not got.suppress, recipient.explain(got)


def test_a_callout_quoting_a_user_unknown_is_about_the_sender(recipient):
    text = ("550-Verification failed for <s@example.net>\n550-Called:   192.0.2.7\n"
            "550-Sent:     RCPT TO:<s@example.net>\n550-Response: 550 5.1.1 User unknown\n"
            "550 Sender verify failed")
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("rejected", False), recipient.explain(got)


@pytest.mark.parametrize(("code", "text"), [
    (554, "No SMTP service here"), (521, "example.org does not accept mail"),
    (556, "Domain has null MX"),
])
def test_a_host_that_accepts_no_mail_is_still_notaccept(recipient, code, text):
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.suppress) == ("notaccept", True), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Bare LF received, use CRLF", "Lone CR in message body", "8-bit data not allowed",
    "Subject is mandatory", "Missing Date header", "No Message-ID header found",
    "Messages without a From: field are refused",
])
def test_a_message_breaking_the_rfc_format_is_notcompliantrfc(recipient, text):
    got = recipient.classify(554, "5.6.0", text, "dot")
    assert (got.reason, got.basis) == ("notcompliantrfc", "text"), recipient.explain(got)


def test_a_required_sender_is_not_a_required_header(recipient):
    assert recipient.classify(550, None, "Sender address is required", "mail").reason \
        != "notcompliantrfc"


# ---- Round 7: families of wording that no rule read (issue 31) --------------------------------

# An AUTH reply is about the sender's login: the account or user it names is the login's, never
# the recipient's, so it never suppresses.
@pytest.mark.parametrize(("code", "status", "text"), [
    (535, "5.7.8", "Authentication failed: No such account"),
    (550, None, "Authentication failed: No such account"),
    (554, None, "Authentication required: no such user here"),
    (550, None, "SMTP authentication credentials invalid, no such user"),
    (535, None, "No such user"),
    (534, "5.7.9", "Please log in with your web browser"),
    (454, "4.7.0", "Temporary authentication failure"),
    (553, None, "AUTH FAILED - a@b.example"),
    (550, None, "Invalid login or password"),
])
def test_an_auth_reply_is_the_sender_s_login_and_never_suppresses(recipient, code, status, text):
    for stage in ("rcpt", "mail"):
        got = recipient.classify(code, status, text, stage)
        assert (got.reason, got.suppress) == ("securityerror", False), recipient.explain(got)


@pytest.mark.parametrize(("text", "reason"), [
    ("DKIM authentication failed for example.org", "authfailure"),
    ("Relaying denied. Proper authentication required", "norelaying"),
    ("454 4.7.1 <a@b.example>: Relay access denied", "norelaying"),
])
def test_auth_words_of_spf_dkim_or_a_relay_stay_theirs(recipient, text, reason):
    assert recipient.classify(550, None, text, "rcpt").reason == reason


# A disabled mailbox said loosely: its subject (account, mailbox, user, recipient, address, in
# several languages) and the predicate a few words apart, with or without "is/has been".
@pytest.mark.parametrize("text", [
    "mailbox currently suspended", "address locked or deactivated",
    "<someone> is now disabled with SMTP service", "a conta do destinatário encontra-se suspensa",
    "recipient not enabled for receiving mail", "user account frozen",
    "la cuenta del destinatario está suspendida", "le compte de ce destinataire est désactivé",
    "das Konto des Empfängers wurde deaktiviert", "la casella del destinatario è disattivata",
    "the e-mail address you wrote to was terminated",
])
def test_a_disabled_mailbox_said_loosely_is_suspend_and_suppresses(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.basis, got.suppress) == ("suspend", "text", True), \
        recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Your account has been suspended for sending spam",  # the sender's account
    "Sender account disabled", "IP address locked for abuse", "User authentication disabled",
    "account forwarding disabled", "mailbox unavailable",
])
def test_what_is_not_the_recipient_s_mailbox_disabled_does_not_suppress(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert got.reason != "suspend" and not got.suppress, recipient.explain(got)


# Unknown recipients in broken English and typos, each with the recipient (user, account,
# address) as the subject; a host name said unknown is the domain's.
@pytest.mark.parametrize(("text", "reason"), [
    ("This server doesn't have this account", "userunknown"),
    ("local server don't exists that user", "userunknown"),
    ("recipient e-mail address unknown", "userunknown"),
    ("adress unknown", "userunknown"),
    ("The e-mail adress does not exists", "userunknown"),
    ("Recipient adress rejected: user dosn't exists", "userunknown"),
    ("we do not have such user", "userunknown"),
    ("host name is unknown", "hostunknown"),
])
def test_unknown_recipients_in_broken_english_suppress(recipient, text, reason):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.basis, got.suppress) == (reason, "text", True), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Recipient rejected", "mailbox unavailable", "Your host name is unknown",
    "sender adress invalid", "Client host name is unknown",
    # after every RCPT was refused: a sum of refusals whose causes it does not give
    "No correct recipients", "Error: no valid recipients",
])
def test_broken_english_that_names_no_recipient_cause_does_not_suppress(recipient, text):
    got = recipient.classify(550, None, text, "rcpt")
    assert not got.suppress, recipient.explain(got)


# A failure of the recipient's local delivery: a delivery program that failed is mailererror,
# the host's own trouble (its user database, NFS, configuration) systemerror; either decides
# before the enhanced status the mailer printed ("Unable to chdir to maildir. (#4.2.1)" is not a
# disabled mailbox).
@pytest.mark.parametrize(("code", "text", "reason"), [
    (451, "Unable to chdir to maildir. (#4.2.1)", "mailererror"),
    (550, "Unable to chdir to maildir. (#4.2.1)", "mailererror"),
    (451, "Timeout on maildir delivery. (#4.3.0)", "mailererror"),
    (451, "Temporary error on maildir delivery. (#4.3.0)", "mailererror"),
    (451, "Unable to run qmail-remote.", "mailererror"),
    (554, "qmail-local crashed.", "mailererror"),
    (554, "Can't create output", "mailererror"),
    (550, "cannot create user output file", "mailererror"),
    (550, "/home/u/.forward: Permission denied", "mailererror"),
    (451, "unknown mail transport error", "mailererror"),
    (554, "delivery program returned error 75", "mailererror"),
    (451, "Trouble reading users/cdb in qmail-lspawn.", "systemerror"),
    (451, "Unable to find alias user!", "systemerror"),
    (451, "NFS failure in qmail-local.", "systemerror"),
    (451, "Uh-oh: home directory is writable. (#4.7.0)", "systemerror"),
    (451, "Home directory is sticky: user is editing his .qmail file. (#4.2.1)", "systemerror"),
])
def test_a_local_delivery_failure_is_the_mailer_s_or_the_host_s(recipient, code, text, reason):
    got = recipient.classify(code, None, text, "dot")
    assert (got.reason, got.basis, got.suppress) == (reason, "text", False), recipient.explain(got)


def test_out_of_memory_in_the_local_delivery_stays_a_full_system(recipient):
    assert recipient.classify(451, None, "Out of memory in qmail-lspawn.",
                              "dot").reason == "systemfull"


@pytest.mark.parametrize("text", [
    "550 5.4.5 Daily user sending limit exceeded", "550 5.4.5 Daily sending quota exceeded",
])
def test_a_provider_s_daily_sending_limit_is_speeding_like_any_sending_count(recipient, text):
    got = recipient.classify(550, "5.4.5", text, "rcpt")
    assert (got.reason, got.suppress) == ("speeding", False), recipient.explain(got)


# Blocks in other languages: the sending IP, host or server as the subject is blocked; the
# recipient who blocked the sender is filtered. Neither suppresses.
@pytest.mark.parametrize(("text", "reason"), [
    ("Il tuo indirizzo IP bloccato per spam", "blocked"), ("indirizzo IP bloccato", "blocked"),
    ("Ihre IP gesperrt", "blocked"), ("Ihre IP wurde wegen Spam abgelehnt", "blocked"),
    ("Ihr Server ist gesperrt", "blocked"),
    ("Votre adresse IP bloquée", "blocked"), ("Su IP bloqueada por spam", "blocked"),
    ("Seu endereço IP foi bloqueado", "blocked"), ("Uw IP-adres is geblokkeerd", "blocked"),
    ("Twój adres IP został zablokowany", "blocked"),
    ("IP-адрес отправителя заблокирован", "blocked"), ("Ваш сервер заблокирован", "blocked"),
    ("수신차단된 발신자입니다", "filtered"), ("Der Empfänger hat Sie blockiert", "filtered"),
    ("Il destinatario ha bloccato il mittente", "filtered"),
    ("Le destinataire a bloqué l'expéditeur", "filtered"),
    ("El destinatario ha bloqueado al remitente", "filtered"),
    ("O destinatário bloqueou o remetente", "filtered"),
    ("De ontvanger heeft de afzender geblokkeerd", "filtered"),
    ("Odbiorca zablokował nadawcę", "filtered"),
    ("Получатель заблокировал отправителя", "filtered"),
])
def test_a_block_in_another_language_is_of_the_ip_or_by_the_recipient(recipient, text, reason):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.basis, got.suppress) == (reason, "text", False), recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Ihre Nachricht wurde abgelehnt, da sie als Spam eingestuft wurde",
    "Der Mailserver des Empfängers hat die Nachricht als Spam abgelehnt",
])
def test_a_message_refused_as_spam_in_german_stays_spam(recipient, text):
    assert recipient.classify(550, None, text, "dot").reason == "spamdetected"


# ---- A stated cause in other words is read from the text, before a generic temporary error ----
# Network and DNS failures; the recipient's own refusal of the sender; the SMTP and message
# format; rates counted per time unit, per connection or as a quota exception; a mailbox's space;
# the sending IP refused tersely; the receiving system's own failure.

@pytest.mark.parametrize(("code", "text", "reason"), [
    (None, "DNS temporary failure", "networkerror"),
    (None, "Temporary failure of hostname lookup", "networkerror"),
    (None, "host lookup did not complete", "networkerror"),
    (451, "DNS not available or timed out", "networkerror"),
    (None, "server dropped connection", "networkerror"),
    (None, "Connected to 192.0.2.1 but connection died", "networkerror"),
    (420, "TCP Write Error", "networkerror"),
    (None, "Read/Write error over network connection", "networkerror"),
    (450, "Host Down.", "networkerror"), (None, "Tried all MXs", "networkerror"),
    (451, "MX lookup failed for example.com", "networkerror"),
    (550, "The addressee does not want your messages", "filtered"),
    (550, "Rejected: sender is listed by the recipient's block list", "filtered"),
    (550, "Message held: your address is in Blocked Senders", "filtered"),
    (554, "Recipient address rejected: BLOCKSENDER", "filtered"),
    (552, "Message caught by the mailbox filter rules", "filtered"),
    (550, "The message matches a filter rule of the user", "filtered"),
    (451, "SMTP protocol violation", "notcompliantrfc"),
    (554, "Rejected: failed RFC compliance checks", "notcompliantrfc"),
    (550, "Line too long (max. line length 998)", "notcompliantrfc"),
    (451, "Stray CR in message", "notcompliantrfc"),
    (450, "Too many requests per minute from your host", "speeding"),
    (550, "You can only send 100 messages per hour", "speeding"),
    (554, "Submission.Exception:MessageQuotaExceededException", "speeding"),
    (421, "Maximum number of messages per session exceeded", "speeding"),
    (552, "The user has exhausted the allowed storage space", "mailboxfull"),
    (552, "Recipient mailbox space not enough", "mailboxfull"),
    (552, "The mail folder is over the allowed quota", "mailboxfull"),
    (552, "Postfach: Speicherplatz überschritten", "mailboxfull"),
    (554, "The sender 192.0.2.7 is banned", "blocked"),
    (550, "Mail from 192.0.2.7 refused", "blocked"),
    (421, "Your IP is not in our whitelist", "blocked"),
    (421, "System failure, please report to the postmaster", "systemerror"),
    (451, "Address lookup failed in the directory", "systemerror"),
    (554, "Error writing message to the spool", "systemerror"),
])
def test_a_stated_cause_in_other_words_is_read_from_the_text(recipient, code, text, reason):
    got = recipient.classify(code, None, text, None)
    assert (got.reason, got.basis, got.suppress) == (reason, "text", False), \
        recipient.explain(got)


@pytest.mark.parametrize("text", [
    "Temporary user lookup failure", "Error getting LDAP results in map", "write error on disk",
])
def test_a_lookup_or_write_that_is_not_the_network_s_is_not_networkerror(recipient, text):
    assert recipient.classify(451, None, text, None).reason != "networkerror"


@pytest.mark.parametrize("text", [
    "[GL01] Message from (192.0.2.1) temporarily deferred", "[TS02] Temporarily deferred",
    "4.7.0 (GL01) Message from (192.0.2.1) temporarily deferred - 4.16.50",
])
def test_yahoo_s_older_deferral_tags_are_its_rate_deferral(recipient, text):
    got = recipient.classify(421, "4.7.0", text, "connect")
    assert (got.reason, got.kind, got.suppress) == ("speeding", "soft", False), \
        recipient.explain(got)


# Wordings of the sender, its login, its IP or its host that the recipient rules' words also fit:
# none of them is the address's fault, none suppresses (an independent review's cases).
@pytest.mark.parametrize(("code", "status", "text"), [
    (553, "5.1.7", "Return address invalid"), (550, None, "Reply-To address invalid"),
    (550, None, "Wrong user or password"), (553, None, "wrong user/password"),
    (550, None, "Client host rejected: not our customer"),
    (550, None, "Sorry, you are not a user of this system"),
    (550, None, "Your IP is not on the user list"), (550, None, "Your account is no longer valid"),
    (550, None, "Address is no longer valid for sending from this IP"),
    (550, None, "Reverse DNS lookup failed: hostname not found"),
    (550, None, "Client host rejected: rDNS hostname not found"),
    (550, None, "IP 203.0.113.5 hostname not found"),
    (550, None, "Connecting host name not found in DNS"),
    (550, None, "User account temporarily locked due to too many failed logins"),
    (550, None, "Recipient's mail server suspended for maintenance"),
    (550, None, "Delivery to external recipient disabled by policy"),
    (550, None, "Recipient address rejected: account temporarily frozen due to spam complaints"),
    (550, None, "address locked: too many messages from your IP"),
    (550, None, "该用户未开通SMTP服务"), (550, None, "该账户未开通外发权限"),
    (550, None, "Client host does not have an address record"),
    # the sender's From or DKIM domain disabled, an account moved to another sending pool
    (550, "5.7.1", "Domain example.com has been disabled for abuse"),
    (550, "5.7.1", "Message rejected: domain example.com disabled due to abuse reports"),
    (550, "5.7.1", "From domain example.com is disabled"),
    (550, "5.7.1", "The From domain example.com is inactive in our system"),
    (550, "5.7.1", "Domain example.com disabled: too many bounces"),
    (550, None, "DKIM signing domain example.com is not active"),
    (550, "5.7.1", "Your account has been moved to a restricted sending pool"),
    (550, None, "Account moved to the bulk pool after complaints"),
])
def test_the_sender_s_login_ip_or_host_in_recipient_words_does_not_suppress(recipient, code,
                                                                            status, text):
    got = recipient.classify(code, status, text, None)
    assert not got.suppress, recipient.explain(got)


# ---- A restriction wrapper decides by the cause it states --------------------------------------
# "Sender address rejected:", "Recipient address rejected:", "Helo command rejected:" and "Client
# host rejected:" name the check; the words after the colon say why. With no cause stated the
# wrapper keeps its own reading (the sender's, the host's).

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("rcpt", "<a@example.com>: Recipient address rejected: Improper use of SMTP command pipelining",
     "syntaxerror"),
    ("mail", "<s@example.net>: Sender address rejected: improper command pipelining after MAIL",
     "syntaxerror"),
    ("rcpt", "<a@example.com>: Recipient address rejected: Server configuration error",
     "systemerror"),
    ("mail", "<s@example.net>: Sender address rejected: Server configuration problem",
     "systemerror"),
    ("helo", "<mx.example.net>: Helo command rejected: Server configuration error", "systemerror"),
    ("mail", "<s@example.net>: Sender address rejected: too many messages in the last 10 minutes",
     "speeding"),
    ("rcpt", "Client host rejected: Rate limit exceeded for your host, slow down", "speeding"),
    ("rcpt", "<a@example.com>: Recipient address rejected: Access denied for policy reasons",
     "policyviolation"),
    ("mail", "<s@example.net>: Sender address rejected: refused for policy reasons",
     "policyviolation"),
    ("rcpt", "<a@example.com>: Recipient address rejected: Try again later", "undefined"),
    ("mail", "<s@example.net>: Sender address rejected: Try again later.", "undefined"),
    ("helo", "<mx.example.net>: Helo command rejected: try again later (in reply to HELO command)",
     "undefined"),
    # counterexamples: no cause after the wrapper, or a cause the wrapper's own reading keeps
    ("mail", "<s@example.net>: Sender address rejected: Access denied", "rejected"),
    ("rcpt", "Client host rejected: Access denied by policy", "blocked"),
    ("rcpt", "<a@example.com>: Recipient address rejected: Try again later, mailbox is full",
     "mailboxfull"),
    ("rcpt", "Message not accepted for policy reasons (DMARC)", "authfailure"),
])
def test_a_restriction_wrapper_decides_by_the_cause_it_states(recipient, stage, text, reason):
    got = recipient.classify(450 if "later" in text else 550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The receiving host's own queue or mailbox store failing is a system error ---------------
# qmail's "qq ..." replies, its control files and IP addresses, a mailbox store that cannot read
# a mailbox: not the network ("read error"), not a full system unless disk or memory is stated.

@pytest.mark.parametrize(("text", "reason"), [
    ("qq crashed (#4.3.0)", "systemerror"),
    ("qq read error (#4.3.0)", "systemerror"),
    ("qq trouble creating files in queue (#4.3.0)", "systemerror"),
    ("qq internal bug (#4.3.0)", "systemerror"),
    ("qq temporary failure (#4.3.0)", "systemerror"),
    ("qq timeout (#4.3.0)", "systemerror"),
    ("unable to read controls (#4.3.0)", "systemerror"),
    ("Unable to figure out my IP addresses. (#4.3.0)", "systemerror"),
    ("The mailbox has an invalid format", "systemerror"),
    ("Mail folder has a corrupted index", "systemerror"),
    ("Error processing message", "systemerror"),
    # counterexamples: a stated full disk or memory, a network read error, a stated cause
    ("qq write error or disk full (#4.3.0)", "systemfull"),
    ("out of memory (#4.3.0)", "systemfull"),
    ("Read error on connection to the client", "networkerror"),
    ("Error processing message: spam detected", "spamdetected"),
])
def test_the_host_s_own_queue_or_mailbox_store_failing_is_a_system_error(recipient, text, reason):
    got = recipient.classify(451, None, text, "dot")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A recipient object disabled: domain, alias, distribution list ----------------------------
# Each cannot receive, like a disabled mailbox (suspend, suppresses); the sender's own account or
# domain disabled, or a login, relay or server disabled, is not the recipient's.

@pytest.mark.parametrize(("text", "reason", "suppress"), [
    ("Domain example.org is disabled", "suspend", True),
    ("The alias sales@example.org is inactive", "suspend", True),
    ("This distribution list is currently not active", "suspend", True),
    ("Recipient domain not active", "suspend", True),
    ("Mail to disabled domain", "suspend", True),
    ("Mail for this domain has been deactivated", "suspend", True),
    # counterexamples: the sender's, the login's, the relay's or the server's
    ("Your domain has been disabled for sending", "undefined", False),
    ("Sender domain is disabled", "undefined", False),
    ("Your account is disabled", "rejected", False),
    ("SMTP AUTH failed: account disabled", "securityerror", False),
    ("Relaying for this domain is disabled", "norelaying", False),
    ("Mail server for this domain is disabled", "undefined", False),
])
def test_a_disabled_recipient_domain_alias_or_list_is_suspend(recipient, text, reason, suppress):
    got = recipient.classify(550, None, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, suppress), recipient.explain(got)


# ---- The connecting client's reverse DNS ----------------------------------------------------
# Its IP that does not resolve, a hostname possibly forged, no PTR: requireptr, before a wrapper,
# the X.1.8 status and the generic "forged"; a sender address or HELO said forged stays theirs.

@pytest.mark.parametrize(("status", "text", "reason"), [
    (None, "Client IP address does not resolve", "requireptr"),
    ("5.7.1", "Client host name 192.0.2.1 does not resolve", "requireptr"),
    ("5.1.8", "<s@example.net>: Sender address rejected: possibly forged hostname for 192.0.2.1",
     "requireptr"),
    ("5.1.8", "Possibly forged hostname (192.0.2.1)", "requireptr"),
    (None, "mx.example.net [192.0.2.1] (may be forged) rejected", "requireptr"),
    ("5.7.1", "Your IP has no PTR record", "requireptr"),
    # counterexamples: a forged sender or HELO, a sender's or recipient's domain not resolving
    ("5.7.1", "Sender address possibly forged", "securityerror"),
    ("5.7.1", "Mail appears to be unsolicited - Forged Helo - resend", "spamdetected"),
    ("4.1.8", "Domain of sender address x@example.net does not resolve", "rejected"),
])
def test_the_client_s_reverse_dns_is_requireptr(recipient, status, text, reason):
    got = recipient.classify(550, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- An SPF verdict is an authentication failure, whatever wrapper or domain words surround it --

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("mail", "Please see http://www.openspf.net/Why?s=mfrom;id=s@example.net;ip=192.0.2.1;r=mx: "
             "example.net is not allowed to send mail from 192.0.2.1", "authfailure"),
    ("mail", "SPF ERROR", "authfailure"),
    ("mail", "SPF softfail for example.net", "authfailure"),
    ("mail", "You don't have permission to send from this domain", "authfailure"),
    ("mail", "<s@example.net>: Sender address rejected: SPF fail - not authorized", "authfailure"),
    ("rcpt", "192.0.2.1 is not allowed to send mail from example.net according to its SPF record",
     "authfailure"),
    # counterexamples: a refused sender domain with no SPF word; an SPF pass beside another cause
    ("mail", "Domain example.net rejected", "rejected"),
    ("rcpt", "SPF check passed; user unknown", "userunknown"),
])
def test_an_spf_verdict_is_an_authentication_failure(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert got.reason == reason, recipient.explain(got)


# ---- Rates in other words; complaints are a reputation --------------------------------------

@pytest.mark.parametrize(("status", "text", "reason"), [
    (None, "Throttled", "speeding"),
    ("4.7.1", "You have exceeded the limits for how many messages can be sent per hour",
     "speeding"),
    ("4.7.1", "There are limits on the number of messages you can send per day", "speeding"),
    (None, "Too many concurrent deliveries for this user", "speeding"),
    ("4.7.0", "[TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints",
     "badreputation"),
    ("4.7.0", "Messages deferred due to user complaints", "badreputation"),
    # counterexamples: concurrent connections, volume named beside complaints, a mailbox's count
    (None, "Too many concurrent connections from this host", "toomanyconn"),
    ("4.7.0", "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
              "user complaints", "speeding"),
    ("4.2.2", "Mailbox over quota: limit on the number of messages in the mailbox reached",
     "mailboxfull"),
])
def test_rates_in_other_words_and_complaints_as_reputation(recipient, status, text, reason):
    got = recipient.classify(451, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The message's format, under generic X.6.0, X.7.7 and X.6.x statuses ----------------------

@pytest.mark.parametrize(("status", "text", "reason"), [
    ("5.6.0", "Message contains non-ASCII characters in headers", "notcompliantrfc"),
    ("5.6.0", "Header line contains unencoded 8-bit characters", "notcompliantrfc"),
    ("5.7.7", "Message has no header/body separator", "notcompliantrfc"),
    ("5.7.7", "No empty line between headers and body", "notcompliantrfc"),
    ("5.6.0", "Failed to parse message", "notcompliantrfc"),
    ("5.6.1", "The message could not be parsed", "notcompliantrfc"),
    # counterexamples: a header-based policy, a content refusal naming no format
    ("5.7.1", "header based anti-spoofing policy", "blocked"),
    ("5.6.0", "Message content rejected", "contenterror"),
])
def test_a_message_format_fault_is_notcompliantrfc_under_a_generic_status(recipient, status,
                                                                            text, reason):
    got = recipient.classify(554, status, text, "dot")
    assert (got.reason, got.basis, got.suppress) == (reason, "text", False), recipient.explain(got)


# ---- A count of bad recipients is about the sender ------------------------------------------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (550, "5.7.1", "Too many invalid recipient requests", "blocked"),
    (550, None, "too many illegal recipients", "blocked"),
    (421, None, "Too many bad recipient attempts, closing connection", "blocked"),
    (550, "5.1.1", "too many unknown user errors from your host", "blocked"),
    # counterexamples: one invalid recipient is the address; a recipient count is the message's
    (550, None, "Invalid recipient", "userunknown"),
    (452, None, "Too many recipients per message", "exceedlimit"),
])
def test_a_count_of_bad_recipients_is_the_sender_s(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, reason == "userunknown"), recipient.explain(got)


# ---- The envelope sender's own address at fault is rejected, never suppressed ----------------

@pytest.mark.parametrize(("code", "stage", "text", "reason"), [
    (550, "mail", "Null sender is not allowed by policy", "rejected"),
    (553, "mail", "MAIL FROM:<> rejected by local policy: null sender not accepted", "rejected"),
    (550, "rcpt", "Bounces (null sender) not accepted here", "rejected"),
    (503, "mail", "Sender address must be specified", "rejected"),
    (550, "rcpt", "Sender domain has MX but no A record", "rejected"),
    (550, "mail", "Domain example.net has no DNS record", "rejected"),
    (553, "rcpt", "The return address domain is not valid", "rejected"),
    (550, "mail", "Please use a valid email address according to RFC 5321/5322", "rejected"),
    # counterexamples: the recipient's domain, an address at RCPT (it may be the recipient's), a
    # message format, a sequence error
    (550, "rcpt", "Recipient address rejected: Domain not found", "hostunknown"),
    (550, "rcpt", "Domain example.net has no MX record", "hostunknown"),
    (553, "rcpt", "Please use a valid email address according to RFC 5321/5322", "undefined"),
    (554, "dot", "Message is not RFC 5322 compliant: duplicate Message-ID header",
     "notcompliantrfc"),
    (503, "mail", "Sender already specified", "syntaxerror"),
])
def test_the_sender_s_own_address_at_fault_is_rejected(recipient, code, stage, text, reason):
    got = recipient.classify(code, None, text, stage)
    assert (got.reason, got.suppress) == (reason, reason in ("hostunknown", "userunknown")), \
        recipient.explain(got)


# ---- Who may post to a mailbox or list is the recipient's restriction: filtered --------------

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("rcpt", "You do not have permission to post to this mailbox", "filtered"),
    ("rcpt", "You are not allowed to post to this mailing list", "filtered"),
    ("rcpt", "Not authorized sender", "filtered"),
    ("rcpt", "Sender is not an authorized owner of this group", "filtered"),
    ("rcpt", "Delivery is not allowed to this address", "filtered"),
    ("rcpt", "Only members can post to this list", "filtered"),
    # counterexamples: the sender at MAIL FROM, send-as rights, an SPF-style host authorisation
    ("mail", "Sender not authorized", "rejected"),
    ("rcpt", "You are not authorized to send on behalf of this user", "securityerror"),
    ("rcpt", "192.0.2.1 is not authorized to send mail for example.net", "authfailure"),
])
def test_permission_to_post_is_the_recipient_s_filter(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A certificate that fails validation is a failed TLS session; SMTP AUTH in other words --

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (454, "4.7.5", "rcpt", "Certificate validation failed", "failedstarttls"),
    (421, None, "connect", "STARTTLS certificate validation failed", "failedstarttls"),
    (454, None, "mail", "Remote certificate could not be validated", "failedstarttls"),
    (504, "5.7.4", "mail", "Authentication type not supported", "securityerror"),
    (504, None, "mail", "Unrecognized authentication type", "securityerror"),
    (553, "5.7.1", "mail", "Sender address <a@example.net> forbidden to calling user",
     "securityerror"),
    (553, None, "rcpt", "<a@example.net>: Sender address rejected: forbidden to calling user",
     "securityerror"),
    # counterexamples: a DKIM signature that fails validation, a sender not owned by the login
    (550, None, "dot", "DKIM signature validation failed", "authfailure"),
    (553, None, "mail", "<a@example.net>: Sender address rejected: not owned by user b@example.org",
     "rejected"),
])
def test_tls_certificate_validation_and_smtp_auth_in_other_words(recipient, code, status, stage,
                                                                 text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- Sizes and storage with no code: the message's size, the mailbox's quota, the host's disk --

@pytest.mark.parametrize(("code", "text", "reason"), [
    (None, "message size exceed", "mesgtoobig"),
    (None, "Message size exceeded", "mesgtoobig"),
    (452, "Quota error", "mailboxfull"),
    (550, "quota error for user", "mailboxfull"),
    (452, "Account storage full", "mailboxfull"),
    (452, "Mail system full", "systemfull"),
    # counterexamples: a sending quota, a server's storage or memory
    (452, "sending quota error", "undefined"),
    (452, "Storage full", "systemfull"),
    (451, "out of memory", "systemfull"),
])
def test_sizes_and_storage_with_no_code(recipient, code, text, reason):
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The recipient said moved is hasmoved; a mailbox being moved is not ----------------------

@pytest.mark.parametrize(("code", "text", "reason"), [
    (550, "Mailbox moved", "hasmoved"),
    (550, "address moved", "hasmoved"),
    (550, "Mailbox has been moved permanently", "hasmoved"),
    (550, "Recipient <jane@example.com> moved", "hasmoved"),
    # counterexamples: a migration or maintenance, a message moved to a folder, the sender's address
    (451, "mailbox temporarily moved for maintenance", "undefined"),
    (550, "This mailbox has been moved to another server", "undefined"),
    (550, "The message was moved to junk folder", "undefined"),
    (550, "Sender address moved", "undefined"),
])
def test_a_recipient_said_moved_has_moved(recipient, code, text, reason):
    got = recipient.classify(code, None, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, reason == "hasmoved"), recipient.explain(got)


# ---- An attachment refused for its type is the receiver's attachment policy -----------------

@pytest.mark.parametrize(("status", "text", "reason"), [
    ("5.7.1", "Forbidden file extension", "policyviolation"),
    (None, "Message contains a forbidden file extension (.exe)", "policyviolation"),
    (None, "Attachment type not allowed", "policyviolation"),
    (None, "Blocked file extension .js", "policyviolation"),
    ("5.7.1", "File type .exe is not allowed", "policyviolation"),
    ("5.6.1", "Executable attachments are not allowed", "policyviolation"),
    # counterexamples: a virus in the attachment, an attachment refused with no type named
    (None, "Message rejected: a virus was found in the attachment", "virusdetected"),
    (None, "Attachment rejected", "contenterror"),
])
def test_an_attachment_refused_for_its_type_is_a_policy(recipient, status, text, reason):
    got = recipient.classify(550, status, text, "dot")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- An early talker, a dynamic HELO or host, a client not who it says it is: blocked ----------

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("connect", "SMTP protocol violation: early talker", "blocked"),
    ("rcpt", "Talking before greeting is not allowed", "blocked"),
    ("helo", "HELO is a dynamic host", "blocked"),
    ("rcpt", "Your HELO name looks like a dynamic IP address", "blocked"),
    ("rcpt", "Mail from dynamic IP addresses is not accepted", "blocked"),
    ("mail", "You are not who you say you are", "blocked"),
    # counterexamples: pipelining misused, a message format fault, a dynamic list, a missing PTR
    ("rcpt", "Improper use of SMTP command pipelining", "syntaxerror"),
    ("dot", "SMTP protocol violation: bare LF", "notcompliantrfc"),
    ("rcpt", "Recipient is a dynamic distribution list", "undefined"),
    ("rcpt", "Your IP looks dynamic: its rDNS is generic, please set a proper PTR", "requireptr"),
])
def test_a_client_judged_by_its_behaviour_is_blocked(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# "Remote host" in the sending MTA's own words is the recipient's server, not the client's rDNS.
@pytest.mark.parametrize(("code", "status", "text"), [
    (550, "5.1.2", "remote host does not resolve"),
    (550, "5.1.2", "Remote host could not be resolved"),
    (554, "5.4.4", "Remote host name could not be resolved (example.invalid)"),
])
def test_a_remote_host_that_does_not_resolve_is_the_recipient_s_domain(recipient, code, status,
                                                                       text):
    got = recipient.classify(code, status, text, None)
    assert (got.reason, got.suppress) == ("hostunknown", True), recipient.explain(got)


# ---- TLS required in words, and DANE failures, are failedstarttls before any status entry -----

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (552, "5.2.2", "mail", "This server accepts mail only over a TLS connection", "failedstarttls"),
    (550, "5.7.1", "rcpt", "We accept messages only on TLS connections", "failedstarttls"),
    (530, None, "mail", "Command refused due to lack of security", "failedstarttls"),
    (451, None, "rcpt", "Unencrypted connections are not allowed", "failedstarttls"),
    (550, None, "mail", "Secure connection required", "failedstarttls"),
    (530, "5.7.0", "mail", "You must issue STARTTLS first", "failedstarttls"),
    (550, "5.7.321", None, "starttls-not-supported: Destination mail server must support TLS to "
     "receive mail", "failedstarttls"),
    (450, "4.7.5", None, "TLSA lookup error for mx.example.net:25", "failedstarttls"),
    (550, "5.7.323", None, "tlsa-invalid: The domain failed DANE validation", "failedstarttls"),
    (451, "4.7.0", "rcpt", "No usable TLSA records for mx.example.net", "failedstarttls"),
    (550, "5.7.324", None, "dnssec-invalid: Destination domain returned invalid DNSSEC records",
     "networkerror"),
    (451, "4.4.3", None, "DNSSEC validation failed for the MX records of example.net",
     "networkerror"),
    # counterexamples: encryption required by an AUTH mechanism is the login's, a bare auth demand
    (538, "5.7.11", "mail", "Encryption required for requested authentication mechanism",
     "securityerror"),
    (550, None, "mail", "Encryption required for requested authentication mechanism",
     "securityerror"),
    (530, "5.7.0", "mail", "Authentication required", "securityerror"),
    (552, "5.2.2", "rcpt", "Mailbox full", "mailboxfull"),
])
def test_tls_required_in_words_and_dane_failures(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The sender's address failed the receiver's callout: rejected, never a suppression -------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (550, "5.1.1", "Verification of sender address failed: User unknown", "rejected"),
    (550, "5.1.1", "Sender callout failed: no such user", "rejected"),
    (550, "5.1.1", "sender address does not verify: user does not exist", "rejected"),
    (550, "5.7.1", "Sender check failed: address does not exist", "rejected"),
    (450, "4.1.1", "Could not verify sender <s@example.org>: mailbox not found", "rejected"),
    (550, None, "Verification of sender address failed: 550 5.1.1 User unknown", "rejected"),
    (550, None, "Sender verification failed", "rejected"),
    # counterexamples: the recipient's own address verified and not found
    (550, "5.1.1", "Recipient verification failed: User unknown", "userunknown"),
    (550, "5.1.1", "Address verification failed for recipient: no such user", "userunknown"),
])
def test_a_sender_that_failed_verification_is_rejected(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, reason == "userunknown"), recipient.explain(got)


# ---- The receiver's own processing fault is systemerror, before X.6.0 / X.3.4 status entries --

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (451, "4.3.0", "Error in processing", "systemerror"),
    (451, "4.6.0", "Error in processing, please try again", "systemerror"),
    (552, "5.3.4", "Error in processing", "systemerror"),
    (451, "4.6.0", "Content scanner malfunction", "systemerror"),
    (451, "4.3.4", "Allocated resources exceeded", "systemerror"),
    (550, "5.6.0", "Virus scanner failure, message not checked", "systemerror"),
    (451, "4.6.0", "Message processing failed", "systemerror"),
    (554, "5.6.0", "Internal error while checking the message", "systemerror"),
    # counterexamples: a size, a virus found, a content or header fault, the system's memory
    (552, "5.3.4", "Message size exceeds fixed maximum message size", "mesgtoobig"),
    (554, "5.7.1", "Virus found by the virus scanner: Eicar-Test", "virusdetected"),
    (554, "5.6.0", "Message contains invalid header", "contenterror"),
    (452, "4.3.1", "Insufficient system resources", "systemfull"),
])
def test_a_receiver_s_processing_fault_is_a_system_error(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "dot")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- Recipients counted per message, connection, session or transaction are exceedlimit --------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (452, "4.5.3", "Service unavailable, recipients per connection limit reached", "exceedlimit"),
    (451, None, "Recipients per session limit exceeded", "exceedlimit"),
    (452, None, "Limit of recipients per SMTP session reached", "exceedlimit"),
    (452, "4.5.3", "Too many recipients for this transaction", "exceedlimit"),
    # counterexamples: connections, messages per session and recipients per hour are not
    (421, None, "Too many concurrent connections from your host", "toomanyconn"),
    (421, None, "Maximum messages per session exceeded", "speeding"),
    (452, None, "Too many recipients received this hour", "speeding"),
])
def test_recipients_counted_per_connection_are_exceedlimit(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A client that claims the receiver's own name or IP at HELO is blocked -------------------

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("helo", "You have claimed to be me, but you are not", "blocked"),
    ("helo", "You are not mx.example.net", "blocked"),
    ("rcpt", "HELO with my own name is not allowed", "blocked"),
    ("rcpt", "Your HELO uses my IP address", "blocked"),
    ("rcpt", "HELO with my own IP address rejected", "blocked"),
    ("connect", "Don't use my own hostname in HELO", "blocked"),
    ("rcpt", "Impersonation of this server at HELO", "blocked"),
    # counterexamples: a recipient refusal that says "you are not", an address in the reply
    ("rcpt", "You are not allowed to post to this mailing list", "filtered"),
    ("rcpt", "You are not jane@example.com, user unknown", "userunknown"),
])
def test_a_client_claiming_the_receiver_s_name_is_blocked(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, reason == "userunknown"), recipient.explain(got)


# ---- A recipient that accepts only authenticated or listed senders is a policy ----------------

@pytest.mark.parametrize(("status", "text", "reason"), [
    ("5.7.12", "Sender was not authenticated by organization", "policyviolation"),
    ("5.7.134", "The sender was not authenticated for this mailbox", "policyviolation"),
    ("5.7.13", "Sender has not been authenticated for the public folder", "policyviolation"),
    ("5.7.13", "Your address is not on the group's allowed senders list", "policyviolation"),
    ("5.7.1", "Sender is not an approved sender", "policyviolation"),
    ("5.7.1", "You are not authorized to send to this distribution list", "policyviolation"),
    ("5.7.1", "You don't have permission to send messages to this group", "policyviolation"),
    (None, "This mailbox only accepts mail from authenticated senders", "policyviolation"),
    # counterexamples: the server's own SMTP AUTH, an SPF verdict, the recipient's own safe list,
    # permission to post to a list, a disabled account under the same status
    (None, "Unauthenticated senders not allowed", "securityerror"),
    ("5.7.57", "Client not authenticated to send mail", "securityerror"),
    ("5.7.1", "Sender not authenticated: SPF check failed", "authfailure"),
    (None, "Sender is not in the recipient's allowed senders list", "filtered"),
    (None, "You are not allowed to post to this mailing list", "filtered"),
    ("5.7.13", "The user account is disabled", "suspend"),
])
def test_a_recipient_accepting_only_listed_senders_is_a_policy(recipient, status, text, reason):
    got = recipient.classify(550, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, reason == "suspend"), recipient.explain(got)


# ---- The message's format in words is notcompliantrfc; a malformed command is syntax ----------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (550, "5.6.0", "dot", "The message has defects", "notcompliantrfc"),
    (554, "5.6.0", "dot", "Mail contains several defects, rejected", "notcompliantrfc"),
    (550, "5.7.1", "dot", "Header 'References' too long", "notcompliantrfc"),
    (554, "5.6.0", "dot", "Message headers are too long", "notcompliantrfc"),
    (550, "5.6.11", "dot", "Invalid characters", "notcompliantrfc"),
    (554, "5.6.0", "data", "Line length exceeded", "notcompliantrfc"),
    (500, None, "dot", "Line too long", "notcompliantrfc"),
    (552, None, "dot", "Too many header lines", "notcompliantrfc"),
    (501, None, "ehlo", "Syntactically invalid EHLO argument(s)", "syntaxerror"),
    (500, None, "helo", "Invalid EHLO", "syntaxerror"),
    (500, "5.5.2", "mail", "Line too long", "syntaxerror"),
    (500, None, None, "Line too long", "syntaxerror"),
    (500, None, "rcpt", "Command line too long", "syntaxerror"),
    (501, None, None, "Syntax error in parameters", "syntaxerror"),
    # counterexamples: a HELO name refused, a header the corpus reads as content, a size
    (550, None, "mail", "Invalid HELO name", "blocked"),
    (554, "5.6.0", "dot", "Message contains invalid header", "contenterror"),
    (552, "5.3.4", "dot", "Message body too long", "mesgtoobig"),
])
def test_the_message_s_format_and_a_malformed_command(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A bounce (null sender) with more than one recipient is refused by policy -----------------

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("data", "This bounce message does not have 1 recipient", "policyviolation"),
    ("rcpt", "Bounce messages may only have a single recipient", "policyviolation"),
    ("rcpt", "Null sender: more than one recipient is not allowed", "policyviolation"),
    ("rcpt", "Multiple recipients are not accepted for bounces", "policyviolation"),
    ("rcpt", "MAIL FROM:<> with several recipients rejected", "policyviolation"),
    # counterexamples: a recipient limit, a refused null sender, a count of invalid recipients,
    # a message said bounced
    ("rcpt", "Too many recipients", "exceedlimit"),
    ("mail", "Null sender not allowed", "rejected"),
    ("rcpt", "Too many invalid recipients", "blocked"),
    ("rcpt", "Message bounced: too many recipients", "exceedlimit"),
])
def test_a_bounce_to_several_recipients_is_a_policy(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A recipient blocked or black-holed by the receiver's policy is filtered, even under 551 --

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (551, "5.7.1", "Recipient blackholed", "filtered"),
    (551, None, "Recipient address blocked by policy", "filtered"),
    (551, None, "The recipient <jane@example.net> is black-holed", "filtered"),
    (550, None, "Blackholed address", "filtered"),
    # counterexamples: a 551 that says the user moved, a block naming the sending IP
    (551, None, "User not local; please try <jane@new.example>", "hasmoved"),
    (550, None, "Recipient address blocked: your IP is listed at a DNSBL", "blocked"),
])
def test_a_recipient_blocked_by_policy_is_filtered(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "rcpt")
    assert (got.reason, got.suppress) == (reason, reason == "hasmoved"), recipient.explain(got)


# ---- Bounces (null-sender messages) refused by the receiver's policy -------------------------

@pytest.mark.parametrize(("stage", "text", "reason"), [
    ("mail", "No bounces accepted here", "policyviolation"),
    ("mail", "Bounce messages are not accepted from your host", "policyviolation"),
    ("rcpt", "noreply@example.org does not accept bounces", "policyviolation"),
    ("dot", "Bounce with non-empty Return-Path (RFC 3834)", "policyviolation"),
    ("dot", "bounce without a Message-ID, refused", "policyviolation"),
    ("dot", "Invalid bounce (spoofed sender)", "policyviolation"),
    # counterexamples: a refused null sender, a sender refused as spoofed, a message said bounced
    ("mail", "Null sender not allowed", "rejected"),
    ("mail", "Sender address rejected: spoofed sender", "rejected"),
    ("dot", "Message bounced: mailbox not found", "filtered"),
])
def test_a_refused_bounce_is_a_policy(recipient, stage, text, reason):
    got = recipient.classify(550, None, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The receiver's processing fault in other words, before the X.5.1 / X.4.0 / X.6.0 entries ---

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (451, "4.3.0", "dot", "Processing error, please try again", "systemerror"),
    (451, "4.5.1", "rcpt", "Internal protocol error", "systemerror"),
    (451, "4.6.0", "dot", "Internal confusion", "systemerror"),
    (451, "4.4.0", "rcpt", "Backend not running", "systemerror"),
    (451, "4.0.0", "dot", "Failed to queue the message", "systemerror"),
    (451, "4.3.0", "dot", "Spool failed", "systemerror"),
    (451, None, "rcpt", "Internal delivery error", "systemerror"),
    (452, "4.2.2", "rcpt", "Quota calculation error", "systemerror"),
    (451, None, "dot", "Local delivery failed: unfinished data", "systemerror"),
    # counterexamples: a DKIM verdict, a full mailbox said while storing, a virus found
    (550, "5.7.1", "dot", "DKIM processing error", "authfailure"),
    (452, "4.2.2", "rcpt", "Failed to store message: quota exceeded", "mailboxfull"),
    (554, "5.6.0", "dot", "Message contains a virus", "virusdetected"),
])
def test_the_receiver_s_processing_fault_in_other_words(recipient, code, status, stage, text,
                                                        reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The message's headers required after DATA, before the X.6.0 / X.7.7 / X.5.x entries ------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (554, "5.6.0", "Headers are missing", "notcompliantrfc"),
    (550, "5.7.1", "We require a valid From header", "notcompliantrfc"),
    (554, "5.7.7", "Malformed From: header", "notcompliantrfc"),
    (550, "5.7.1", "Date header too far in the past", "notcompliantrfc"),
    (550, "5.6.0", "The Date: header lies in the future", "notcompliantrfc"),
    (554, "5.5.0", "Headers specify no recipients", "notcompliantrfc"),
    (554, "5.5.1", "You must send some data first", "notcompliantrfc"),
    (550, "5.7.1", "Required header missing: Message-ID", "notcompliantrfc"),
    # counterexamples: the From domain's listing or DMARC result, a From domain refused
    (550, "5.7.1", "From header domain is listed in a blocklist", "blocked"),
    (550, "5.7.1", "DMARC policy rejection: From header domain fails alignment", "authfailure"),
])
def test_the_message_s_headers_required_after_data(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "dot")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The client's HELO name checked against DNS, its IP or its domain is a block of the host ----

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (550, "5.7.1", "helo", "HELO mail.example.com does not match 192.0.2.10", "blocked"),
    (550, "5.7.1", "helo", "EHLO name mx.example.com does not exist", "blocked"),
    (550, "5.5.1", "mail", "HELO host name can not be resolved", "blocked"),
    (450, "4.4.0", "helo", "DNS lookup on HELO failed", "blocked"),
    (550, "5.7.1", "mail", "No DNS entries for your MTA, HELO and domain", "blocked"),
    (550, "5.7.1", "mail", "HELO/EHLO domain does not match MAIL FROM domain", "blocked"),
    (550, "5.7.1", "rcpt", "No FCrDNS match for 192.0.2.1", "requireptr"),
    # counterexamples: a malformed EHLO argument, a HELO that is not fully qualified, the
    # recipient's domain not found
    (501, "5.5.2", "helo", "Syntactically invalid EHLO argument(s)", "syntaxerror"),
    (504, "5.5.2", "helo", "Helo command rejected: need fully-qualified hostname", "syntaxerror"),
    (450, "4.1.2", "rcpt", "Recipient address rejected: Domain not found", "hostunknown"),
])
def test_the_client_s_helo_checked_against_dns_is_a_block(recipient, code, status, stage, text,
                                                          reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The client abusing the SMTP protocol is syntaxerror; commands before login securityerror --

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (554, "5.5.0", "data", "SMTP synchronization error", "syntaxerror"),
    (421, "4.7.0", "mail", "Too many nonmail commands", "syntaxerror"),
    (421, "4.7.0", "rcpt", "Too many syntax or protocol errors", "syntaxerror"),
    (500, "5.5.1", "mail", "Command too long, possible attack", "syntaxerror"),
    (421, "4.7.0", "mail", "Too many unauthenticated commands", "securityerror"),
    # counterexamples: counts of recipients, connections and invalid recipients
    (421, "4.7.0", "rcpt", "Too many recipients", "exceedlimit"),
    (421, "4.7.0", "connect", "Too many connections", "toomanyconn"),
    (421, None, "rcpt", "Too many invalid recipients", "blocked"),
])
def test_smtp_protocol_abuse(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- Connections counted are toomanyconn; reconnecting too fast, traffic quotas speeding -------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (421, "4.7.0", "connect", "Too many connected clients, try again later", "toomanyconn"),
    (421, None, "connect", "Too many concurrent SMTP clients", "toomanyconn"),
    (421, "4.7.0", "connect", "You reconnected too fast, please wait", "speeding"),
    (421, None, "connect", "Reconnect too fast", "speeding"),
    (450, "4.7.1", "rcpt", "SMTP traffic quota exceeded", "speeding"),
    (451, "4.7.1", "mail", "Too many pending emails sent, try later", "speeding"),
    # counterexamples: the recipient's own quota, a connection closed
    (452, "4.2.2", "rcpt", "Mailbox quota exceeded", "mailboxfull"),
    (421, "4.7.0", "connect", "Connection closed by remote host", "networkerror"),
])
def test_connections_and_pace(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A message's size in words under other codes and statuses, before the SMTP AUTH rule -------

@pytest.mark.parametrize(("code", "status", "text", "reason"), [
    (552, "5.7.0", "Message exceeds the limit size of email", "mesgtoobig"),
    (554, "5.7.1", "Message size (content filter) exceeded", "mesgtoobig"),
    (554, "5.7.1", "Refused: content filter size limit", "mesgtoobig"),
    (534, "5.3.4", "Message exceeds fixed maximum message size", "mesgtoobig"),
    (552, "5.6.0", "Message header size exceeds policy limit", "mesgtoobig"),
    (554, "5.5.0", "Headers length exceeded", "mesgtoobig"),
    # counterexamples: a 534 about the login, a mailbox's size
    (534, "5.7.9", "Authentication mechanism is too weak", "securityerror"),
    (552, "5.2.2", "Mailbox exceeds the limit size of the account", "mailboxfull"),
])
def test_a_message_s_size_in_words_under_any_code(recipient, code, status, text, reason):
    got = recipient.classify(code, status, text, "dot")
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- The sender's login required or not matching is securityerror, never authfailure ----------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (550, "5.7.1", "mail", "You must log in to send mail from example.com", "securityerror"),
    (550, "5.7.1", "mail", "You must login first before sending on this port", "securityerror"),
    (550, "5.7.1", "rcpt", "Relaying requires authentication", "securityerror"),
    (553, "5.7.1", "mail", "Sender address not authorized for this account", "securityerror"),
    (550, "5.7.60", "mail", "Not authorized to send email using this identity", "securityerror"),
    (550, "5.7.1", "mail", "Incorrect authentication for specified email address", "securityerror"),
    # counterexamples: a relay refused, an SPF verdict, a recipient's allowed senders
    (554, "5.7.1", "rcpt", "Relay access denied", "norelaying"),
    (550, "5.7.1", "dot", "SPF: 192.0.2.1 is not authorized to send mail for example.com",
     "authfailure"),
    (550, "5.7.1", "rcpt", "You are not authorized to send mail to this recipient",
     "policyviolation"),
])
def test_the_sender_s_login_required_or_not_matching(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A bare refusal of the sender at MAIL FROM is rejected -------------------------------------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (550, "5.7.1", "mail", "<bob@example.com>, denied", "rejected"),
    (550, None, "mail", "bob@example.com... denied", "rejected"),
    (451, None, "mail", "Temporarily denied, try later", "rejected"),
    (553, "5.5.1", "mail", "Mail address invalid", "rejected"),
    (550, "5.5.1", "mail", "Your domain has no DNS/MX entries", "rejected"),
    # counterexamples: the sending IP or host denied, the same words naming a recipient
    (550, "5.7.1", "mail", "Your IP is temporarily denied", "blocked"),
    (450, "4.7.1", "mail", "Client host 192.0.2.1 temporarily denied", "blocked"),
    (550, "5.7.1", "rcpt", "<jane@example.net>, denied", "undefined"),
])
def test_a_bare_refusal_of_the_sender_at_mail_from(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A failure at the STARTTLS command, or an encrypted session required, is failedstarttls ----

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (454, "4.7.0", "starttls", "Handshake error", "failedstarttls"),
    (454, "4.7.0", "starttls", "Security failure", "failedstarttls"),
    (502, "5.5.1", "starttls", "TLS not supported", "failedstarttls"),
    (454, None, "starttls", "TLS not available here", "failedstarttls"),
    (550, "5.7.1", "mail", "Sender domain is required to send via an encrypted SMTP session",
     "failedstarttls"),
    # counterexamples: a connection count at STARTTLS, "security failure" at another stage
    (421, "4.7.0", "starttls", "Too many connections", "toomanyconn"),
    (550, "5.7.1", "rcpt", "Security failure", "undefined"),
])
def test_a_failure_at_starttls(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A closed mailbox is suspend; a connection, session or the sender's account closed is not ---

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason", "suppress"), [
    (550, None, "rcpt", "Closed mailbox", "suspend", True),
    (550, None, "rcpt", "This is a closed mailbox", "suspend", True),
    (550, "5.1.1", "rcpt", "Recipient mailbox closed", "suspend", True),
    # counterexamples: a connection or session closed, the sender's own account closed
    (421, "4.4.2", "rcpt", "Connection closed", "networkerror", False),
    (421, None, "dot", "Session closed by remote host", "undefined", False),
    (550, None, "mail", "Your account is closed", "rejected", False),
])
def test_a_closed_mailbox_is_suspend(recipient, code, status, stage, text, reason, suppress):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, suppress), recipient.explain(got)


# ---- Reply code 503 is a bad sequence of commands, even under an X.1.x status -----------------

@pytest.mark.parametrize(("status", "stage", "text", "reason", "suppress"), [
    ("5.1.1", "data", "No recipients", "syntaxerror", False),
    ("5.1.1", "rcpt", "Failed to add user to recipients", "syntaxerror", False),
    ("5.1.0", "data", GIBBERISH, "syntaxerror", False),
    # counterexamples: a sender address required, a login required, a stated unknown user
    (None, "mail", "Sender address must be specified", "rejected", False),
    ("5.7.0", "mail", "Authentication required", "securityerror", False),
    ("5.1.1", "rcpt", "User unknown", "userunknown", True),
    ("5.1.1", "rcpt", "User does not exist", "userunknown", True),
])
def test_503_is_a_bad_sequence_under_any_status(recipient, status, stage, text, reason,
                                                 suppress):
    got = recipient.classify(503, status, text, stage)
    assert (got.reason, got.suppress) == (reason, suppress), recipient.explain(got)


# ---- A spam filter named as the refuser, or possible spam content, is spamdetected -------------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (550, "5.7.1", "dot", "Message rejected by Example AntiSpam", "spamdetected"),
    (550, None, "dot", "Blocked by Anti-Spam", "spamdetected"),
    (554, "5.7.1", "dot", "Message rejected for possible spam/virus content", "spamdetected"),
    (550, "5.7.1", "dot", "Refused: suspected spam content", "spamdetected"),
    # counterexamples: the sending IP on an anti-spam list, a virus found, the filter failing
    (550, "5.7.1", "rcpt", "Your IP is listed by an antispam blocklist", "blocked"),
    (554, "5.7.1", "dot", "Message contains a virus", "virusdetected"),
    (451, "4.7.1", "dot", "AntiSpam service unavailable", "systemerror"),
])
def test_a_spam_filter_named_as_the_refuser(recipient, code, status, stage, text, reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)


# ---- A client banned or refused as a proxy is blocked -----------------------------------------

@pytest.mark.parametrize(("code", "status", "stage", "text", "reason"), [
    (554, "5.7.1", "connect", "You are banned", "blocked"),
    (550, None, "mail", "You have been banned from this server", "blocked"),
    (554, None, "connect", "Rejecting open proxy 192.0.2.1", "blocked"),
    (554, None, "connect", "mx.example.net ESMTP not accepting messages", "blocked"),
    (550, "5.7.1", "rcpt", "Unauthenticated e-mail from 192.0.2.1 is restricted", "blocked"),
    # counterexamples: unauthenticated mail from a domain (DMARC), a system not accepting
    # network messages, a disabled mailbox not accepting messages
    (550, "5.7.1", "rcpt",
     "Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
     "authfailure"),
    (550, "5.3.2", "connect", "System not accepting network messages", "systemerror"),
])
def test_a_client_banned_or_refused_as_a_proxy_is_blocked(recipient, code, status, stage, text,
                                                          reason):
    got = recipient.classify(code, status, text, stage)
    assert (got.reason, got.suppress) == (reason, False), recipient.explain(got)
