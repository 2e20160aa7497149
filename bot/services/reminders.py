"""Planning reminders from what is stored, and writing the plan to the outbox.

Sources of deadlines plug in here: each is a :class:`ReminderSource` with an
outbox source prefix and a way to list its deadlines. The cycle's events are the
first source; open hearings and meetings add themselves in their own modules.
Everything that changes a date, a member or a preference calls
:func:`sync_reminders` in the same transaction, so the plan never lags the data.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.overview.weekly import PREFIX as WEEKLY_PREFIX
from bot.services.overview.weekly import plan_weekly
from bot.web_pages import public_base_url
from scheduler.model import EventType, Role
from scheduler.planner import (
    Audience,
    CouncilAudience,
    Deadline,
    Kind,
    PlannedNotification,
    Recipient,
    SendWindow,
    plan_deadlines,
    plan_digests,
)
from scheduler.reminders import reminder_offsets
from storage import outbox
from storage.models import Council, CycleEvent, Membership, OutboxMessage, Person

DEFAULT_AUDIENCES: dict[EventType, frozenset[Audience]] = {
    EventType.DEADLINE: frozenset({Audience.CHANNEL, Audience.SECRETARIAT}),
    EventType.HEARING: frozenset({Audience.CHANNEL, Audience.MEMBERS, Audience.SECRETARIAT}),
    EventType.MEETING: frozenset({Audience.CHANNEL, Audience.MEMBERS, Audience.SECRETARIAT}),
}
NOTIFY_CHOICES = ("auto", "slack", "email", "both", "none")


class ReminderSource(Protocol):
    """Something with deadlines to remind of (cycle events, hearings, meetings)."""

    #: Every outbox source of this kind starts with it, e.g. ``cycle:``.
    prefix: str

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]: ...


class CycleSource:
    """The councils' cycle events from today on."""

    prefix = "cycle:"

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]:
        settings = ctx.config.settings
        rows = await session.execute(
            select(CycleEvent, Council)
            .join(Council, col(Council.id) == CycleEvent.council_id)
            .where(
                col(CycleEvent.council_id).in_(council_ids),
                col(CycleEvent.date) >= today,
                # A deadline marked done (``cycle done``) needs no more reminders.
                CycleEvent.status != "done",
            )
        )
        found = []
        for event, council in rows:
            event_def = ctx.template.events.get(event.template_key)
            council_cfg = settings.council(council.key)
            council_offsets = council_cfg.reminder_offsets if council_cfg else None
            if event_def is not None:
                offsets = reminder_offsets(event_def, council_offsets, settings.reminders.offsets)
                audiences = (
                    frozenset(event_def.notify)
                    if event_def.notify is not None
                    else DEFAULT_AUDIENCES[event_def.type]
                )
            else:
                offsets = tuple(council_offsets or settings.reminders.offsets)
                audiences = DEFAULT_AUDIENCES[EventType(event.type)]
            found.append(
                Deadline(
                    source=f"{self.prefix}{event.id}",
                    council_id=council.id or 0,
                    day=event.date,
                    offsets=offsets,
                    audiences=audiences,
                    message="reminder",
                    params={
                        "council": council.name,
                        "council_key": council.key,
                        "title_da": event.title_da,
                        "title_en": event.title_en,
                        "type": event.type,
                        "owner": event.owner,
                    },
                )
            )
        return found


class CyclePromptSource:
    """Cycle events of one type that nothing has taken up yet (no hearing opened, no
    meeting created): the secretariat is asked, ``days`` working days before, to do it.

    Args:
        prefix: the outbox source prefix.
        event_type: which cycle events.
        message: the catalogue message (``hearing.prompt``, ``meeting.prompt``).
        days: reads the number of working days from the settings (0: no prompt).
        taken: a query of the cycle event ids already taken up.
    """

    def __init__(
        self,
        prefix: str,
        event_type: EventType,
        message: str,
        days: Callable[[AppContext], int],
        taken: Callable[[], Any],
    ) -> None:
        self.prefix = prefix
        self.event_type = event_type
        self.message = message
        self.days = days
        self.taken = taken

    async def deadlines(
        self, session: AsyncSession, ctx: AppContext, council_ids: Sequence[int], today: date
    ) -> list[Deadline]:
        days = self.days(ctx)
        if days <= 0:
            return []
        rows = await session.execute(
            select(CycleEvent, Council)
            .join(Council, col(Council.id) == CycleEvent.council_id)
            .where(
                col(CycleEvent.council_id).in_(council_ids),
                CycleEvent.type == self.event_type.value,
                col(CycleEvent.date) >= today,
                CycleEvent.status != "done",
                col(CycleEvent.id).not_in(self.taken()),
            )
        )
        return [
            Deadline(
                source=f"{self.prefix}{event.id}",
                council_id=council.id or 0,
                day=event.date,
                offsets=(days,),
                audiences=frozenset({Audience.SECRETARIAT}),
                message=self.message,
                params={
                    "event_id": event.id,
                    "council": council.name,
                    "council_key": council.key,
                    "title_da": event.title_da,
                    "title_en": event.title_en,
                    "template_key": event.template_key,
                },
            )
            for event, council in rows.all()
        ]

    async def withdraw(self, session: AsyncSession, ctx: AppContext, event_id: int | None) -> None:
        """Withdraw the event's pending prompt: a hearing or meeting has taken it up.

        Only this event's source changes, so a request never re-plans the council.
        """
        if event_id is not None:
            await outbox.sync_plan(
                session, [], sources=[f"{self.prefix}{event_id}"], now=ctx.clock.now()
            )


#: The sources planned by :func:`sync_reminders`; later features append theirs.
SOURCES: list[ReminderSource] = [CycleSource()]
#: Checks run at delivery for escalations, by name; feature modules add theirs.
CONDITIONS: dict[str, Callable[[AsyncSession, OutboxMessage], Awaitable[bool]]] = {}
#: Hooks told that a row went out, by the row's message name (a hearing notes
#: the link of its announcement).
AFTER_SENT: dict[str, Callable[..., Awaitable[None]]] = {}
#: Modules that add sources (and delivery conditions) when imported.
PLUGINS = (
    "bot.services.hearing_reminders",
    "bot.services.meeting_reminders",
    "bot.services.inbound.reply_tokens",
    "bot.services.recommendations.sending",
)


def sources() -> list[ReminderSource]:
    """Every source, the feature modules' included (imported on first use)."""
    for name in PLUGINS:
        importlib.import_module(name)
    return SOURCES


def after_sent() -> dict[str, Callable[..., Awaitable[None]]]:
    sources()
    return AFTER_SENT


def conditions() -> dict[str, Callable[[AsyncSession, OutboxMessage], Awaitable[bool]]]:
    sources()
    return CONDITIONS


def send_window(ctx: AppContext) -> SendWindow:
    r = ctx.config.settings.reminders
    return SendWindow(tz=ctx.tz, calendar=ctx.calendar, start=r.quiet_end, end=r.quiet_start)


def slack_enabled(ctx: AppContext) -> bool:
    return ctx.config.secrets.slack_bot_token is not None


def person_recipients(person: Person, ctx: AppContext) -> list[Recipient]:
    """Where one person is reached, by their preference (Slack only with a bot token)."""
    language = person.language or ctx.language
    who = f"person:{person.id}"
    slack = (
        Recipient(who, "slack", person.slack_id, language, person.id)
        if person.slack_id and slack_enabled(ctx)
        else None
    )
    email = Recipient(who, "email", person.email, language, person.id)
    choice = person.notify if person.notify in NOTIFY_CHOICES else "auto"
    if choice == "none":
        return []
    if choice == "email":
        return [email]
    if choice == "both":
        return [r for r in (slack, email) if r is not None]
    # auto and slack: Slack when it can, else e-mail, so nobody is left out.
    return [slack or email]


async def load_audiences(
    session: AsyncSession, ctx: AppContext, council_ids: Sequence[int]
) -> dict[int, CouncilAudience]:
    """Each council's recipients, per audience, in two queries."""
    councils = (
        await session.execute(select(Council).where(col(Council.id).in_(council_ids)))
    ).scalars()
    seats = await session.execute(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(col(Membership.council_id).in_(council_ids))
        .order_by(col(Person.id))
    )
    by_council: dict[int, dict[str, list[Recipient]]] = {}
    for seat, person in seats:
        bucket = by_council.setdefault(seat.council_id, {"members": [], "chair": [], "sec": []})
        reached = person_recipients(person, ctx)
        if seat.role in (Role.MEMBER, Role.CHAIR):
            bucket["members"].extend(reached)
        if seat.role == Role.CHAIR:
            bucket["chair"].extend(reached)
        if seat.role == Role.SECRETARY:
            bucket["sec"].extend(reached)
    result: dict[int, CouncilAudience] = {}
    for council in councils:
        assert council.id is not None
        bucket = by_council.get(council.id, {"members": [], "chair": [], "sec": []})
        channel: tuple[Recipient, ...] = ()
        if council.slack_channel and slack_enabled(ctx):
            name = council.slack_channel.lstrip("#")
            channel = (
                Recipient(f"council:{council.id}:channel", "slack", f"#{name}", ctx.language),
            )
        secretariat = list(bucket["sec"])
        if council.secretariat_email:
            secretariat.insert(
                0,
                Recipient(
                    f"council:{council.id}:secretariat",
                    "email",
                    council.secretariat_email,
                    ctx.language,
                ),
            )
        result[council.id] = CouncilAudience(
            council_id=council.id,
            channel=channel,
            members=tuple(bucket["members"]),
            chair=tuple(bucket["chair"]),
            secretariat=tuple(secretariat),
        )
    return result


async def _council_ids(session: AsyncSession, council_ids: Iterable[int] | None) -> list[int]:
    if council_ids is not None:
        return list(council_ids)
    rows = await session.execute(select(Council.id).where(col(Council.active).is_(True)))
    return [r for (r,) in rows]


async def digest_recipients(session: AsyncSession, ctx: AppContext) -> list[Recipient]:
    people = (
        await session.execute(
            select(Person)
            .where(col(Person.digest).is_(True))
            .where(col(Person.id).in_(select(Membership.person_id)))
            .order_by(col(Person.id))
        )
    ).scalars()
    return [r for p in people for r in person_recipients(p, ctx)]


async def plan(
    session: AsyncSession,
    ctx: AppContext,
    council_ids: Iterable[int] | None = None,
    *,
    digests: bool = True,
    prefixes: Sequence[str] | None = None,
) -> list[PlannedNotification]:
    """Everything that should be in the outbox for these councils (all when None);
    with ``prefixes``, only the sources whose prefix is listed."""
    ids = await _council_ids(session, council_ids)
    today = ctx.today()
    now = ctx.clock.now()
    send_at = ctx.config.settings.reminders.send_at
    window = send_window(ctx)
    audiences = await load_audiences(session, ctx, ids)
    deadlines: list[Deadline] = []
    for source in _chosen(prefixes):
        deadlines.extend(await source.deadlines(session, ctx, ids, today))
    planned = plan_deadlines(deadlines, audiences, window, send_at=send_at, now=now)
    if digests:
        planned += plan_digests(
            await digest_recipients(session, ctx), today, window, send_at=send_at, now=now
        )
        planned += await plan_weekly(
            session,
            ctx,
            today,
            window,
            send_at=send_at,
            now=now,
            base_url=public_base_url(ctx.config),
        )
    return planned


@dataclass(frozen=True)
class SyncResult:
    report: outbox.SyncReport
    planned: int


def _chosen(prefixes: Sequence[str] | None) -> list[ReminderSource]:
    return [s for s in sources() if prefixes is None or s.prefix in prefixes]


#: The sources that follow the cycle's dates: what a moved cycle event re-plans.
CYCLE_PREFIXES = ("cycle:", "prompt:", "meeting-prompt:")


async def sync_reminders(
    session: AsyncSession,
    ctx: AppContext,
    council_ids: Iterable[int] | None = None,
    *,
    prefixes: Sequence[str] | None = None,
) -> SyncResult:
    """Bring the outbox in line with the data for these councils (all when None).

    Call it in the transaction that changed a date, a member or a preference; with
    ``prefixes`` only those sources are re-planned (a moved cycle event re-plans
    :data:`CYCLE_PREFIXES`, not the council's hearings). A single hearing, seat or
    prompt has narrower calls still (``bot.services.hearing_reminders``).
    """
    now = ctx.clock.now()
    everything = council_ids is None
    ids = await _council_ids(session, council_ids)
    # Pending rows whose deadline passed are stale, not "no longer planned".
    await outbox.skip_stale(session, now=now)
    planned = await plan(session, ctx, ids, digests=everything, prefixes=prefixes)
    report = outbox.SyncReport()
    for source in _chosen(prefixes):
        mine = [p for p in planned if p.source.startswith(source.prefix)]
        # A full re-plan also withdraws the rows of councils no longer active.
        report += await outbox.sync_plan(
            session,
            mine,
            source_prefix=source.prefix,
            council_ids=None if everything else ids,
            now=now,
        )
    if everything:
        mine = [p for p in planned if p.kind is Kind.DIGEST]
        # Only digests still to come are withdrawn (an opt-out); one whose morning
        # has passed is this week's, sent or about to be caught up.
        report += await outbox.sync_plan(
            session, mine, source_prefix="digest:", due_after=now, now=now
        )
        # The region's weekly overview mail, planned and withdrawn like the digests.
        mine = [p for p in planned if p.source.startswith(WEEKLY_PREFIX)]
        report += await outbox.sync_plan(
            session, mine, source_prefix=WEEKLY_PREFIX, due_after=now, now=now
        )
    return SyncResult(report=report, planned=len(planned))


async def plan_failure_reports(session: AsyncSession, ctx: AppContext) -> int:
    """Queue one report per council of the rows that failed since the last one.

    At most one report per council per day: failures after today's report wait
    for tomorrow's.
    """
    now = ctx.clock.now()
    today = ctx.today()
    failed = (
        await session.execute(
            select(OutboxMessage, Council)
            .join(Council, col(Council.id) == OutboxMessage.council_id)
            .where(
                col(OutboxMessage.state) == outbox.FAILED,
                col(OutboxMessage.reported_at).is_(None),
                col(OutboxMessage.kind) != Kind.REPORT.value,
            )
            .order_by(col(OutboxMessage.id))
        )
    ).all()
    per_council: dict[int, tuple[Council, list[OutboxMessage]]] = {}
    for row, council in failed:
        if council.secretariat_email and council.id is not None:
            per_council.setdefault(council.id, (council, []))[1].append(row)
    window = send_window(ctx)
    queued = 0
    for council_id, (council, rows) in per_council.items():
        key = f"report:failed:{council_id}:{today.isoformat()}"
        if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)):
            continue
        planned = PlannedNotification(
            key=key,
            group_key=f"report:failed:{council_id}",
            kind=Kind.REPORT,
            source=f"report:{council_id}",
            council_id=council_id,
            person_id=None,
            channel="email",
            address=council.secretariat_email or "",
            language=ctx.language,
            message="report",
            params={"council": council.name, "failed_ids": [r.id for r in rows]},
            due_at=window.next_allowed(now),
            expires_at=None,
        )
        queued += await outbox.enqueue(session, [planned], now=now)
        for r in rows:
            r.reported_at = now
            session.add(r)
    await session.flush()
    return queued
