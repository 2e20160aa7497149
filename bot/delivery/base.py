"""The one interface every delivery channel implements, and its errors.

The worker hands a channel a rendered :class:`Message` and gets back the id the
far side gave it (Slack's ``ts``, the e-mail's Message-ID), or one of two
errors: :class:`TemporaryDeliveryError` (try again later, perhaps after a
server-given delay) or :class:`PermanentDeliveryError` (give up on this row).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler.errors import AarshjulError


class DeliveryError(AarshjulError):
    """A message could not be delivered.

    ``progress`` says what of a message in several steps did reach its recipient
    (a Slack summary posted before its file failed): the worker keeps it on the row,
    and the next attempt hands it back in :attr:`Message.progress`, so a retry goes on
    from there instead of posting the same part twice.
    """

    progress: str | None = None


class TemporaryDeliveryError(DeliveryError, ConnectionError):
    """Worth another try: rate limited, a 5xx, a timeout, a dropped connection, a 4xx reply.

    ``retry_after`` is the server's own wait in seconds (Slack's ``Retry-After``),
    which the next attempt honours instead of the worker's backoff.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help: unknown channel or user, a 5xx e-mail refusal."""


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a message (Slack: uploaded into the message's thread;
    e-mail: a MIME attachment after the text)."""

    filename: str
    title: str
    content: bytes
    #: The MIME type e-mail gives the part; guessed from ``filename`` when empty.
    content_type: str = ""
    #: E-mail: the part's Content-ID when it is one of :attr:`Message.inline` (the HTML
    #: shows it as ``<img src="cid:CONTENT_ID">``).
    content_id: str = ""

    @property
    def mime_type(self) -> str:
        if self.content_type:
            return self.content_type
        guessed, _ = mimetypes.guess_type(self.filename)
        return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """A notification rendered for one recipient on one channel."""

    row_id: int
    key: str
    address: str
    subject: str
    text: str
    #: Slack Block Kit blocks (ignored by e-mail).
    blocks: list[dict[str, Any]] = field(default_factory=list)
    #: The HTML alternative of ``text`` (ignored by Slack).
    html: str | None = None
    #: Whether ``address`` is a person (a Slack DM) rather than a channel.
    direct: bool = False
    #: An iTIP calendar (an invitation) and its METHOD; e-mail carries it as the
    #: text/calendar alternative and as an ``invite.ics`` attachment.
    calendar: bytes | None = None
    calendar_method: str | None = None
    #: A file that goes with the message: Slack shares it in the message's thread,
    #: e-mail attaches it (multipart/mixed).
    attachment: Attachment | None = None
    #: Further files after ``attachment``, shared and attached the same way (a closed
    #: hearing's Word document beside its Markdown).
    extra_files: tuple[Attachment, ...] = ()
    #: Images the HTML shows in place (e-mail: multipart/related beside the HTML, each
    #: with its ``content_id``; ignored by Slack). The digest's wheels.
    inline: tuple[Attachment, ...] = ()
    #: What an earlier attempt of this row already delivered (see DeliveryError.progress).
    progress: str | None = None
    #: E-mail: the display name of ``From`` ("LBR Gribskov – sekretariatet") and the
    #: council's secretariat as ``Reply-To``, so an answer by e-mail reaches a person.
    sender_name: str | None = None
    reply_to: str | None = None

    @property
    def files(self) -> tuple[Attachment, ...]:
        """Every file that goes with the message: ``attachment``, then ``extra_files``."""
        first = (self.attachment,) if self.attachment is not None else ()
        return first + self.extra_files


class Channel(Protocol):
    """A way to reach people. ``name`` is what outbox rows say in their ``channel``."""

    name: str

    async def send(self, message: Message) -> str:
        """Deliver ``message``; return the far side's id for it.

        Raises:
            TemporaryDeliveryError: try again later.
            PermanentDeliveryError: do not try again.
        """
        ...

    async def end_batch(self) -> None:
        """The worker finished a batch: release what was held open for it."""
        ...

    async def close(self) -> None: ...
