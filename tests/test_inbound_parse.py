"""parse_message: what it exposes, and what it refuses (issue 13, points 1 and 5)."""

from __future__ import annotations

import base64
import time

import pytest

from bot.i18n import t
from bot.services.inbound.parse import (
    MAX_BYTES,
    MalformedMail,
    parse_message,
    sanitise_filename,
)
from bot.services.inbound.reply_text import MAX_SCAN, new_text
from tests.inbound_mail import huge, nested, nul_header, plain

CALENDAR = (
    b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:m-1@aarshjul\r\n"
    b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:bo@example.dk\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def refused(raw: bytes, **limits: int) -> MalformedMail:
    with pytest.raises(MalformedMail) as caught:
        parse_message(raw, **limits)
    error = caught.value
    # The reason reads in both languages from the catalogue, with its parameters.
    assert error.key and t("da", error.key, **error.params)
    assert t("en", error.key, **error.params) == str(error)
    return error


def test_plain_message_headers_and_text() -> None:
    mail = parse_message(plain(7, extra="Cc: =?utf-8?q?S=C3=B8ren?= <Soren@Example.DK>\r\n"))
    assert mail.message_id == "<plain-7@example.dk>"
    assert mail.from_address == "anne@example.dk" and mail.from_name == "Anne Andersen"
    assert mail.to_addresses == ("nobody@example.dk", "soren@example.dk")
    assert mail.subject == "Hej nr. 7"
    assert mail.date is not None and mail.date.utcoffset() is not None
    assert mail.text.strip() == "Bare en hilsen, intet svar på noget."
    assert mail.parts == () and mail.report_type is None
    assert len(mail.sha256) == 64 and mail.raw.startswith(b"From:")
    assert mail.header("SUBJECT") == "Hej nr. 7"


def test_missing_message_id_gets_a_synthetic_one() -> None:
    raw = b"From: a@example.dk\r\nSubject: x\r\n\r\nbody\r\n"
    mail = parse_message(raw)
    assert mail.message_id == f"<{mail.sha256}@aarshjul.invalid>"


def test_calendar_parts_inline_and_attached_in_every_shape() -> None:
    """Outlook: an inline text/calendar with method; Gmail: invite.ics as
    application/ics; Apple: an .ics as application/octet-stream (METHOD from the body)."""
    raw = (
        b"From: bo@example.dk\r\nTo: lbr@example.dk\r\nSubject: Accepted: Seminar\r\n"
        b"Message-ID: <r@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
        b'--o\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJeg kommer.\r\n"
        b"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Jeg kommer.</p>\r\n"
        b'--a\r\nContent-Type: text/calendar; charset="utf-8"; method=reply\r\n\r\n'
        + CALENDAR
        + b"--a--\r\n"
        b'--o\r\nContent-Type: application/ics; name="invite.ics"\r\n'
        b'Content-Disposition: attachment; filename="invite.ics"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(CALENDAR)
        + b'--o\r\nContent-Type: application/octet-stream; name="iCal-20270301.ics"\r\n'
        b'Content-Disposition: attachment; filename="iCal-20270301.ics"\r\n\r\n'
        + CALENDAR
        + b"--o--\r\n"
    )
    mail = parse_message(raw)
    assert mail.text.strip() == "Jeg kommer."
    calendars = [p for p in mail.parts if p.content_type == "text/calendar"]
    assert [(p.filename, p.attached, p.method) for p in calendars] == [
        (None, False, "REPLY"),
        ("invite.ics", True, "REPLY"),
        ("iCal-20270301.ics", True, "REPLY"),
    ]
    assert all(b"PARTSTAT=ACCEPTED" in p.content for p in calendars)
    assert len(mail.parts) == 3  # the HTML alternative is not an attachment


def test_delivery_status_report_parts() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.dk\r\nTo: lbr@example.dk\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn@mx>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type="delivery-status"; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.dk\r\n\r\n"
        b"Final-Recipient: rfc822; bo@exmple.dk\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: lbr@example.dk\r\nMessage-ID: <outbox-12@aarshjul>\r\nSubject: Invitation\r\n"
        b"\r\nDu er inviteret.\r\n"
        b"--r--\r\n"
    )
    mail = parse_message(raw)
    assert mail.report_type == "delivery-status"
    assert mail.text.strip() == "Could not deliver."
    kinds = {p.content_type: p.content for p in mail.parts}
    assert set(kinds) == {"message/delivery-status", "message/rfc822"}
    assert b"Status: 5.1.1" in kinds["message/delivery-status"]
    assert b"Diagnostic-Code: smtp; 550 5.1.1 User unknown" in kinds["message/delivery-status"]
    assert b"Message-ID: <outbox-12@aarshjul>" in kinds["message/rfc822"]
    # The returned message's own text is not taken for the bounce's.
    assert "inviteret" not in mail.text


def test_html_only_is_reduced_to_text_without_scripts() -> None:
    raw = (
        b"From: a@example.dk\r\nMessage-ID: <h@x>\r\nContent-Type: text/html\r\n\r\n"
        b"<html><head><style>p{}</style><script>alert(1)</script></head>"
        b'<body><p>St&oslash;tter</p><img src="http://tracker.invalid/x.png"><p>forslaget</p>'
        b"</body></html>\r\n"
    )
    mail = parse_message(raw)
    assert mail.text == "Støtter\n\nforslaget"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\høringssvar.pdf", "høringssvar.pdf"),
        ("..hidden", "hidden"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("a\x00b\x07.docx", "ab.docx"),
        ('what?"*<>|.pdf', "what______.pdf"),
        ("=?utf-8?q?H=C3=B8ring.pdf?=", "Høring.pdf"),
        ("", None),
        ("...", None),
    ],
)
def test_filenames_are_sanitised(given: str, safe: str | None) -> None:
    assert sanitise_filename(given) == safe


def test_long_filename_keeps_its_extension() -> None:
    name = sanitise_filename("x" * 500 + ".pdf")
    assert name is not None and len(name) == 120 and name.endswith(".pdf")


def test_attachment_filename_from_a_hostile_path() -> None:
    raw = (
        b"From: a@example.dk\r\nMessage-ID: <f@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhej\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fsvar%20%C3%A6.pdf\r\n\r\n"
        b"%PDF-1.4\r\n--b--\r\n"
    )
    (part,) = parse_message(raw).parts
    assert part.filename == "svar æ.pdf" and part.attached and part.content == b"%PDF-1.4"


def test_too_big_is_refused_before_parsing() -> None:
    raw = huge(30)
    assert len(raw) > MAX_BYTES
    started = time.monotonic()
    error = refused(raw)
    assert time.monotonic() - started < 1.0
    assert error.reason == "too_big" and error.params["limit"] == "25.0"
    assert refused(plain(), max_bytes=100).reason == "too_big"


def test_nested_200_levels_is_refused() -> None:
    error = refused(nested(200))
    assert error.reason == "too_deep" and error.params == {"limit": 32}
    assert parse_message(nested(10)).text.strip() == "bunden"
    assert refused(nested(10), max_depth=5).reason == "too_deep"
    # Deeper than Python's recursion limit is refused, not a crash.
    assert refused(nested(3000)).reason == "too_deep"


def test_nested_attached_messages_count_as_depth() -> None:
    inner = plain()
    for _ in range(40):
        inner = (
            b"From: a@example.dk\r\nMessage-ID: <fw@x>\r\nContent-Type: message/rfc822\r\n\r\n"
            + inner
        )
    assert refused(inner).reason == "too_deep"


def test_nul_in_a_header_is_refused() -> None:
    error = refused(nul_header())
    assert error.reason == "header_control"
    assert error.params == {"header": "Subject", "char": "0x00"}


def test_control_character_in_a_folded_header_names_the_header() -> None:
    raw = b"From: a@example.dk\r\nSubject: one\r\n two\x1b three\r\nMessage-ID: <c@x>\r\n\r\nx"
    assert refused(raw).params == {"header": "Subject", "char": "0x1B"}


def test_nul_in_a_nested_part_header_is_refused() -> None:
    raw = (
        b"From: a@example.dk\r\nMessage-ID: <n@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\nX-Bad: a\x00b\r\n\r\nhej\r\n--b--\r\n"
    )
    assert refused(raw).reason == "header_control"


def test_nul_in_a_binary_body_is_fine() -> None:
    raw = b"From: a@example.dk\r\nMessage-ID: <b@x>\r\nContent-Type: application/pdf\r\n\r\n"
    raw += b"\x00\x01"
    assert parse_message(raw).parts[0].content == b"\x00\x01"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not_a_message"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not_a_message"),
        (b"Hej med dig\n\nDette er bare tekst.\n", "not_a_message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not_a_message"),
        (b"X-Thing: 1\r\nSubject: no sender\r\n\r\nbody", "no_sender"),
    ],
)
def test_not_a_message_is_refused(raw: bytes, reason: str) -> None:
    assert refused(raw).reason == reason


def test_mbox_from_line_is_accepted() -> None:
    raw = b"From anne@example.dk Mon Mar  1 10:00:00 2027\n" + plain().replace(b"\r\n", b"\n")
    assert parse_message(raw).message_id == "<plain-1@example.dk>"


def test_broken_headers_do_not_raise() -> None:
    raw = (
        b"From: =?bogus-charset?q?x?= <<<@@>>\r\nTo: ,,,;;<\r\nDate: not a date\r\n"
        b"Subject: =?utf-8?b?!!!?=\r\nMessage-ID: <m@x>\r\n"
        b"Content-Type: text/plain; charset=nope\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
    )
    mail = parse_message(raw)
    assert mail.date is None and mail.message_id == "<m@x>"
    assert isinstance(mail.text, str)


def test_raw_8bit_headers_are_read_as_utf8_or_windows_1252() -> None:
    """RFC 6532 mail carries UTF-8 headers unencoded; an old client sends Windows-1252."""
    utf8 = (
        "From: Søren Ærø <soren@example.dk>\r\nTo: sekretariat@example.dk\r\n"
        "Subject: Fraværende: Høring om beskæftigelsesplanen\r\nMessage-ID: <u8@example.dk>\r\n"
        "\r\nTekst\r\n"
    ).encode()
    mail = parse_message(utf8)
    assert mail.subject == "Fraværende: Høring om beskæftigelsesplanen"
    assert (mail.from_name, mail.from_address) == ("Søren Ærø", "soren@example.dk")
    legacy = (
        b"From: jens@example.dk\r\nSubject: Frav\xe6rende\r\nMessage-ID: <l1@example.dk>\r\n\r\nx"
    )
    assert parse_message(legacy).subject == "Fraværende"


def test_a_header_of_200000_encoded_words_is_read_in_linear_time() -> None:
    """The stdlib's decode_header is quadratic in encoded words: such a 3.4 MB Subject
    took two minutes of the reader's CPU before header values were capped."""
    words = b" ".join(b"=?utf-8?b?w6Y=?=" for _ in range(200_000))
    raw = b"From: a@example.dk\r\nMessage-ID: <w@x>\r\nSubject: " + words + b"\r\n\r\nx\r\n"
    started = time.perf_counter()
    mail = parse_message(raw)
    assert time.perf_counter() - started < 20
    assert mail.subject.startswith("æææ") and mail.text == "x\n"


def test_the_new_text_of_a_20_mb_body_is_read_from_its_top() -> None:
    body = "Imod\n\nPlanen er for svag.\n" + "fyld " * (4 * 1024 * 1024)
    started = time.perf_counter()
    text = new_text(body)
    assert time.perf_counter() - started < 10  # 11 s of the event loop before the cap
    assert text.startswith("Imod\n\nPlanen er for svag.") and len(text) <= MAX_SCAN
