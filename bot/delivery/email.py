"""The e-mail channel: SMTP through aiosmtplib, or ``.eml`` files in a folder.

Every message gets a Message-ID made from its outbox row, so a message sent
again after a timeout (the server may have taken it before the connection died)
is recognisable as the same message. The SMTP connection is kept open for a
batch and re-opened after a disconnect. aiosmtplib raises nothing when only some
recipients are refused: the per-recipient answer is read here, and a 5xx for the
recipient fails that row only.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from datetime import datetime, tzinfo
from email import encoders
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path

import aiosmtplib

from bot.config import EmailConfig
from bot.delivery.base import (
    Attachment,
    Message,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from bot.text import header_safe


def message_id(message: Message, sender: str) -> str:
    """``<aarshjul.ROW.HASH@domain>``: the same for every attempt of one row."""
    digest = hashlib.sha256(message.key.encode()).hexdigest()[:16]
    domain = sender.rpartition("@")[2] or "aarshjul.invalid"
    return f"<aarshjul.{message.row_id}.{digest}@{domain}>"


# Base64 encoded words: utf-8's default ("shortest") measures quoted-printable
# too, which costs more than the whole rest of building a message.
_UTF8_BASE64 = Charset("utf-8")
_UTF8_BASE64.header_encoding = BASE64


def _header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        # A title or a name with a line break would start a header of its own.
        raise PermanentDeliveryError(f"refused header {name}: it holds a line break")
    # Stored text is clean already; a header never carries a control, bidi or
    # zero-width character however it got there (e.g. a row queued before the check).
    return header_safe(value)


def build_email(
    message: Message, *, sender: str, reply_to: str, now: datetime, tz: tzinfo
) -> EmailMessage | MIMEBase:
    """A multipart/alternative (text + HTML) message; with ``message.attachment``,
    a multipart/mixed whose last part is the file (a chart PNG, an agenda .docx).

    Built with the classic (compat32) classes: they do no header parsing, which
    is most of the cost of ``EmailMessage`` when thousands go out; header values
    are checked for line breaks here instead, so a title cannot inject a header.

    Raises:
        PermanentDeliveryError: a header value holds a line break (header injection).
    """
    text = MIMEText(message.text, "plain", "utf-8")
    mail: MIMEBase
    if message.calendar is not None:
        mail = _with_calendar(text, message)
    elif message.html:
        mail = MIMEMultipart("alternative")
        mail.attach(text)
        mail.attach(_html(message))
    else:
        mail = text
    for file in message.files:
        mail = _with_attachment(mail, file)
    subject = _header_value("Subject", message.subject)
    mail["From"] = _from(message.sender_name, sender)
    mail["To"] = _header_value("To", message.address)
    answer_to = message.reply_to or reply_to
    if answer_to:
        mail["Reply-To"] = _header_value("Reply-To", answer_to)
    mail["Subject"] = (
        subject if subject.isascii() else Header(subject, _UTF8_BASE64, header_name="Subject")
    )
    mail["Date"] = format_datetime(now.astimezone(tz))
    mail["Message-ID"] = message_id(message, sender)
    # Tell auto-responders not to answer a reminder.
    mail["Auto-Submitted"] = "auto-generated"
    return mail


def _from(name: str | None, sender: str) -> str:
    """``"LBR Gribskov – sekretariatet" <aarshjul@…>``: the address with a display name
    (RFC 2047-encoded when it is not ASCII), or the bare address."""
    address = _header_value("From", sender)
    if not name:
        return address
    return formataddr((_header_value("From", name), address), charset="utf-8")


def _with_attachment(body: MIMEBase, file: Attachment) -> MIMEBase:
    """``body`` followed by ``file`` as a base64 attachment in a multipart/mixed (the
    calendar's multipart/mixed gets the file as one more part)."""
    maintype, _, subtype = file.mime_type.partition("/")
    part = MIMEBase(maintype, subtype or "octet-stream")
    part.set_payload(file.content)
    encoders.encode_base64(part)
    name = _header_value("filename", file.filename)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    if body.get_content_type() == "multipart/mixed":
        body.attach(part)
        return body
    mixed = MIMEMultipart("mixed")
    mixed.attach(body)
    mixed.attach(part)
    return mixed


def _html(message: Message) -> MIMEBase:
    """The HTML part; with :attr:`Message.inline` images, a multipart/related of the
    HTML and each image (``Content-ID``, shown in place, not listed as attachments)."""
    page = MIMEText(message.html or "", "html", "utf-8")
    if not message.inline:
        return page
    related = MIMEMultipart("related")
    related.attach(page)
    for image in message.inline:
        maintype, _, subtype = image.mime_type.partition("/")
        part = MIMEBase(maintype, subtype or "octet-stream")
        part.set_payload(image.content)
        encoders.encode_base64(part)
        part["Content-ID"] = f"<{_header_value('Content-ID', image.content_id)}>"
        name = _header_value("filename", image.filename)
        part.add_header("Content-Disposition", "inline", filename=("utf-8", "", name))
        related.attach(part)
    return related


def _with_calendar(text: MIMEText, message: Message) -> MIMEBase:
    """The shape Outlook and Gmail show with Accept/Decline.

    multipart/mixed: [multipart/alternative: text, HTML, text/calendar; method=…],
    then the same calendar as an ``invite.ics`` attachment.
    """
    assert message.calendar is not None
    method = message.calendar_method or "REQUEST"
    body = message.calendar.decode("utf-8")
    alternative = MIMEMultipart("alternative")
    alternative.attach(text)
    if message.html:
        alternative.attach(_html(message))
    inline = MIMEText(body, "calendar", "utf-8")
    inline.set_param("method", method)
    alternative.attach(inline)
    attachment = MIMEText(body, "calendar", "utf-8")
    attachment.set_param("method", method)
    attachment.set_param("name", "invite.ics")
    attachment.add_header("Content-Disposition", "attachment", filename="invite.ics")
    mixed = MIMEMultipart("mixed")
    mixed.attach(alternative)
    mixed.attach(attachment)
    return mixed


class SmtpChannel:
    """Sends through an SMTP server, one kept-open connection per concurrent sender.

    Args:
        config: the ``[email]`` table.
        username, password: from ``SMTP_USERNAME``/``SMTP_PASSWORD``.
        now: the clock's ``now`` (the Date header).
        connections: how many SMTP connections to use at once.
    """

    name = "email"

    def __init__(
        self,
        config: EmailConfig,
        *,
        username: str | None,
        password: str | None,
        now: Callable[[], datetime],
        tz: tzinfo,
        connections: int = 1,
        timeout: float = 30.0,
    ) -> None:
        self._config = config
        self._username = username
        self._password = password
        self._now = now
        self._tz = tz
        self._timeout = timeout
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._clients: list[aiosmtplib.SMTP] = []
        for _ in range(max(1, connections)):
            client = self._new_client()
            self._clients.append(client)
            self._idle.put_nowait(client)

    def _new_client(self) -> aiosmtplib.SMTP:
        tls = self._config.tls
        return aiosmtplib.SMTP(
            hostname=self._config.host,
            port=self._config.port,
            use_tls=tls == "implicit",
            start_tls=tls == "starttls",
            username=self._username,
            password=self._password,
            timeout=self._timeout,
        )

    async def send(self, message: Message) -> str:
        mail = build_email(
            message,
            sender=self._config.sender,
            reply_to=self._config.reply_to,
            now=self._now(),
            tz=self._tz,
        )
        client = await self._idle.get()
        try:
            return await self._send_on(client, mail, message.address)
        finally:
            self._idle.put_nowait(client)

    async def _send_on(
        self, client: aiosmtplib.SMTP, mail: EmailMessage | MIMEBase, to: str
    ) -> str:
        # One reconnect inside the attempt: an idle connection the server closed
        # is the common case and should not cost the row a retry.
        for attempt in (1, 2):
            try:
                if not client.is_connected:
                    await client.connect()
                errors, _ = await client.send_message(mail, recipients=[to])
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refusal = exc.recipients[0] if exc.recipients else None
                code = refusal.code if refusal else 550
                text = refusal.message if refusal else str(exc)
                await _reset(client)
                _raise_for_code(code, f"{to}: {code} {text}")
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500 or exc.code == 535:
                    # A 5xx after DATA: the server will not take this message.
                    await _reset(client)
                    raise PermanentDeliveryError(f"{exc.code} {exc.message}") from None
                await _reset(client)
                raise TemporaryDeliveryError(f"{exc.code} {exc.message}") from None
            except (
                aiosmtplib.SMTPServerDisconnected,
                aiosmtplib.SMTPConnectError,
                aiosmtplib.SMTPTimeoutError,
                aiosmtplib.SMTPException,
                OSError,
                TimeoutError,
            ) as exc:
                client.close()
                if attempt == 2 or isinstance(exc, aiosmtplib.SMTPTimeoutError):
                    # After a timeout the server may have the message: let the
                    # row's next attempt resend it (same Message-ID).
                    raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from None
                continue
            refused = errors.get(to)
            if refused is not None:
                _raise_for_code(refused.code, f"{to}: {refused.code} {refused.message}")
            return str(mail["Message-ID"])
        raise TemporaryDeliveryError("SMTP: gave up")  # pragma: no cover

    async def end_batch(self) -> None:
        """Release the connections: a batch is done and the next may be hours away."""
        for client in self._clients:
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()

    async def close(self) -> None:
        await self.end_batch()


def _raise_for_code(code: int, text: str) -> None:
    if 400 <= code < 500:
        raise TemporaryDeliveryError(text)
    raise PermanentDeliveryError(text)


async def _reset(client: aiosmtplib.SMTP) -> None:
    """Leave the connection usable for the next message after a refused one."""
    if client.is_connected:
        try:
            await client.rset()
        except aiosmtplib.SMTPException:
            client.close()


class FileChannel:
    """Writes each message as an ``.eml`` file: the embedded default, no server needed.

    The file name comes from the row, so writing a row twice leaves one file.
    """

    name = "email"

    def __init__(
        self,
        folder: Path,
        *,
        sender: str,
        reply_to: str,
        now: Callable[[], datetime],
        tz: tzinfo,
    ) -> None:
        self.folder = folder
        self._sender = sender
        self._reply_to = reply_to
        self._now = now
        self._tz = tz

    async def send(self, message: Message) -> str:
        mail = build_email(
            message, sender=self._sender, reply_to=self._reply_to, now=self._now(), tz=self._tz
        )
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:12]
        target = self.folder / f"{message.row_id:08d}-{digest}.eml"
        data = mail.as_bytes()
        await asyncio.to_thread(_write_atomically, target, data)
        return str(mail["Message-ID"])

    async def end_batch(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        return
    temporary = target.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
