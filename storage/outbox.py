"""The outbox: every notification is a row; this module (with its parts
:mod:`storage.outbox_workers` and :mod:`storage.outbox_admin`, re-exported here) is the only
one that moves rows.

Life of a row::

    pending ──claim──▶ sending ──▶ sent
       ▲                  │ └────▶ failed   (permanent error, or attempts used up)
       └──── retry ───────┘        skipped  (stale, superseded, withdrawn, condition false)

Every transition is one SQL statement that re-checks the state it starts from,
so two workers (or a worker and a re-plan) never both win. On PostgreSQL the
claim locks with ``FOR UPDATE SKIP LOCKED``; SQLite runs one writer at a time,
which the single-statement claim makes safe as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduler.planner import PlannedNotification
from storage.models import OutboxMessage, Worker
from storage.outbox_base import (  # noqa: F401
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    STATES,
    insert_into,
)
from storage.types import UTCDateTime

_CHUNK = 500

OM = OutboxMessage


def payload_of(p: PlannedNotification) -> str:
    return json.dumps(
        {"message": p.message, "params": dict(p.params)}, ensure_ascii=False, sort_keys=True
    )


def _row_values(p: PlannedNotification, now: datetime) -> dict[str, Any]:
    return {
        "key": p.key,
        "group_key": p.group_key,
        "kind": p.kind.value,
        "source": p.source,
        "council_id": p.council_id,
        "person_id": p.person_id,
        "channel": p.channel,
        "address": p.address,
        "language": p.language,
        "payload": payload_of(p),
        "quiet": p.quiet,
        "condition": p.condition,
        "due_at": p.due_at,
        "expires_at": p.expires_at,
        "state": PENDING,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    session: AsyncSession, planned: Iterable[PlannedNotification], *, now: datetime
) -> int:
    """Insert the notifications whose key is new; existing keys are left alone.

    Returns:
        How many rows were inserted.
    """
    batch = [_row_values(p, now) for p in planned]
    if not batch:
        return 0
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
    # without compiling one giant statement per chunk.
    stmt = insert_into(session, OM.__table__).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt.returning(OM.__table__.c.id), batch)
    inserted = len(result.all())
    return inserted


@dataclass
class SyncReport:
    """What re-planning changed."""

    inserted: int = 0
    updated: int = 0
    withdrawn: int = 0

    def __iadd__(self, other: SyncReport) -> SyncReport:
        self.inserted += other.inserted
        self.updated += other.updated
        self.withdrawn += other.withdrawn
        return self


async def sync_plan(
    session: AsyncSession,
    planned: Sequence[PlannedNotification],
    *,
    sources: Iterable[str] | None = None,
    source_prefix: str | None = None,
    council_ids: Iterable[int] | None = None,
    due_after: datetime | None = None,
    now: datetime,
) -> SyncReport:
    """Make the pending rows of a scope match a fresh plan.

    New keys are inserted; pending rows whose time or text changed are updated
    (a moved deadline moves its reminders); pending rows of the scope that the
    plan no longer holds are withdrawn (skipped, with the reason). Rows already
    sent, failed or skipped are never touched: a reminder that went out does not
    go out again because its deadline moved.

    The scope is the rows whose source is in ``sources``, or whose source starts
    with ``source_prefix`` (within ``council_ids``, and due after ``due_after``,
    when given).
    """
    report = SyncReport()
    wanted = {p.key: p for p in planned}
    scope = _scope(sources, source_prefix, council_ids, due_after)
    existing: dict[str, tuple[Any, ...]] = {}
    columns = (
        OM.id, OM.key, OM.state, OM.due_at, OM.expires_at, OM.payload, OM.address,
        OM.language, OM.quiet, OM.condition,
    )  # fmt: skip

    def keep(r: Any) -> None:
        existing[r.key] = (
            r.id, r.state, r.due_at, r.expires_at, r.payload, r.address,
            r.language, r.quiet, r.condition,
        )  # fmt: skip

    if scope is not None:
        for r in await session.execute(select(*columns).where(scope)):
            keep(r)
    # Keys outside the scope's rows (another scope planned them) are looked up too.
    unknown = [k for k in wanted if k not in existing]
    for start in range(0, len(unknown), _CHUNK):
        chunk = unknown[start : start + _CHUNK]
        for r in await session.execute(select(*columns).where(col(OM.key).in_(chunk))):
            keep(r)

    new = [p for k, p in wanted.items() if k not in existing]
    report.inserted = await enqueue(session, new, now=now)

    changes: list[dict[str, Any]] = []
    for k, p in wanted.items():
        row = existing.get(k)
        if row is None or row[1] != PENDING:
            continue
        payload = payload_of(p)
        wanted_values = (
            p.due_at, p.expires_at, payload, p.address, p.language, p.quiet, p.condition,
        )  # fmt: skip
        if tuple(row[2:]) != wanted_values:
            changes.append(
                {
                    "row_id": row[0],
                    "new_due": p.due_at,
                    "new_expires": p.expires_at,
                    "new_payload": payload,
                    "new_address": p.address,
                    "new_language": p.language,
                    "new_quiet": p.quiet,
                    "new_condition": p.condition,
                    "now": now,
                }
            )
    if changes:
        stmt = (
            update(OM.__table__)
            .where(OM.__table__.c.id == bindparam("row_id"), OM.__table__.c.state == PENDING)
            .values(
                due_at=bindparam("new_due", type_=UTCDateTime()),
                expires_at=bindparam("new_expires", type_=UTCDateTime()),
                payload=bindparam("new_payload"),
                address=bindparam("new_address"),
                language=bindparam("new_language"),
                quiet=bindparam("new_quiet"),
                condition=bindparam("new_condition"),
                updated_at=bindparam("now", type_=UTCDateTime()),
            )
        )
        await session.execute(stmt, changes)
        report.updated = len(changes)

    gone = [row[0] for k, row in existing.items() if k not in wanted and row[1] == PENDING]
    if scope is not None:
        report.withdrawn = await skip(session, gone, "withdrawn: no longer planned", now=now)
    return report


def _scope(
    sources: Iterable[str] | None,
    source_prefix: str | None,
    council_ids: Iterable[int] | None,
    due_after: datetime | None = None,
) -> Any:
    clauses = []
    if due_after is not None:
        clauses.append(col(OM.due_at) > due_after)
    if sources is not None:
        clauses.append(col(OM.source).in_(list(sources)))
    if source_prefix is not None:
        clauses.append(col(OM.source).startswith(source_prefix, autoescape=True))
    if council_ids is not None:
        clauses.append(col(OM.council_id).in_(list(council_ids)))
    return and_(*clauses) if clauses else None


async def skip(session: AsyncSession, ids: Sequence[int], reason: str, *, now: datetime) -> int:
    """Mark pending rows skipped with ``reason``; returns how many were."""
    done = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        result = await session.execute(
            update(OM)
            .where(col(OM.id).in_(chunk), col(OM.state) == PENDING)
            .values(state=SKIPPED, last_error=reason, updated_at=now)
            .returning(OM.__table__.c.id)
        )
        done += len(result.all())
    return done


async def skip_stale(session: AsyncSession, *, now: datetime) -> list[tuple[int, str]]:
    """Skip pending rows whose deadline passed while nobody sent them (downtime)."""
    result = await session.execute(
        update(OM)
        .where(col(OM.state) == PENDING, col(OM.expires_at).is_not(None), col(OM.expires_at) <= now)
        .values(
            state=SKIPPED,
            last_error="stale: its deadline passed before it could be sent",
            updated_at=now,
        )
        .returning(OM.__table__.c.id, OM.__table__.c.key)
    )
    return [(r.id, r.key) for r in result]


async def skip_superseded(session: AsyncSession, *, now: datetime) -> list[tuple[int, str]]:
    """Of several due reminders of one deadline to one recipient, keep the newest.

    After downtime the 7- and the 1-day reminder may both be overdue: the member
    gets the newer one once, not both.

    Three single-table statements, no join: the oldest overdue pending row bounds
    the rows that can matter (a newer reminder is due after it); one window over
    those rows finds the superseded ids; they are skipped by primary key. A join
    of the table with itself was planned as a nested loop over every due row when
    PostgreSQL's statistics predated a large enqueue (3.5 s for 5,000 rows
    instead of 15 ms), and the worker runs this before every drain.
    """
    t = OM.__table__
    oldest = (
        await session.execute(
            select(func.min(t.c.due_at)).where(
                t.c.state == PENDING, t.c.due_at <= now, t.c.kind != "digest"
            )
        )
    ).scalar()
    if oldest is None:
        return []
    due = (
        select(
            t.c.id,
            t.c.state,
            t.c.kind,
            t.c.due_at,
            func.max(t.c.due_at).over(partition_by=t.c.group_key).label("newest"),
        )
        .where(t.c.due_at >= oldest, t.c.due_at <= now, t.c.state.in_((PENDING, SENDING, SENT)))
        .subquery()
    )
    ids = list(
        (
            await session.execute(
                select(due.c.id).where(
                    due.c.state == PENDING, due.c.kind != "digest", due.c.due_at < due.c.newest
                )
            )
        ).scalars()
    )
    skipped: list[tuple[int, str]] = []
    for start in range(0, len(ids), _CHUNK):
        result = await session.execute(
            update(t)
            .where(t.c.id.in_(ids[start : start + _CHUNK]), t.c.state == PENDING)
            .values(
                state=SKIPPED,
                last_error="superseded: a later reminder of the same deadline is due",
                updated_at=now,
            )
            .returning(t.c.id, t.c.key)
        )
        skipped.extend((r.id, r.key) for r in result)
    return skipped


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    channels: Sequence[str],
    quiet_allowed: bool,
) -> list[OutboxMessage]:
    """Take up to ``limit`` due rows for ``worker``, oldest first.

    Scheduled (``quiet``) rows are taken only when ``quiet_allowed``: outside
    working hours they wait for the next allowed minute.
    """
    t = OM.__table__
    due = [t.c.state == PENDING, t.c.due_at <= now, t.c.channel.in_(list(channels))]
    if not quiet_allowed:
        due.append(t.c.quiet.is_(False))
    pick = select(t.c.id).where(*due).order_by(t.c.due_at, t.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Pick once, in a materialised CTE: as a plain IN (subquery) PostgreSQL may
        # re-run the locking subquery per row and take every due row, not ``limit``.
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        chosen: Any = select(picked.c.id).scalar_subquery()
    else:
        # SQLite has one writer at a time: the single statement is the lock.
        chosen = pick.scalar_subquery()
    stmt = (
        update(OM)
        .where(col(OM.id).in_(chosen), col(OM.state) == PENDING)
        .values(
            state=SENDING,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=OM.attempts + 1,
            updated_at=now,
        )
        .returning(OM)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.execute(stmt)).scalars())
    rows.sort(key=lambda r: (r.due_at, r.id or 0))
    return rows


async def extend_lease(
    session: AsyncSession, ids: Sequence[int], *, worker: str, until: datetime
) -> int:
    """Keep rows this worker is still delivering from being taken over."""
    result = await session.execute(
        update(OM)
        .where(col(OM.id).in_(list(ids)), col(OM.claimed_by) == worker, col(OM.state) == SENDING)
        .values(lease_until=until)
        .returning(OM.__table__.c.id)
    )
    return len(result.all())


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row."""

    id: int
    state: str  # sent, pending (retry later), failed or skipped
    error: str | None = None
    external_id: str | None = None
    due_at: datetime | None = None  # the next attempt, when pending


async def record(
    session: AsyncSession | AsyncConnection,
    outcomes: Sequence[Outcome],
    *,
    worker: str,
    now: datetime,
) -> int:
    """Store the outcomes of one worker's deliveries in one round trip.

    A row is only updated while this worker still holds it; if its lease ran
    out and another worker took it, that worker's result counts.
    """
    if not outcomes:
        return 0
    t = OM.__table__
    stmt = (
        update(t)
        .where(t.c.id == bindparam("row_id"), t.c.claimed_by == worker, t.c.state == SENDING)
        .values(
            state=bindparam("new_state"),
            last_error=bindparam("new_error"),
            external_id=bindparam("new_external"),
            sent_at=bindparam("new_sent", type_=UTCDateTime()),
            due_at=func.coalesce(bindparam("new_due", type_=UTCDateTime()), t.c.due_at),
            lease_until=None,
            updated_at=bindparam("now", type_=UTCDateTime()),
        )
    )
    params = [
        {
            "row_id": o.id,
            "new_state": o.state,
            "new_error": o.error,
            "new_external": o.external_id,
            "new_sent": now if o.state == SENT else None,
            "new_due": o.due_at,
            "now": now,
        }
        for o in outcomes
    ]
    result = await session.execute(stmt, params)
    return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(params)


async def next_due_split(
    session: AsyncSession,
    *,
    channels: Sequence[str],
    worker_timeout: timedelta = timedelta(seconds=30),
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """The earliest due time of unscheduled and of scheduled (quiet) pending rows, and
    when the first ``sending`` row can be reclaimed; the caller moves the quiet one out
    of quiet hours.

    A row held by a worker with a heartbeat becomes reclaimable ``worker_timeout``
    after that heartbeat (never earlier, so a slow but live worker's expired lease
    does not wake anyone in a loop); a row without a worker row when its lease ends.
    """
    t, w = OM.__table__, Worker.__table__
    pending = (
        select(t.c.quiet, func.min(t.c.due_at))
        .where(t.c.state == PENDING, t.c.channel.in_(list(channels)))
        .group_by(t.c.quiet)
    )
    found: dict[bool, datetime] = {bool(q): d for q, d in await session.execute(pending)}
    known = select(w.c.id).where(w.c.id == t.c.claimed_by).exists()
    lease = await session.scalar(
        select(func.min(t.c.lease_until)).where(t.c.state == SENDING, ~known)
    )
    beat = await session.scalar(
        select(func.min(w.c.last_seen)).where(
            select(t.c.id).where(t.c.claimed_by == w.c.id, t.c.state == SENDING).exists()
        )
    )
    times = [v for v in (lease, beat + worker_timeout if beat else None) if v is not None]
    return found.get(False), found.get(True), min(times) if times else None


# The outbox's other parts, so callers keep saying ``outbox.heartbeat``, ``outbox.status``.
from storage.outbox_admin import (  # noqa: E402, F401
    OutboxStatus,
    fail_bounced,
    get,
    retry,
    status,
)
from storage.outbox_workers import (  # noqa: E402, F401
    Reclaimed,
    WorkerInfo,
    forget_workers,
    heartbeat,
    reclaim_expired,
    workers,
)
