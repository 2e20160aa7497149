"""The outbox's workers: heartbeats, and taking over the rows of a worker that died.

Part of :mod:`storage.outbox` (re-exported there): a row claimed by a worker stays with it
while its heartbeat is fresh; once the heartbeat is ``worker_timeout`` old, or its process
is gone from this host, the row goes back to pending, in one statement that re-checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Worker
from storage.outbox_base import PENDING, SENDING, insert_into

OM = OutboxMessage


@dataclass(frozen=True)
class Reclaimed:
    """A row whose worker's lease ran out: it may or may not have been delivered."""

    id: int
    key: str
    claimed_by: str | None


async def reclaim_expired(
    session: AsyncSession,
    *,
    now: datetime,
    worker_timeout: timedelta = timedelta(seconds=30),
    dead: Sequence[str] = (),
) -> list[Reclaimed]:
    """Put the rows of dead workers back to pending, and say which they were.

    A ``sending`` row is reclaimed when its worker is known to be dead: named in
    ``dead`` (the caller saw its process gone), or its heartbeat is older than
    ``worker_timeout``, or it has no worker row at all and its lease ran out (a
    worker that never published a heartbeat). A worker whose heartbeat is fresh
    keeps its rows however long its batch takes, whatever the lease says.

    These are the rows in flight when a worker died; the caller logs them, since
    each may reach its recipient twice.
    """
    t = OM.__table__
    w = Worker.__table__
    stale = select(w.c.id).where(w.c.last_seen < now - worker_timeout)
    known = select(w.c.id).where(w.c.id == t.c.claimed_by).exists()
    gone = [t.c.claimed_by.in_(stale), and_(~known, t.c.lease_until < now)]
    if dead:
        gone.append(t.c.claimed_by.in_(list(dead)))
    result = await session.execute(
        update(t)
        .where(t.c.state == SENDING, or_(*gone))
        .values(
            state=PENDING,
            last_error="reclaimed: its worker stopped (it may have sent this already)",
            updated_at=now,
        )
        .returning(t.c.id, t.c.key, t.c.claimed_by)
    )
    return [Reclaimed(r.id, r.key, r.claimed_by) for r in result]


# --- workers and their heartbeats ---------------------------------------------------------


async def heartbeat(
    session: AsyncSession, *, worker: str, host: str, pid: int, now: datetime
) -> None:
    """Publish that ``worker`` is alive now (its row is created on the first beat)."""
    stmt = insert_into(session, Worker.__table__).values(
        id=worker, host=host, pid=pid, started=now, last_seen=now
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={"last_seen": now})
    )


async def forget_workers(session: AsyncSession, ids: Sequence[str]) -> int:
    """Remove workers' rows (a clean shutdown, or workers found dead)."""
    if not ids:
        return 0
    w = Worker.__table__
    result = await session.execute(delete(w).where(w.c.id.in_(list(ids))).returning(w.c.id))
    return len(result.all())


@dataclass(frozen=True)
class WorkerInfo:
    """A worker as the database knows it, and how many rows it holds now."""

    id: str
    host: str
    pid: int
    started: datetime
    last_seen: datetime
    held: int


async def workers(session: AsyncSession) -> list[WorkerInfo]:
    """Every known worker, newest heartbeat first, with the ``sending`` rows it holds."""
    t, w = OM.__table__, Worker.__table__
    held = (
        select(t.c.claimed_by, func.count().label("held"))
        .where(t.c.state == SENDING)
        .group_by(t.c.claimed_by)
        .subquery()
    )
    result = await session.execute(
        select(w, func.coalesce(held.c.held, 0))
        .outerjoin(held, held.c.claimed_by == w.c.id)
        .order_by(w.c.last_seen.desc(), w.c.id)
    )
    return [WorkerInfo(r.id, r.host, r.pid, r.started, r.last_seen, int(r[-1])) for r in result]
