"""E-mail carries Message.attachment as a MIME attachment (a chart PNG, an agenda .docx)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from bot.delivery.base import Attachment, Message
from bot.delivery.email import build_email


def _parsed(message: Message) -> email.message.EmailMessage:
    mail = build_email(message, sender="bot@example.dk", reply_to="", now=datetime.now(UTC), tz=UTC)
    return email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_an_attachment_follows_the_text_and_html_in_a_multipart_mixed() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    message = Message(
        7,
        "k",
        "anne@example.dk",
        "Afvigelse",
        "tekst",
        html="<p>tekst</p>",
        attachment=Attachment("afvigelse-ledighed.png", "Graf", png),
    )
    parsed = _parsed(message)
    assert parsed.get_content_type() == "multipart/mixed"
    body, file = parsed.get_payload()  # type: ignore[misc]
    assert body.get_content_type() == "multipart/alternative"
    assert file.get_content_type() == "image/png"
    assert file.get_filename() == "afvigelse-ledighed.png"
    assert file.get_content() == png


def test_a_plain_message_with_a_docx_and_a_non_ascii_name() -> None:
    message = Message(
        8,
        "k2",
        "anne@example.dk",
        "Dagsorden",
        "tekst",
        attachment=Attachment("dagsorden-møde.docx", "Dagsorden", b"PK\x03\x04"),
    )
    parsed = _parsed(message)
    (file,) = list(parsed.iter_attachments())
    assert file.get_filename() == "dagsorden-møde.docx"
    assert file.get_content_type().endswith("wordprocessingml.document")
    assert parsed.get_body(("plain",)).get_content().strip() == "tekst"  # type: ignore[union-attr]


def test_without_an_attachment_nothing_changes() -> None:
    parsed = _parsed(Message(9, "k3", "a@example.dk", "S", "tekst"))
    assert parsed.get_content_type() == "text/plain"
