"""What the secretariat's tools do with the outbox: its status, a retry by hand, and a
bounce reported by the recipient's mail server.

Part of :mod:`storage.outbox` (re-exported there); each change is one statement that
re-checks the row's state, like every other transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage
from storage.outbox_base import FAILED, PENDING, SENDING, SENT, STATES
from storage.outbox_workers import WorkerInfo, workers

OM = OutboxMessage


@dataclass
class OutboxStatus:
    """Counts per state, the backlog of due rows, and the failed rows."""

    counts: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    oldest_due: datetime | None = None
    failed: list[OutboxMessage] = field(default_factory=list)
    workers: list[WorkerInfo] = field(default_factory=list)


async def status(session: AsyncSession, *, now: datetime, failed_limit: int = 50) -> OutboxStatus:
    t = OM.__table__
    result = OutboxStatus(counts=dict.fromkeys(STATES, 0))
    for state, count in await session.execute(select(t.c.state, func.count()).group_by(t.c.state)):
        result.counts[state] = count
    row = (
        await session.execute(
            select(func.count(), func.min(t.c.due_at)).where(
                or_(t.c.state == SENDING, and_(t.c.state == PENDING, t.c.due_at <= now))
            )
        )
    ).one()
    result.backlog = row[0]
    result.oldest_due = row[1]
    failed = await session.execute(
        select(OM)
        .where(col(OM.state) == FAILED)
        .order_by(col(OM.updated_at).desc())
        .limit(failed_limit)
    )
    result.failed = list(failed.scalars())
    result.workers = await workers(session)
    return result


async def get(session: AsyncSession, row_id: int) -> OutboxMessage | None:
    return await session.get(OM, row_id)


async def retry(session: AsyncSession, row: OutboxMessage, *, now: datetime) -> None:
    """Send a failed (or skipped) row again, now, with a fresh count of attempts."""
    row.state = PENDING
    row.due_at = now
    row.attempts = 0
    row.lease_until = None
    row.claimed_by = None
    row.quiet = False
    row.expires_at = None
    row.updated_at = now
    session.add(row)
    await session.flush()


#: A bounce fails a row that went out, is going out, or waits to go again after a
#: reclaim (its first attempt may have been delivered): the address does not take
#: mail. A row already failed or skipped stays as it is.
BOUNCEABLE = (SENT, SENDING, PENDING)


async def fail_bounced(
    session: AsyncSession, row_id: int, *, key: str, reason: str, now: datetime
) -> bool:
    """Mark a row failed because the recipient's server returned it (a DSN).

    One statement that re-checks the row's key (the caller verified the Message-ID's
    hash against it) and its state; ``reported_at`` is cleared so the failure is in
    the secretariat's next daily report. A worker still holding the row
    (``sending``) finds it no longer ``sending`` and its own result is dropped.

    Returns:
        True when this call failed the row; False when it was failed or skipped already.
    """
    t = OM.__table__
    result = await session.execute(
        update(t)
        .where(t.c.id == row_id, t.c.key == key, t.c.state.in_(BOUNCEABLE))
        .values(
            state=FAILED,
            last_error=reason,
            lease_until=None,
            reported_at=None,
            updated_at=now,
        )
        .returning(t.c.id)
    )
    return result.first() is not None
