"""Messages for the inbound tests: plain ones nobody claims, and hostile ones."""

from __future__ import annotations

import base64


def plain(n: int = 1, *, to: str = "nobody@example.dk", extra: str = "") -> bytes:
    """A plain-text message to nobody in particular: every handler lets it pass."""
    return (
        f"From: Anne Andersen <anne@example.dk>\r\n"
        f"To: {to}\r\n"
        f"Subject: Hej nr. {n}\r\n"
        f"Date: Mon, 1 Mar 2027 10:00:00 +0100\r\n"
        f"Message-ID: <plain-{n}@example.dk>\r\n"
        f"{extra}"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Bare en hilsen, intet svar på noget.\r\n"
    ).encode()


def huge(megabytes: int = 30) -> bytes:
    """A well-formed message with one attachment of ``megabytes`` (base64, so larger)."""
    raw = bytes(range(256)) * (megabytes * 1024 * 1024 * 3 // 4 // 256)
    body = base64.encodebytes(raw)
    return (
        b"From: anne@example.dk\r\nTo: nobody@example.dk\r\nSubject: stor\r\n"
        b"Message-ID: <huge@example.dk>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nse vedhaeftet\r\n"
        b'--b\r\nContent-Type: application/pdf; name="stor.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"--b--\r\n"
    )


def nested(levels: int = 200) -> bytes:
    """A message whose multiparts nest ``levels`` deep."""
    inner = b"Content-Type: text/plain\r\n\r\nbunden\r\n"
    for level in range(levels):
        inner = (
            b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
            + inner
            + b"\r\n--n%d--\r\n" % level
        )
    return (
        b"From: anne@example.dk\r\nTo: nobody@example.dk\r\nSubject: dyb\r\n"
        b"Message-ID: <nested@example.dk>\r\nMIME-Version: 1.0\r\n" + inner
    )


def nul_header() -> bytes:
    """A message with a NUL byte inside its Subject header."""
    return (
        b"From: anne@example.dk\r\nTo: nobody@example.dk\r\n"
        b"Subject: hej\x00med nul\r\nMessage-ID: <nul@example.dk>\r\n\r\ntekst\r\n"
    )
