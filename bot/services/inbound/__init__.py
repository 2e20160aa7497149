"""Inbound mail (issue 13): one handler for messages read from IMAP or piped to ``mail ingest``.

:mod:`.message` holds the contract every part shares: the parsed message and the
outcome a handler returns. The reader (IMAP or a file) parses a message once,
stores it once, and asks the handlers in turn; the first that claims it decides.
"""
