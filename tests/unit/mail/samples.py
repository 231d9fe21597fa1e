"""Bounce and auto-reply mails written for these tests, each shaped like one MTA's or
provider's documented output (the source is named beside each). ``to`` is the envelope address
the mail was delivered to (a VERP return path, or a plain one); ``mid`` the Message-ID of the
returned message. No real report is copied: addresses, hosts and texts are made up."""

from __future__ import annotations

SENDER = "news@shop.example"
DATE = "Mon, 07 Dec 2026 04:10:00 +0000"


def postfix_failed(to: str, rcpt: str, mid: str) -> bytes:
    """Postfix bounce(8): ``Undelivered Mail Returned to Sender``, multipart/report with the
    human part, message/delivery-status (X-Postfix-* fields) and text/rfc822-headers
    (Postfix src/bounce/bounce_notify_util.c, RFC 3464 section 2)."""
    return f"""\
X-Original-To: {to}
Return-Path: <>
Date: {DATE}
From: MAILER-DAEMON@relay1.isp.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="8F1A2B3C4D.1765080600/relay1.isp.example"
Message-Id: <20261207041000.8F1A2B3C4D@relay1.isp.example>

This is a MIME-encapsulated message.

--8F1A2B3C4D.1765080600/relay1.isp.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay1.isp.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host mx.isp.example[192.0.2.25] said: 550 5.1.1 <{rcpt}>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply
    to end of DATA command)

--8F1A2B3C4D.1765080600/relay1.isp.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay1.isp.example
X-Postfix-Queue-ID: 8F1A2B3C4D
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Mon,  7 Dec 2026 04:09:58 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.isp.example
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User
    unknown in virtual mailbox table

--8F1A2B3C4D.1765080600/relay1.isp.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{to}>
From: Shop News <{SENDER}>
To: {rcpt}
Subject: December offers
Message-ID: <{mid}>
Date: Mon, 07 Dec 2026 04:09:50 +0000

--8F1A2B3C4D.1765080600/relay1.isp.example--
""".encode()


def postfix_delayed(to: str, rcpt: str, mid: str) -> bytes:
    """Postfix's delay warning (``delay_warning_time``): ``Delayed Mail (still being
    retried)``, Action: delayed, Will-Retry-Until (Postfix bounce(5) templates, RFC 3464
    section 2.3.3)."""
    return f"""\
X-Original-To: {to}
Date: {DATE}
From: MAILER-DAEMON@relay1.isp.example (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="D1.delay"
Message-Id: <20261207041500.D1@relay1.isp.example>

--D1.delay
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay1.isp.example.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

--D1.delay
Content-Type: message/delivery-status

Reporting-MTA: dns; relay1.isp.example
X-Postfix-Queue-ID: D1
Arrival-Date: Mon,  7 Dec 2026 00:10:00 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.slow.example[198.51.100.7]:25: Connection
    timed out
Will-Retry-Until: Fri, 11 Dec 2026 00:10:00 +0000 (UTC)

--D1.delay
Content-Type: text/rfc822-headers

From: Shop News <{SENDER}>
Message-ID: <{mid}>

--D1.delay--
""".encode()


def exim_failed(to: str, rcpt: str, mid: str) -> bytes:
    """Exim: X-Failed-Recipients, Auto-Submitted: auto-replied, ``Mail delivery failed:
    returning message to sender``, a report whose per-message block is Reporting-MTA alone
    (Exim's test suite, test/mail/0224.CALLER; the Exim spec, "Bounce messages")."""
    return f"""\
Envelope-to: {to}
Return-path: <>
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mail.hosting.example>
To: {to}
Content-Type: multipart/report; report-type=delivery-status; boundary=1765080600-eximdsn-42
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1vAbCd-000123-Xy@mail.hosting.example>
Date: {DATE}

--1765080600-eximdsn-42
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mx.hosting.example [203.0.113.9]
    SMTP error from remote mail server after end of data:
    552 5.2.2 Mailbox full: quota exceeded

--1765080600-eximdsn-42
Content-type: message/delivery-status

Reporting-MTA: dns; mail.hosting.example

Action: failed
Final-Recipient: rfc822;{rcpt}
Status: 5.0.0
Remote-MTA: dns; mx.hosting.example
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full: quota exceeded

--1765080600-eximdsn-42
Content-type: message/rfc822

Return-path: <{to}>
From: {SENDER}
To: {rcpt}
Subject: December offers
Message-ID: <{mid}>

Hello.

--1765080600-eximdsn-42--
""".encode()


def exchange_failed(to: str, rcpt: str, mid: str) -> bytes:
    """Exchange Online NDR: ``Undeliverable:``, a multipart/alternative human part,
    Diagnostic-Code with the RESOLVER component, the original as message/rfc822 (Microsoft
    Learn, "Email non-delivery reports and SMTP errors in Exchange Online", 5.1.10)."""
    return f"""\
X-Original-To: {to}
From: postmaster@contoso.example
To: {to}
Date: {DATE}
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="f0e1d2c3-b4a5-4967-8899-aabbccddeeff"
Content-Language: en-US
Message-ID: <f0e1d2c3@BN8PR11MB1234.namprd11.prod.outlook.example>
Subject: Undeliverable: December offers
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
MIME-Version: 1.0

--f0e1d2c3-b4a5-4967-8899-aabbccddeeff
Content-Type: multipart/alternative; boundary="alt-f0e1d2c3"

--alt-f0e1d2c3
Content-Type: text/plain; charset="us-ascii"

Your message to {rcpt} couldn't be delivered.
The email address wasn't found at the destination domain.

--alt-f0e1d2c3
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message couldn't be delivered.</p></body></html>

--alt-f0e1d2c3--

--f0e1d2c3-b4a5-4967-8899-aabbccddeeff
Content-Type: message/delivery-status

Reporting-MTA: dns;BN8PR11MB1234.namprd11.prod.outlook.example
Received-From-MTA: dns;relay1.isp.example
Arrival-Date: Mon, 7 Dec 2026 04:09:55 +0000

Final-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--f0e1d2c3-b4a5-4967-8899-aabbccddeeff
Content-Type: message/rfc822

From: Shop News <{SENDER}>
To: <{rcpt}>
Subject: December offers
Message-ID: <{mid}>
MIME-Version: 1.0
Content-Type: text/plain

Hello.

--f0e1d2c3-b4a5-4967-8899-aabbccddeeff--
""".encode()


def gmail_failed(to: str, rcpt: str, mid: str) -> bytes:
    """Gmail: ``Delivery Status Notification (Failure)`` from the Mail Delivery Subsystem, a
    multi-line 550-5.1.1 reply folded in Diagnostic-Code, Last-Attempt-Date, text/rfc822-headers
    (Google Workspace Admin Help, "SMTP error reference"; RFC 3464 section 2.3.5)."""
    return f"""\
Delivered-To: {to}
Return-Path: <>
MIME-Version: 1.0
From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>
To: {to}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <6751a2b3.050a0220.gmail.dsn@mx.google.example>
Date: {DATE}
Content-Type: multipart/report; boundary="000000000000g1"; report-type=delivery-status

--000000000000g1
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {rcpt} because the address couldn't be found.

--000000000000g1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.example
Received-From-MTA: dns; relay1.isp.example
Arrival-Date: Mon, 07 Dec 2026 04:09:57 -0800 (PST)

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.example. (203.0.113.27, the server for the
 domain gmail.example.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1
 unnecessary spaces. 550 5.1.1 https://support.google.example/mail/?p=NoSuchUser
Last-Attempt-Date: Mon, 07 Dec 2026 04:09:58 -0800 (PST)

--000000000000g1
Content-Type: text/rfc822-headers

From: Shop News <{SENDER}>
To: {rcpt}
Message-ID: <{mid}>
Subject: December offers

--000000000000g1--
""".encode()


def qmail_failed(to: str, rcpt: str, mid: str) -> bytes:
    """qmail-send's bounce, not RFC 3464: QSBMF (D. J. Bernstein, draft-bernstein-qsbmf):
    "Hi. This is the qmail-send program", a recipient paragraph ``<addr>:`` then the remote
    host's words, and the break paragraph before the copy of the message."""
    return f"""\
Delivered-To: {to}
Date: 7 Dec 2026 04:10:00 -0000
From: MAILER-DAEMON@mx.oldhost.example
To: {to}
Subject: failure notice

Hi. This is the qmail-send program at mx.oldhost.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{rcpt}>:
192.0.2.44 does not like recipient.
Remote host said: 550 5.1.1 <{rcpt}>... User unknown
Giving up on 192.0.2.44.

--- Below this line is a copy of the message.

Return-Path: <{to}>
Received: (qmail 4242 invoked by uid 89); 7 Dec 2026 04:09:59 -0000
From: {SENDER}
To: {rcpt}
Message-ID: <{mid}>
Subject: December offers

Hello.
""".encode()


def yahoo_failed(to: str, rcpt: str, mid: str) -> bytes:
    """A provider's non-standard bounce: Yahoo's legacy plain-text form (``Sorry, we were
    unable to deliver your message to the following address.``, ``<addr>:``, ``Remote host
    said:``, ``--- Below this line is a copy of the message.``), as Mailman's Yahoo detector
    (flufl.bounce, _detectors/yahoo.py) describes it."""
    return f"""\
Delivered-To: {to}
From: MAILER-DAEMON@yahoo.example
To: {to}
Date: {DATE}
Subject: Failure Notice

Sorry, we were unable to deliver your message to the following address.

<{rcpt}>:
Remote host said: 554 delivery error: dd This user doesn't have a yahoo.example account
({rcpt}) [0] - mta1001.mail.bf1.yahoo.example

--- Below this line is a copy of the message.

Received: from [192.0.2.10] by nm1.bullet.mail.bf1.yahoo.example
From: Shop News <{SENDER}>
Message-ID: <{mid}>
Subject: December offers
""".encode()


def out_of_office(to: str, rcpt: str, mid: str) -> bytes:
    """Outlook/Exchange automatic reply: ``Automatic reply:`` subject, Auto-Submitted:
    auto-generated (not "auto-replied": the subject decides), X-Auto-Response-Suppress,
    In-Reply-To the message answered (RFC 3834 section 3.1.5; Microsoft's [MS-OXCMAIL])."""
    return f"""\
X-Original-To: {to}
From: Erika Beispiel <{rcpt}>
To: {to}
Subject: Automatic reply: December offers
Date: {DATE}
Message-ID: <ooo-1@mail.company.example>
In-Reply-To: <{mid}>
References: <{mid}>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="utf-8"

I am out of the office until 4 January with no access to email.
""".encode()


def vacation_de(to: str, rcpt: str, mid: str) -> bytes:
    """vacation(1)-style German auto-reply: RFC 3834 Auto-Submitted: auto-replied and an
    encoded-word subject (RFC 2047)."""
    return f"""\
Delivered-To: {to}
From: <{rcpt}>
To: {to}
Subject: =?utf-8?q?Abwesenheitsnotiz=3A_December_offers?=
Date: {DATE}
In-Reply-To: <{mid}>
Auto-Submitted: auto-replied (vacation)
Precedence: bulk

Ich bin bis zum 4. Januar nicht im Büro.
""".encode()


def no_returned_headers(to: str, rcpt: str) -> bytes:
    """A DSN that returns no headers of the message (RFC 3464 allows it: RET=HDRS is a request,
    the returned part optional) sent to a plain, non-VERP address."""
    return f"""\
X-Original-To: {to}
From: MAILER-DAEMON@relay9.isp.example
To: {to}
Date: {DATE}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="nr"

--nr
Content-Type: text/plain

Could not deliver.

--nr
Content-Type: message/delivery-status

Reporting-MTA: dns; relay9.isp.example

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1

--nr--
""".encode()


def malformed(to: str) -> bytes:
    """Declares a delivery report with a boundary that never occurs (a truncated mail)."""
    return f"""\
X-Original-To: {to}
From: MAILER-DAEMON@relay9.isp.example
To: {to}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="never-there"

This is the mail system at host relay9.isp.example.
Final-Recipient: rfc822; someone@isp.example
Action: failed
""".encode()
