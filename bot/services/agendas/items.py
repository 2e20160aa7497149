"""A meeting's agenda: assembling it from what is due, and reading it.

Every use case takes the meeting's row lock first (:func:`storage.db.lock_row`), so
two changes of one agenda run one after the other, and the agenda is assembled
under that lock before it is read or changed:

1. the remarks waiting for the council's next meeting join it, and the items of the
   council's earlier meetings that were not dealt with (not marked ``done``) carry
   over to it (the old item becomes ``carried``, a copy opens here);
2. every source in :data:`bot.services.agendas.sources.SOURCES` proposes items, and
   those whose ``source`` the agenda does not hold yet (in any state, so a dropped
   item stays dropped) are appended.

Only the council's next meeting (the first planned one that has not started) takes
waiting remarks and carried items; a meeting that has started or was cancelled is a
record and is not assembled any more. Items are numbered 1, 2, … as ``agenda show``
lists them (dropped and carried items are not listed); ``move``, ``drop`` and
``done`` (:mod:`bot.services.agendas.changes`) take that number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.agendas.rights import may_edit, may_read
from bot.services.agendas.sources import SOURCES, Window
from bot.services.app import AppContext
from bot.services.hearings import Actor, get_by_id
from bot.text import clean_long, refuse_forbidden
from scheduler.errors import InputError
from storage.models import Agenda, AgendaItem, Council, Meeting

OPEN, DONE, DROPPED, CARRIED = "open", "done", "dropped", "carried"
#: The states ``agenda show`` lists (and numbers).
LISTED = (OPEN, DONE)
KINDS = ("item", "remark", "deviation", "recommendation", "hearing", "deadline")
#: How far back and ahead an agenda looks when the council has no earlier or later meeting.
HORIZON_DAYS = 90
MAX_TITLE = 200
MAX_TEXT = 10_000


@dataclass
class AgendaView:
    """A meeting's agenda as it stands: the listed items in order, numbered from 1."""

    meeting: Meeting
    council: Council
    agenda: Agenda
    items: list[AgendaItem]
    window: Window
    #: Councils named by items (the region that wrote a remark), by id.
    councils: dict[int, Council]

    def item(self, number: int | str) -> AgendaItem:
        """The item numbered ``number`` as listed; refused in words when there is none."""
        try:
            n = int(str(number).strip().lstrip("#"))
        except ValueError:
            raise user_error(
                InputError, "agenda.error.bad_number", value=str(number)[:20]
            ) from None
        if not 1 <= n <= len(self.items):
            raise user_error(
                InputError,
                "agenda.error.no_item",
                number=n,
                count=len(self.items),
                meeting=self.meeting.id,
            )
        return self.items[n - 1]


def clean_title(value: str) -> str:
    import unicodedata

    value = unicodedata.normalize("NFC", value or "").strip()
    refuse_forbidden(value, "title")
    if not value:
        raise user_error(InputError, "agenda.error.no_title")
    if len(value) > MAX_TITLE:
        raise user_error(InputError, "agenda.error.too_long", field="title", limit=MAX_TITLE)
    return value


def clean_body(value: str | None) -> str:
    value = clean_long(value or "")
    if len(value) > MAX_TEXT:
        raise user_error(InputError, "agenda.error.too_long", field="text", limit=MAX_TEXT)
    return value


async def next_meeting(session: AsyncSession, council_id: int, now: datetime) -> Meeting | None:
    """The council's next meeting: the first planned one that has not started."""
    return await session.scalar(
        select(Meeting)
        .where(
            Meeting.council_id == council_id,
            col(Meeting.state) == "planned",
            col(Meeting.start_at) > now,
        )
        .order_by(col(Meeting.start_at), col(Meeting.id))
        .limit(1)
    )


async def _window(
    session: AsyncSession,
    meeting: Meeting,
    council: Council,
    tz: tzinfo,
    language: str,
    results: object = None,
) -> Window:
    planned = (
        Meeting.council_id == meeting.council_id,
        col(Meeting.state) == "planned",
        col(Meeting.id) != meeting.id,
    )
    before = await session.scalar(
        select(Meeting.start_at)
        .where(*planned, col(Meeting.start_at) < meeting.start_at)
        .order_by(col(Meeting.start_at).desc())
        .limit(1)
    )
    after = await session.scalar(
        select(Meeting.start_at)
        .where(*planned, col(Meeting.start_at) > meeting.start_at)
        .order_by(col(Meeting.start_at))
        .limit(1)
    )
    horizon = timedelta(days=HORIZON_DAYS)
    return Window(
        council=council,
        meeting=meeting,
        since=before or meeting.start_at - horizon,
        until=meeting.start_at,
        after=after or meeting.start_at + horizon,
        tz=tz,
        language=language,
        results=results,
    )


async def _items(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return list(
        (
            await session.execute(
                select(AgendaItem)
                .where(AgendaItem.meeting_id == meeting_id)
                .order_by(col(AgendaItem.position), col(AgendaItem.id))
            )
        ).scalars()
    )


def new_item(
    meeting: Meeting, position: int, now: datetime, actor: str, **values: object
) -> AgendaItem:
    return AgendaItem(
        council_id=meeting.council_id,
        meeting_id=meeting.id,
        position=position,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **values,  # type: ignore[arg-type]
    )


async def _assemble(
    session: AsyncSession, ctx: AppContext, meeting: Meeting, council: Council, agenda: Agenda
) -> list[AgendaItem]:
    """Add what is due (see the module's docstring); returns every item of the meeting."""
    now = ctx.clock.now()
    items = await _items(session, meeting.id or 0)
    if meeting.state != "planned" or meeting.start_at <= now:
        return items
    held = {i.source for i in items if i.source}
    position = max((i.position for i in items), default=0)
    added = 0
    upcoming = await next_meeting(session, council.id or 0, now)
    if upcoming is not None and upcoming.id == meeting.id:
        waiting = (
            await session.execute(
                select(AgendaItem)
                .where(
                    AgendaItem.council_id == council.id,
                    col(AgendaItem.meeting_id).is_(None),
                    AgendaItem.state == OPEN,
                )
                .order_by(col(AgendaItem.id))
            )
        ).scalars()
        for remark in list(waiting):
            position += 1
            remark.meeting_id, remark.position, remark.updated_at = meeting.id, position, now
            session.add(remark)
            items.append(remark)
            added += 1
        earlier = (
            await session.execute(
                select(AgendaItem, Meeting)
                .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
                .where(
                    Meeting.council_id == council.id,
                    col(Meeting.id) != meeting.id,
                    col(Meeting.start_at) < meeting.start_at,
                    AgendaItem.state == OPEN,
                )
                .order_by(col(Meeting.start_at), col(AgendaItem.position), col(AgendaItem.id))
            )
        ).all()
        for old, old_meeting in earlier:
            old.state, old.updated_at = CARRIED, now
            session.add(old)
            source = old.source or f"carried:{old.id}"
            if source in held:
                continue
            position += 1
            copy = new_item(
                meeting,
                position,
                now,
                old.created_by,
                kind=old.kind,
                source=source,
                title=old.title,
                text=old.text,
                by_council_id=old.by_council_id,
                carried_from=old_meeting.id,
            )
            session.add(copy)
            items.append(copy)
            held.add(source)
            added += 1
    window = await _window(
        session, meeting, council, ctx.tz, ctx.language, ctx.config.settings.results
    )
    for source in SOURCES:
        for candidate in await source(session, window):
            if candidate.source in held:
                continue
            position += 1
            item = new_item(
                meeting,
                position,
                now,
                "aarshjul",
                kind=candidate.kind,
                source=candidate.source,
                title=candidate.title[:MAX_TITLE],
                text=candidate.text,
            )
            session.add(item)
            items.append(item)
            held.add(candidate.source)
            added += 1
    if added:
        agenda.version += 1
        agenda.updated_at = now
        session.add(agenda)
        await session.flush()
    return items


async def _agenda_row(session: AsyncSession, ctx: AppContext, meeting: Meeting) -> Agenda:
    agenda = await session.scalar(select(Agenda).where(Agenda.meeting_id == meeting.id))
    if agenda is None:
        now = ctx.clock.now()
        agenda = Agenda(
            meeting_id=meeting.id or 0,
            council_id=meeting.council_id,
            version=0,
            created_at=now,
            updated_at=now,
        )
        session.add(agenda)
        await session.flush()
    return agenda


async def open_agenda(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    meeting_id: int | str,
    *,
    edit: bool = False,
    action: str = "agenda.show",
) -> AgendaView:
    """The meeting's agenda, assembled, under the meeting's row lock.

    ``edit``: the actor must be a secretary of the meeting's council; otherwise a member
    of it, or a secretary of its region, may read it.

    Raises:
        NotFoundError: no such meeting.
        PermissionDenied: the actor may not (one line naming the council).
    """
    meeting = await get_by_id(
        session, Meeting, meeting_id, errors="agenda.error.meeting", lock=True
    )
    council = await session.get(Council, meeting.council_id)
    assert council is not None
    if edit:
        await may_edit(session, actor, council, action)
    else:
        await may_read(session, actor, council, action)
    agenda = await _agenda_row(session, ctx, meeting)
    items = await _assemble(session, ctx, meeting, council, agenda)
    return await _view(session, meeting, council, agenda, items, ctx.tz, ctx.language)


async def stored_agenda(
    session: AsyncSession, meeting_id: int, tz: tzinfo, language: str
) -> AgendaView | None:
    """The agenda as stored, without assembling or locking (what a message shows when it
    goes out); None when the meeting has none."""
    meeting = await session.get(Meeting, meeting_id)
    agenda = await session.scalar(select(Agenda).where(Agenda.meeting_id == meeting_id))
    if meeting is None or agenda is None:
        return None
    council = await session.get(Council, meeting.council_id)
    assert council is not None
    items = await _items(session, meeting_id)
    return await _view(session, meeting, council, agenda, items, tz, language)


async def _view(
    session: AsyncSession,
    meeting: Meeting,
    council: Council,
    agenda: Agenda,
    items: list[AgendaItem],
    tz: tzinfo,
    language: str,
) -> AgendaView:
    listed = sorted((i for i in items if i.state in LISTED), key=lambda i: (i.position, i.id or 0))
    ids = {i.by_council_id for i in listed if i.by_council_id}
    named = {}
    for cid in ids:
        found = await session.get(Council, cid)
        if found is not None:
            named[cid] = found
    window = await _window(session, meeting, council, tz, language)
    return AgendaView(meeting, council, agenda, listed, window, named)
