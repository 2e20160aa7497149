"""The secretariat's changes to an agenda: add an item, move, drop, mark done.

Each takes the meeting's row lock and assembles the agenda first (through
:func:`bot.services.agendas.items.open_agenda`), so it acts on the agenda as it
stands, numbered as ``agenda show`` lists it; each change raises the agenda's
version (a sent agenda is then sent again as the new version) and is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.agendas.items import (
    DONE,
    DROPPED,
    AgendaView,
    clean_body,
    clean_title,
    new_item,
    next_meeting,
    open_agenda,
)
from bot.services.agendas.rights import may_remark
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.hearings import Actor, get_by_id
from scheduler.errors import InputError
from storage import audit
from storage.models import AgendaItem, Council, Meeting


def _renumber(view: AgendaView, now: datetime, session: AsyncSession) -> None:
    for n, item in enumerate(view.items, start=1):
        if item.position != n:
            item.position, item.updated_at = n, now
            session.add(item)


def _changed(session: AsyncSession, view: AgendaView, now: datetime) -> None:
    view.agenda.version += 1
    view.agenda.updated_at = now
    session.add(view.agenda)


async def add_item(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    *,
    title: str,
    text: str | None = None,
    council_key: str | None = None,
    meeting_id: int | str | None = None,
) -> tuple[AgendaItem, Meeting | None]:
    """Add an item typed by a secretariat.

    With ``council_key`` it is for that council's next meeting (waiting, with no
    meeting, until one is planned). It is the region's remark when the region's
    secretariat adds it (a Slack user who is secretary of the council's RBR and not of
    the council itself; on the command line, any item added with ``council_key`` to a
    council that has a region), else an ordinary item. With ``meeting_id`` it goes on
    that meeting's agenda, at the end.

    Returns:
        The item and the meeting it is on (None while it waits).
    """
    if (council_key is None) == (meeting_id is None):
        raise user_error(InputError, "agenda.error.council_or_meeting")
    title = clean_title(title)
    body = clean_body(text)
    now = ctx.clock.now()
    meeting: Meeting | None
    if meeting_id is not None:
        meeting = await get_by_id(session, Meeting, meeting_id, errors="agenda.error.meeting")
        council = await session.get(Council, meeting.council_id)
        assert council is not None
    else:
        council = await get_council(session, council_key or "")
        meeting = None
    as_region = await may_remark(session, actor, council, "agenda.add")
    if actor.trusted:
        as_region = council_key is not None and council.region_id is not None
    if meeting is None:
        meeting = await next_meeting(session, council.id or 0, now)
    elif meeting.state != "planned":
        raise user_error(InputError, "agenda.error.cancelled", meeting=meeting.id)
    elif meeting.start_at <= now:
        raise user_error(InputError, "agenda.error.passed", meeting=meeting.id)
    kind = "remark" if as_region else "item"
    by = council.region_id if as_region else council.id
    item: AgendaItem
    if meeting is None:
        item = AgendaItem(
            council_id=council.id or 0,
            meeting_id=None,
            kind=kind,
            title=title,
            text=body,
            by_council_id=by,
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
        await session.flush()
    else:
        view = await open_agenda(session, ctx, Actor("aarshjul"), meeting.id or 0)
        item = new_item(
            view.meeting,
            max((i.position for i in view.items), default=0) + 1,
            now,
            actor.label,
            kind=kind,
            title=title,
            text=body,
            by_council_id=by,
        )
        session.add(item)
        _changed(session, view, now)
        await session.flush()
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="agenda.item_added",
        entity="agenda_item",
        entity_id=item.id,
        council=council.key,
        meeting=item.meeting_id,
        kind=kind,
        title=title,
    )
    return item, meeting


async def move_item(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    meeting_id: int | str,
    number: int | str,
    to: int | str,
) -> AgendaView:
    """Move item ``number`` to position ``to`` (both as ``agenda show`` numbers them)."""
    view = await open_agenda(session, ctx, actor, meeting_id, edit=True, action="agenda.move")
    item = view.item(number)
    target = view.item(to)
    old, new = view.items.index(item), view.items.index(target)
    if old != new:
        now = ctx.clock.now()
        view.items.insert(new, view.items.pop(old))
        _renumber(view, now, session)
        _changed(session, view, now)
        audit.record(
            session,
            at=now,
            actor=actor.label,
            action="agenda.item_moved",
            entity="agenda_item",
            entity_id=item.id,
            meeting=view.meeting.id,
            old=old + 1,
            new=new + 1,
        )
        await session.flush()
    return view


async def _set_state(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    meeting_id: int | str,
    number: int | str,
    state: str,
) -> tuple[AgendaItem, AgendaView]:
    view = await open_agenda(session, ctx, actor, meeting_id, edit=True, action=f"agenda.{state}")
    item = view.item(number)
    if item.state == state:
        raise user_error(InputError, f"agenda.error.already.{state}", number=number)
    now = ctx.clock.now()
    item.state, item.updated_at = state, now
    if state == DONE:
        item.done_by, item.done_at = actor.label, now
    session.add(item)
    if state == DROPPED:
        view.items.remove(item)
        _renumber(view, now, session)
    _changed(session, view, now)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action=f"agenda.item_{state}",
        entity="agenda_item",
        entity_id=item.id,
        meeting=view.meeting.id,
        title=item.title,
    )
    await session.flush()
    return item, view


async def drop_item(
    session: AsyncSession, ctx: AppContext, actor: Actor, meeting_id: int | str, number: int | str
) -> tuple[AgendaItem, AgendaView]:
    """Take item ``number`` off the agenda (kept as ``dropped``: it does not come back)."""
    return await _set_state(session, ctx, actor, meeting_id, number, DROPPED)


async def done_item(
    session: AsyncSession, ctx: AppContext, actor: Actor, meeting_id: int | str, number: int | str
) -> tuple[AgendaItem, AgendaView]:
    """Mark item ``number`` dealt with; an item not marked carries over to the next meeting."""
    return await _set_state(session, ctx, actor, meeting_id, number, DONE)
