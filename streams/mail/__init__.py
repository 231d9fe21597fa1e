"""Bounces that arrive later, by mail: delivery status notifications (RFC 3464), the
non-standard bounces of older MTAs and providers, and auto-replies (RFC 3834). Pure: bytes of a
mail in, what it reports out; the receiver (``streams/ingest/smtp_server.py``), the mailbox
reader (``streams/ingest/mailbox.py``) and the relay (``streams/runtime/mail_relay.py``) do the
I/O."""
