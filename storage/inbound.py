"""Inbound mail (issue 13): every message read, once, with what handling it came to.

A row is written in the same transaction as whatever its handler recorded (an answer,
a bounce, an outbox row), so a message is either handled and remembered, or neither.
``message_id`` and ``sha256`` are both unique: the same message read again (an IMAP
re-delivery, a crash between the commit and the move, the same file ingested twice)
finds its row and is not handled a second time. The raw bytes are kept for
``[inbound] keep_raw_days`` and then set to NULL; the row itself stays.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text, or_, update
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.types import UTCDateTime


class InboundMessage(SQLModel, table=True):
    """One inbound message, read from IMAP or handed to ``aarshjul mail ingest``."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    #: The Message-ID as sent (``<…>``), or a synthetic one when it had none.
    message_id: str = Field(max_length=998, unique=True, index=True)
    #: SHA-256 of the raw bytes, hex; None for a message refused unread (too big on IMAP).
    sha256: str | None = Field(default=None, max_length=64, unique=True, index=True)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    #: "imap" or "file".
    source: str = Field(max_length=8)
    from_address: str = Field(default="", max_length=254)
    subject: str = Field(default="", max_length=300)
    size: int = 0
    #: handled, ignored or failed (message.Disposition).
    disposition: str = Field(max_length=16)
    #: The handler's machine word: calendar_reply, bounce, not_for_us, malformed …
    kind: str = Field(max_length=40)
    #: The outcome's catalogue key and its parameters (JSON), and the line as said then.
    summary_key: str = Field(max_length=120)
    params: str = Field(default="{}", sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    #: The message as received, until ``keep_raw_days`` have passed.
    raw: bytes | None = Field(default=None, sa_type=LargeBinary)


async def find_seen(
    session: AsyncSession, *, message_id: str, sha256: str | None
) -> InboundMessage | None:
    """The row of a message already read: the same Message-ID or the same bytes."""
    condition = InboundMessage.message_id == message_id  # type: ignore[arg-type]
    if sha256 is not None:
        condition = or_(condition, InboundMessage.sha256 == sha256)  # type: ignore[arg-type]
    result = await session.exec(select(InboundMessage).where(condition).limit(1))
    return result.first()


async def purge_raw(session: AsyncSession, *, before: datetime) -> int:
    """Forget the raw bytes of messages received before ``before``; how many rows."""
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.received_at < before)  # type: ignore[arg-type]
        .where(InboundMessage.raw.is_not(None))  # type: ignore[union-attr]
        .values(raw=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
