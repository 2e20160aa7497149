"""Sending a meeting's agenda to its invitees, through the outbox.

One e-mail per invitee, and a Slack DM to invitees in Slack (with the bot's token),
each carrying the agenda as text and as a .docx. Rows are keyed by meeting, agenda
version and invitee: sending again without a change queues nothing; after a change,
the new version goes out and a still-waiting older one is skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.agendas.items import AgendaView, open_agenda
from bot.services.app import AppContext
from bot.services.hearings import Actor
from bot.services.reminders import slack_enabled
from scheduler.errors import InputError
from scheduler.planner import Kind, PlannedNotification
from storage import audit, outbox
from storage.models import MeetingInvitee, OutboxMessage, Person

MESSAGE_PREFIX = "agenda-msg:"


async def send_agenda(
    session: AsyncSession, ctx: AppContext, actor: Actor, meeting_id: int | str
) -> tuple[AgendaView, int]:
    """Queue the agenda for every invitee; returns the agenda and how many rows are new.

    Raises:
        InputError: the meeting is cancelled, or its agenda is empty.
        PermissionDenied: the actor is not a secretary of the meeting's council.
    """
    view = await open_agenda(session, ctx, actor, meeting_id, edit=True, action="agenda.send")
    meeting, agenda = view.meeting, view.agenda
    if meeting.state != "planned":
        raise user_error(InputError, "agenda.error.cancelled", meeting=meeting.id)
    if not view.items:
        raise user_error(InputError, "agenda.error.empty", meeting=meeting.id)
    now = ctx.clock.now()
    source = f"{MESSAGE_PREFIX}{meeting.id}"
    version = f"/v{agenda.version}/"
    older = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.key).where(
                OutboxMessage.source == source, col(OutboxMessage.state) == outbox.PENDING
            )
        )
    ).all()
    await outbox.skip(
        session,
        [row_id for row_id, key in older if version not in key],
        "superseded: the agenda changed",
        now=now,
    )
    invitees = list(
        (
            await session.execute(
                select(MeetingInvitee)
                .where(MeetingInvitee.meeting_id == meeting.id)
                .order_by(col(MeetingInvitee.id))
            )
        ).scalars()
    )
    ids = [i.person_id for i in invitees if i.person_id]
    people = {
        p.id: p
        for p in (await session.execute(select(Person).where(col(Person.id).in_(ids)))).scalars()
    }
    planned = []
    for invitee in invitees:
        person = people.get(invitee.person_id) if invitee.person_id else None
        language = (person.language if person else None) or ctx.language
        targets = [("email", invitee.email, invitee.email)]
        if person is not None and person.slack_id and slack_enabled(ctx):
            targets.append(("slack", person.slack_id, f"person:{person.id}"))
        for channel, address, who in targets:
            key = f"{source}/v{agenda.version}/{channel}/{who}"
            planned.append(
                PlannedNotification(
                    key=key,
                    group_key=key,
                    kind=Kind.NOTICE,
                    source=source,
                    council_id=meeting.council_id,
                    person_id=invitee.person_id,
                    channel=channel,
                    address=address,
                    language=language,
                    message="agenda.send",
                    params={
                        "meeting_id": meeting.id,
                        "version": agenda.version,
                        "title_da": meeting.title,
                        "title_en": meeting.title,
                    },
                    due_at=now,
                    expires_at=None,
                    # Sent by hand: it goes at once, quiet hours or not.
                    quiet=False,
                )
            )
    queued = await outbox.enqueue(session, planned, now=now)
    if queued:
        agenda.sent_version, agenda.sent_at, agenda.sent_by = agenda.version, now, actor.label
        session.add(agenda)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="agenda.sent",
        entity="agenda",
        entity_id=agenda.id,
        meeting=meeting.id,
        version=agenda.version,
        queued=queued,
        items=[i.title for i in view.items],
    )
    await session.flush()
    return view, queued


async def withdraw_agenda(session: AsyncSession, meeting_id: int, *, now: datetime) -> int:
    """Skip the agenda messages of a meeting still waiting (the meeting was cancelled)."""
    ids = (
        await session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.source == f"{MESSAGE_PREFIX}{meeting_id}",
                col(OutboxMessage.state) == outbox.PENDING,
            )
        )
    ).scalars()
    return await outbox.skip(session, list(ids), "withdrawn: the meeting was cancelled", now=now)
