"""Hearing answers by e-mail (issue 13, point 3): the reply-address key, the Message-IDs
of the hearing e-mails sent to members, and the files that came with an answer.

The token in a member's Reply-To is an HMAC of (hearing, person) under one random key
kept here (made by migration 0012, or on first use), so the renderer can put it in an
e-mail without writing anything, and a reply proves it came back to the address we gave.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.types import UTCDateTime


class HearingMailKey(SQLModel, table=True):
    """The secret the reply tokens are made with (one row)."""

    __tablename__ = "hearing_mail_key"

    id: int | None = Field(default=None, primary_key=True)
    secret: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class HearingMailSent(SQLModel, table=True):
    """A hearing e-mail (invitation or reminder) that went to a person, by Message-ID:
    a reply naming it in In-Reply-To / References is matched even without the token."""

    __tablename__ = "hearing_mail_sent"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=255, unique=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    #: The person the e-mail went to (a member, or the substitute asked in their place).
    person_id: int = Field(foreign_key="person.id")
    #: The outbox row that sent it (no foreign key: old rows may be pruned).
    outbox_id: int | None = None
    sent_at: datetime = Field(sa_type=UTCDateTime)


class HearingAnswerFile(SQLModel, table=True):
    """A file (PDF, DOCX) that came with an e-mailed answer: kept, never opened."""

    __tablename__ = "hearing_answer_file"
    __table_args__ = (
        UniqueConstraint("hearing_id", "person_id", "version", "sha256", name="uq_answer_file"),
    )

    id: int | None = Field(default=None, primary_key=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    #: The seat (the member heard), as in ``hearing_answer.person_id``.
    person_id: int = Field(foreign_key="person.id")
    #: The answer's version the file came with.
    version: int
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary)
    #: The Message-ID of the e-mail it came in.
    message_id: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)


async def reply_key(session: AsyncSession, *, now: datetime | None = None) -> str | None:
    """The token key; with ``now``, made (and added to ``session``) when there is none."""
    found = await session.scalar(select(HearingMailKey.secret).order_by(col(HearingMailKey.id)))
    if found is not None or now is None:
        return found
    secret = secrets.token_hex(32)
    session.add(HearingMailKey(secret=secret, created_at=now))
    await session.flush()
    return secret


async def note_sent(
    session: AsyncSession,
    *,
    message_id: str,
    hearing_id: int,
    person_id: int,
    outbox_id: int | None,
    now: datetime,
) -> None:
    """Remember one sent hearing e-mail (a re-send of the same row adds nothing)."""
    if await session.scalar(
        select(HearingMailSent.id).where(HearingMailSent.message_id == message_id)
    ):
        return
    session.add(
        HearingMailSent(
            message_id=message_id,
            hearing_id=hearing_id,
            person_id=person_id,
            outbox_id=outbox_id,
            sent_at=now,
        )
    )


async def sent_for(session: AsyncSession, message_ids: Iterable[str]) -> HearingMailSent | None:
    """The newest of our hearing e-mails among ``message_ids`` (In-Reply-To, References)."""
    wanted = [m for m in dict.fromkeys(message_ids) if m][:50]
    if not wanted:
        return None
    return await session.scalar(
        select(HearingMailSent)
        .where(col(HearingMailSent.message_id).in_(wanted))
        .order_by(col(HearingMailSent.id).desc())
    )


async def add_file(session: AsyncSession, file: HearingAnswerFile) -> bool:
    """Keep one file with an answer's version; False when that very file is there already."""
    same = await session.scalar(
        select(HearingAnswerFile.id).where(
            HearingAnswerFile.hearing_id == file.hearing_id,
            HearingAnswerFile.person_id == file.person_id,
            HearingAnswerFile.version == file.version,
            HearingAnswerFile.sha256 == file.sha256,
        )
    )
    if same is not None:
        return False
    session.add(file)
    return True


async def answer_files(
    session: AsyncSession, hearing_id: int, versions: dict[int, int]
) -> dict[int, list[str]]:
    """The file names kept with each seat's current answer (``versions``: seat -> version),
    in the order they came."""
    rows = await session.execute(
        select(HearingAnswerFile.person_id, HearingAnswerFile.version, HearingAnswerFile.filename)
        .where(HearingAnswerFile.hearing_id == hearing_id)
        .order_by(col(HearingAnswerFile.id))
    )
    found: dict[int, list[str]] = {}
    for person_id, version, filename in rows.all():
        if versions.get(person_id) == version:
            found.setdefault(person_id, []).append(filename)
    return found
