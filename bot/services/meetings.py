"""Meetings (seminars, conferences, council meetings) and their calendar invitations.

Creating a meeting stores it and its invitees (the councils' members and chairs,
plus extra addresses); inviting queues one e-mail per invitee with an iTIP
REQUEST; a change raises SEQUENCE and queues the REQUEST again (a new day
clears the answers, so everyone is asked again); cancelling queues a CANCEL.
Every message is an outbox row, keyed by meeting, sequence and invitee, so it
is sent once however often the command is repeated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t, user_error
from bot.invites import CANCEL, REQUEST, Invitee, MeetingInvite, invitation
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.hearings import Actor, check_url, get_by_id, require_secretary
from bot.services.meeting_input import (
    MAX_AGENDA,
    MAX_LOCATION,
    MAX_TITLE,
    check_times,
    clean_field,
    new_times,
)
from bot.services.meeting_input import parse_local as parse_local  # re-exported: the CLI's import
from bot.services.meeting_reminders import MEETING_PROMPTS
from bot.services.members import valid_email
from bot.services.reminders import slack_enabled
from scheduler.errors import InputError
from scheduler.model import Role
from scheduler.planner import Kind, PlannedNotification
from storage import audit, outbox
from storage.models import Council, Meeting, MeetingInvitee, Membership, OutboxMessage, Person

PLANNED, CANCELLED = "planned", "cancelled"
RESPONSES = ("yes", "no", "maybe")
MESSAGE_PREFIX = "meeting-msg:"


@dataclass(frozen=True)
class MeetingDraft:
    council_keys: tuple[str, ...]
    title: str
    start: datetime
    end: datetime
    location: str | None = None
    url: str | None = None
    agenda: str = ""
    extra: tuple[str, ...] = ()
    cycle_event_id: int | None = None


@dataclass
class MeetingView:
    meeting: Meeting
    council: Council
    invitees: list[MeetingInvitee] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = {r: 0 for r in ("yes", "no", "maybe", "none")}
        for i in self.invitees:
            found[i.response if i.response in found else "none"] += 1
        return found


async def get_meeting(
    session: AsyncSession, meeting_id: int | str, *, lock: bool = False
) -> Meeting:
    """A meeting by its id; ``lock`` takes its row lock for a state change."""
    return await get_by_id(session, Meeting, meeting_id, errors="meeting.error", lock=lock)


async def create_meeting(
    session: AsyncSession, ctx: AppContext, actor: Actor, draft: MeetingDraft
) -> MeetingView:
    """Store the meeting and who is invited; nothing is sent until :func:`invite`."""
    if not draft.council_keys:
        raise user_error(InputError, "meeting.error.no_council")
    councils = [await get_council(session, key) for key in dict.fromkeys(draft.council_keys)]
    for council in councils:
        await require_secretary(session, actor, council, "meeting.create")
    title = clean_field(draft.title, "title", MAX_TITLE)
    if not title:
        raise user_error(InputError, "meeting.error.no_title")
    check_times(ctx, draft.start, draft.end)
    location = clean_field(draft.location, "location", MAX_LOCATION) or None
    agenda = clean_field(draft.agenda, "agenda", MAX_AGENDA, multiline=True)
    url = check_url(draft.url)
    extra = []
    for address in draft.extra:
        address = address.strip().lower()
        if not valid_email(address):
            raise user_error(InputError, "meeting.error.bad_email", value=address[:80])
        extra.append(address)
    now = ctx.clock.now()
    meeting = Meeting(
        uid=f"meeting-{uuid.uuid4().hex}@aarshjul",
        council_id=councils[0].id or 0,
        title=title,
        start_at=draft.start,
        end_at=draft.end,
        location=location,
        url=url,
        agenda=agenda,
        state=PLANNED,
        cycle_event_id=draft.cycle_event_id,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(meeting)
    await session.flush()
    rows = await session.execute(
        select(Person)
        .join(Membership, col(Membership.person_id) == Person.id)
        .where(
            col(Membership.council_id).in_([c.id for c in councils]),
            col(Membership.role).in_([Role.MEMBER, Role.CHAIR]),
        )
        .order_by(col(Person.name), col(Person.id))
    )
    invited: dict[str, MeetingInvitee] = {}
    for person in rows.scalars():
        invited.setdefault(
            person.email,
            MeetingInvitee(
                meeting_id=meeting.id or 0,
                person_id=person.id,
                email=person.email,
                name=person.name,
            ),
        )
    for address in extra:
        invited.setdefault(
            address, MeetingInvitee(meeting_id=meeting.id or 0, email=address, name=address)
        )
    if not invited:
        raise user_error(InputError, "meeting.error.nobody")
    session.add_all(invited.values())
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="meeting.created",
        entity="meeting",
        entity_id=meeting.id,
        councils=[c.key for c in councils],
        title=title,
        start=draft.start,
        end=draft.end,
        invitees=len(invited),
    )
    await session.flush()
    if draft.cycle_event_id is not None:
        # The cycle's prompt to create this meeting is answered: withdraw it (only it).
        await MEETING_PROMPTS.withdraw(session, ctx, draft.cycle_event_id)
    return await meeting_view(session, meeting.id or 0)


async def meeting_view(
    session: AsyncSession, meeting_id: int | str, *, lock: bool = False
) -> MeetingView:
    """The meeting, its council and invitees. A state change (invite, update, cancel,
    an answer) passes ``lock``: the meeting's row lock comes first and its state is
    read under it, so an update and a cancel, or an answer and a cancel, never
    interleave (a cancelled meeting is never updated, nor answered)."""
    meeting = await get_meeting(session, meeting_id, lock=lock)
    council = await session.get(Council, meeting.council_id)
    assert council is not None
    invitees = list(
        (
            await session.execute(
                select(MeetingInvitee)
                .where(MeetingInvitee.meeting_id == meeting.id)
                .order_by(col(MeetingInvitee.name), col(MeetingInvitee.id))
            )
        ).scalars()
    )
    return MeetingView(meeting, council, invitees)


async def _queue(session: AsyncSession, ctx: AppContext, view: MeetingView, method: str) -> int:
    """One e-mail per invitee for the meeting's current sequence; earlier ones still
    waiting are skipped (the newer message replaces them). A CANCEL goes only to those
    an invitation reached."""
    meeting = view.meeting
    now = ctx.clock.now()
    source = f"{MESSAGE_PREFIX}{meeting.id}"
    older = (
        await session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.source == source, col(OutboxMessage.state) == outbox.PENDING
            )
        )
    ).scalars()
    await outbox.skip(session, list(older), "superseded: the meeting changed again", now=now)
    # A cancellation goes only where an invitation may have arrived: to someone whose
    # every invitation was withdrawn before it went out, it would announce a meeting
    # they never heard of.
    reached = await _reached(session, source) if method == CANCEL else None
    people = {
        p.id: p
        for p in (
            await session.execute(
                select(Person).where(
                    col(Person.id).in_([i.person_id for i in view.invitees if i.person_id])
                )
            )
        ).scalars()
    }
    planned = []
    for invitee in view.invitees:
        person = people.get(invitee.person_id) if invitee.person_id else None
        language = (person.language if person else None) or ctx.language
        # The calendar invitation by e-mail to everyone; members in Slack also get
        # a DM with the Deltager / Deltager ikke / Måske buttons.
        targets = [("email", invitee.email, invitee.email)]
        if person is not None and person.slack_id and slack_enabled(ctx):
            targets.append(("slack", person.slack_id, f"person:{person.id}"))
        for channel, address, who in targets:
            if reached is not None and (channel, who) not in reached:
                continue
            key = f"{source}/s{meeting.sequence}/{method.lower()}/{channel}/{who}"
            planned.append(
                _row(meeting, source, key, channel, address, language, invitee, method, now)
            )
    meeting.sent_sequence = meeting.sequence
    session.add(meeting)
    return await outbox.enqueue(session, planned, now=now)


async def _reached(session: AsyncSession, source: str) -> set[tuple[str, str]]:
    """(channel, who) of every invitation of this meeting that was sent, or may have
    been (``sending``: its worker may have delivered it before it died)."""
    keys = (
        await session.execute(
            select(OutboxMessage.key).where(
                OutboxMessage.source == source,
                col(OutboxMessage.state).in_([outbox.SENT, outbox.SENDING]),
                col(OutboxMessage.key).contains(f"/{REQUEST.lower()}/", autoescape=True),
            )
        )
    ).scalars()
    # Keys are {source}/s{sequence}/{method}/{channel}/{who}.
    return {(parts[3], parts[4]) for parts in (k.split("/", 4) for k in keys) if len(parts) == 5}


def _row(
    meeting: Meeting,
    source: str,
    key: str,
    channel: str,
    address: str,
    language: str,
    invitee: MeetingInvitee,
    method: str,
    now: datetime,
) -> PlannedNotification:
    return PlannedNotification(
        key=key,
        group_key=key,
        kind=Kind.NOTICE,
        source=source,
        council_id=meeting.council_id,
        person_id=invitee.person_id,
        channel=channel,
        address=address,
        language=language,
        message=f"meeting.{method.lower()}",
        params={
            "meeting_id": meeting.id,
            "sequence": meeting.sequence,
            "title_da": meeting.title,
            "title_en": meeting.title,
        },
        due_at=now,
        expires_at=None,
        quiet=False,
    )


async def invite(
    session: AsyncSession, ctx: AppContext, actor: Actor, meeting_id: int | str
) -> tuple[MeetingView, int]:
    """Send the invitations (again only to those not yet sent this version)."""
    view = await meeting_view(session, meeting_id, lock=True)
    await require_secretary(session, actor, view.council, "meeting.invite")
    if view.meeting.state == CANCELLED:
        raise user_error(InputError, "meeting.error.cancelled", id=view.meeting.id)
    queued = await _queue(session, ctx, view, REQUEST)
    audit.record(
        session,
        at=ctx.clock.now(),
        actor=actor.label,
        action="meeting.invited",
        entity="meeting",
        entity_id=view.meeting.id,
        sequence=view.meeting.sequence,
        queued=queued,
    )
    await session.flush()
    return view, queued


async def update_meeting(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    meeting_id: int | str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    location: str | None = None,
) -> tuple[MeetingView, int]:
    """Change time or place: SEQUENCE + 1, and the update goes to those invited."""
    view = await meeting_view(session, meeting_id, lock=True)
    meeting = view.meeting
    await require_secretary(session, actor, view.council, "meeting.update")
    if meeting.state == CANCELLED:
        raise user_error(InputError, "meeting.error.cancelled", id=meeting.id)
    new_start, new_end = new_times(meeting, start, end)
    new_location = clean_field(location, "location", MAX_LOCATION) if location is not None else None
    if (new_start, new_end) != (meeting.start_at, meeting.end_at):
        check_times(ctx, new_start, new_end)
    changed = (new_start, new_end) != (meeting.start_at, meeting.end_at) or (
        new_location is not None and new_location != (meeting.location or "")
    )
    if not changed:
        raise user_error(InputError, "meeting.error.nothing_changed")
    now = ctx.clock.now()
    old_day = meeting.start_at.astimezone(ctx.tz).date()
    old = {"start": meeting.start_at, "end": meeting.end_at, "location": meeting.location}
    meeting.start_at, meeting.end_at = new_start, new_end
    if new_location is not None:
        meeting.location = new_location or None
    meeting.sequence += 1
    meeting.updated_at = now
    if new_start.astimezone(ctx.tz).date() != old_day:
        # Another day: earlier answers say nothing about it; everyone is asked again,
        # and a calendar answer to an earlier invitation no longer counts.
        meeting.answers_sequence = meeting.sequence
        for invitee in view.invitees:
            invitee.response, invitee.responded_at, invitee.source = "none", None, None
            session.add(invitee)
    session.add(meeting)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="meeting.updated",
        entity="meeting",
        entity_id=meeting.id,
        old=old,
        new={"start": new_start, "end": new_end, "location": meeting.location},
        sequence=meeting.sequence,
    )
    queued = await _queue(session, ctx, view, REQUEST) if meeting.sent_sequence is not None else 0
    await session.flush()
    return view, queued


async def cancel_meeting(
    session: AsyncSession, ctx: AppContext, actor: Actor, meeting_id: int | str
) -> tuple[MeetingView, int]:
    view = await meeting_view(session, meeting_id, lock=True)
    meeting = view.meeting
    await require_secretary(session, actor, view.council, "meeting.cancel")
    if meeting.state == CANCELLED:
        raise user_error(InputError, "meeting.error.cancelled", id=meeting.id)
    now = ctx.clock.now()
    meeting.state = CANCELLED
    meeting.sequence += 1
    meeting.updated_at = now
    session.add(meeting)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="meeting.cancelled",
        entity="meeting",
        entity_id=meeting.id,
        sequence=meeting.sequence,
    )
    queued = await _queue(session, ctx, view, CANCEL) if meeting.sent_sequence is not None else 0
    # An agenda still waiting to go out is withdrawn with the meeting.
    from bot.services.agendas.sending import withdraw_agenda

    await withdraw_agenda(session, meeting.id or 0, now=now)
    await session.flush()
    return view, queued


async def record_response(
    session: AsyncSession, ctx: AppContext, meeting_id: int | str, person: Person, response: str
) -> MeetingInvitee:
    """A member's answer (Deltager / Deltager ikke / Måske)."""
    if response not in RESPONSES:
        raise user_error(InputError, "meeting.error.bad_response", value=response[:20])
    view = await meeting_view(session, meeting_id, lock=True)
    mine = next((i for i in view.invitees if i.person_id == person.id), None)
    if mine is None:
        raise user_error(InputError, "meeting.error.not_invited", id=view.meeting.id)
    if view.meeting.state == CANCELLED:
        raise user_error(InputError, "meeting.error.cancelled", id=view.meeting.id)
    if (mine.response, mine.source) != (response, "slack"):
        mine.response, mine.source = response, "slack"
        mine.responded_at = ctx.clock.now()
        session.add(mine)
        audit.record(
            session,
            at=ctx.clock.now(),
            actor=f"person:{person.id}",
            action="meeting.answered",
            entity="meeting",
            entity_id=view.meeting.id,
            response=response,
            source="slack",
        )
        await session.flush()
    return mine


def meeting_invite(
    meeting: Meeting, council: Council, language: str, *, tz: tzinfo, sender: str
) -> MeetingInvite:
    """The calendar's view of a meeting, in the reader's language; the organiser is
    the mailbox the invitations are sent from, so calendar answers reach it."""
    return MeetingInvite(
        uid=meeting.uid,
        sequence=meeting.sequence,
        title=meeting.title,
        start=meeting.start_at.astimezone(tz),
        end=meeting.end_at.astimezone(tz),
        location=meeting.location,
        url=meeting.url,
        description=meeting_text(meeting, language, tz, with_title=False),
        organiser=Invitee(t(language, "meeting.organiser", council=council.name), sender),
        alarm_day_before=t(language, "meeting.alarm.day", title=meeting.title),
        alarm_hour_before=t(language, "meeting.alarm.hour", title=meeting.title),
    )


def meeting_text(meeting: Meeting, language: str, tz: tzinfo, *, with_title: bool = True) -> str:
    """Date with weekday, time, place or link, and the agenda: what every message carries."""
    start = meeting.start_at.astimezone(tz)
    end = meeting.end_at.astimezone(tz)
    lines = []
    if with_title:
        lines.append(meeting.title)
    lines.append(
        t(
            language,
            "meeting.when",
            date=format_date(start.date(), language, long=True),
            start=f"{start:%H:%M}",
            end=f"{end:%H:%M}",
        )
    )
    if meeting.location:
        lines.append(t(language, "meeting.where", location=meeting.location))
    if meeting.url:
        lines.append(t(language, "meeting.link", url=meeting.url))
    if meeting.agenda:
        lines += ["", t(language, "meeting.agenda"), meeting.agenda]
    return "\n".join(lines)


def meeting_calendar(
    view: MeetingView,
    attendees: list[Invitee],
    language: str,
    *,
    tz: tzinfo,
    tzid: str,
    sender: str,
    now: datetime,
) -> bytes:
    """The current invitation (REQUEST, or CANCEL once cancelled)."""
    method = CANCEL if view.meeting.state == CANCELLED else REQUEST
    return invitation(
        meeting_invite(view.meeting, view.council, language, tz=tz, sender=sender),
        attendees,
        method=method,
        stamp=now,
        tzid=tzid,
    )


def current_calendar(ctx: AppContext, view: MeetingView) -> bytes:
    """``seminar ics``: the current invitation with every invitee as ATTENDEE."""
    return meeting_calendar(
        view,
        [Invitee(i.name, i.email) for i in view.invitees],
        ctx.language,
        tz=ctx.tz,
        tzid=ctx.config.settings.general.timezone,
        sender=ctx.config.settings.email.sender,
        now=ctx.clock.now(),
    )
