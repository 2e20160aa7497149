"""Hearings (*høringer*): open, answer, chase, close and compile.

Every use case takes a session and an :class:`Actor` and is called the same
way by the Slack handlers and the CLI. Authorisation lives here, not in the
handlers: only a secretary of the council opens, moves or closes a hearing,
and only someone heard in it (or their substitute) answers. Each change
re-plans the council's reminders in the same transaction, so a member who
answers stops being reminded the moment the answer is stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import closed_day_text, format_date, t, user_error, weekday_name
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.reminders import (
    load_audiences,
    person_recipients,
    send_window,
    sync_reminders,
)
from scheduler.errors import InputError, NotFoundError, PermissionDenied
from scheduler.model import Role
from scheduler.planner import (
    Kind,
    PlannedNotification,
    Recipient,
)
from storage import audit, outbox
from storage.models import (
    Absence,
    Council,
    Hearing,
    HearingAnswer,
    HearingInvitee,
    Membership,
    Person,
)

log = logging.getLogger("aarshjul.hearings")
T = TypeVar("T")

OPEN, CLOSED = "open", "closed"
SUBJECTS = ("employment_plan", "result_review", "other")
#: The positions a member can take, in the order the compilation lists them.
POSITIONS = ("support", "support_with_remarks", "object", "no_remarks", "text")
#: Positions the modal offers ("text" is an answer typed with /hearing reply).
MODAL_POSITIONS = POSITIONS[:4]
BEHALF = ("own", "organisation")
#: Slack caps a plain-text input at 3,000 characters; answers by text obey the same.
MAX_REMARKS = 3000
MAX_TITLE = 200
MAX_URL = 1000
#: Outbox sources of the messages a hearing sends once (not re-planned).
MESSAGE_PREFIX = "hearing-msg:"
_URL = re.compile(r"^https?://[^\s<>|]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_POSITION_WORDS = {
    "støtter": "support",
    "support": "support",
    "bemærkninger": "support_with_remarks",
    "remarks": "support_with_remarks",
    "imod": "object",
    "object": "object",
    "indsigelse": "object",
    "ingen": "no_remarks",
    "none": "no_remarks",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person known to aarshjul (Slack), or the command line.

    The command line runs on the server with the database's credentials, so it
    acts with the secretariat's rights; ``label`` names it in the audit log.
    """

    label: str
    person: Person | None = None

    @property
    def trusted(self) -> bool:
        return self.person is None


def _clean_text(value: str, key: str, limit: int) -> str:
    value = (value or "").strip()
    if _CONTROL.search(value):
        raise user_error(InputError, "hearing.error.control", field=key)
    if len(value) > limit:
        raise user_error(InputError, "hearing.error.too_long", limit=limit, length=len(value))
    return value


def check_url(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_URL or not _URL.match(value):
        raise user_error(InputError, "hearing.error.bad_url", value=value[:80])
    return value


def deadline_end(ctx: AppContext, day: date) -> datetime:
    """The end of the deadline day, local time: answers after this are late."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ctx.tz).astimezone(UTC)


async def _role(session: AsyncSession, person_id: int | None, council_id: int) -> str | None:
    if person_id is None:
        return None
    return await session.scalar(
        select(Membership.role).where(
            Membership.person_id == person_id, Membership.council_id == council_id
        )
    )


async def require_secretary(
    session: AsyncSession, actor: Actor, council: Council, action: str
) -> None:
    """Refuse (and log the refusal) unless ``actor`` is a secretary of ``council``."""
    if actor.trusted:
        return
    assert actor.person is not None
    if await _role(session, actor.person.id, council.id or 0) == Role.SECRETARY:
        return
    log_event(
        log,
        "refused",
        logging.WARNING,
        action=action,
        actor=actor.label,
        council=council.key,
        why="not a secretary of the council",
    )
    raise user_error(PermissionDenied, "hearing.error.not_secretary", council=council.name)


async def get_by_id(session: AsyncSession, model: type[T], value: int | str, *, errors: str) -> T:
    """A row by the id a person typed (``12`` or ``#12``); ``errors`` is the catalogue
    prefix of the two refusals, ``….bad_id`` and ``….unknown``."""
    try:
        number = int(str(value).strip().lstrip("#"))
    except ValueError:
        raise user_error(InputError, f"{errors}.bad_id", value=str(value)[:40]) from None
    found = await session.get(model, number) if 0 < number < 2**31 else None
    if found is None:
        raise user_error(NotFoundError, f"{errors}.unknown", id=number)
    return found


async def get_hearing(session: AsyncSession, hearing_id: int | str) -> Hearing:
    return await get_by_id(session, Hearing, hearing_id, errors="hearing.error")


# --- opening ----------------------------------------------------------------------


@dataclass(frozen=True)
class HearingDraft:
    """What a secretary asks for; checked by :func:`check_draft` before anything is stored."""

    council_key: str
    title: str
    deadline: date
    subject: str = "other"
    document_url: str | None = None
    #: Slack user ids or person ids to hear; the council's members when empty.
    invitee_ids: tuple[int, ...] = ()
    cycle_event_id: int | None = None


@dataclass
class OpenResult:
    hearing: Hearing
    council: Council
    created: bool
    warnings: list[str] = field(default_factory=list)
    invitees: int = 0


def hearing_warnings(ctx: AppContext, deadline: date, language: str) -> list[str]:
    """Why a secretary may want to think again: too short, or over July or Christmas."""
    today = ctx.today()
    minimum = ctx.config.settings.reminders.min_hearing_days
    found = []
    if not ctx.calendar.is_working_day(deadline):
        why = closed_day_text(ctx.calendar, deadline, language) or weekday_name(deadline, language)
        found.append(
            t(
                language,
                "hearing.warn.closed_day",
                why=why,
                before=format_date(ctx.calendar.previous_working_day(deadline), language),
            )
        )
    days = (deadline - today).days
    if days < minimum:
        found.append(t(language, "hearing.warn.short", days=days, minimum=minimum))
    for year in {today.year, deadline.year}:
        if today <= date(year, 7, 31) and deadline >= date(year, 7, 1):
            found.append(t(language, "hearing.warn.july"))
            break
    for year in {today.year - 1, today.year, deadline.year}:
        # Christmas: 24 December to 1 January.
        if today <= date(year + 1, 1, 1) and deadline >= date(year, 12, 24):
            found.append(t(language, "hearing.warn.christmas"))
            break
    return found


async def check_draft(
    session: AsyncSession, ctx: AppContext, actor: Actor, draft: HearingDraft
) -> tuple[Council, HearingDraft]:
    council = await get_council(session, draft.council_key)
    await require_secretary(session, actor, council, "hearing.open")
    title = _clean_text(draft.title, "title", MAX_TITLE)
    if not title:
        raise user_error(InputError, "hearing.error.no_title")
    if draft.subject not in SUBJECTS:
        raise user_error(
            InputError, "hearing.error.bad_subject", value=draft.subject, known=", ".join(SUBJECTS)
        )
    if draft.deadline <= ctx.today():
        raise user_error(InputError, "hearing.error.past_deadline", date=draft.deadline.isoformat())
    if draft.deadline > ctx.today() + timedelta(days=366):
        raise user_error(InputError, "hearing.error.far_deadline", date=draft.deadline.isoformat())
    url = check_url(draft.document_url)
    return council, HearingDraft(
        council.key,
        title,
        draft.deadline,
        draft.subject,
        url,
        draft.invitee_ids,
        draft.cycle_event_id,
    )


async def open_hearing(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    draft: HearingDraft,
    *,
    request_key: str | None = None,
) -> OpenResult:
    """Store the hearing, its invitees, the announcement and the DMs, in one transaction.

    A repeated ``request_key`` (Slack re-sending the same submission) returns the
    hearing it opened the first time and sends nothing again.
    """
    if request_key:
        existing = await session.scalar(select(Hearing).where(Hearing.request_key == request_key))
        if existing is not None:
            council = await session.get(Council, existing.council_id)
            assert council is not None
            return OpenResult(existing, council, created=False)
    council, draft = await check_draft(session, ctx, actor, draft)
    now = ctx.clock.now()
    members = (
        await session.execute(
            select(Membership.person_id).where(
                Membership.council_id == council.id,
                col(Membership.role).in_([Role.MEMBER, Role.CHAIR]),
            )
        )
    ).scalars()
    invitees = list(draft.invitee_ids) or list(members)
    if not invitees:
        raise user_error(InputError, "hearing.error.no_members", council=council.name)
    hearing = Hearing(
        council_id=council.id or 0,
        title=draft.title,
        subject=draft.subject,
        document_url=draft.document_url,
        deadline=draft.deadline,
        state=OPEN,
        cycle_event_id=draft.cycle_event_id,
        request_key=request_key,
        opened_by=actor.label,
        opened_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(hearing)
    await session.flush()
    assert hearing.id is not None
    for person_id in dict.fromkeys(invitees):
        session.add(HearingInvitee(hearing_id=hearing.id, person_id=person_id))
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.opened",
        entity="hearing",
        entity_id=hearing.id,
        council=council.key,
        title=hearing.title,
        subject=hearing.subject,
        deadline=hearing.deadline,
        document=hearing.document_url,
        invitees=len(invitees),
    )
    await session.flush()
    await _enqueue_opening(session, ctx, hearing, council)
    await sync_reminders(session, ctx, [council.id or 0])
    return OpenResult(
        hearing,
        council,
        created=True,
        warnings=hearing_warnings(ctx, hearing.deadline, ctx.language),
        invitees=len(invitees),
    )


def _message(
    source: str,
    name: str,
    recipient: Recipient,
    hearing: Hearing,
    council: Council,
    due: datetime,
    *,
    slot: str,
) -> PlannedNotification:
    key = f"{source}/{slot}/{recipient.channel}/{recipient.who}"
    return PlannedNotification(
        key=key,
        group_key=key,
        kind=Kind.NOTICE,
        source=source,
        council_id=council.id,
        person_id=recipient.person_id,
        channel=recipient.channel,
        address=recipient.address,
        language=recipient.language,
        message=name,
        params={
            "hearing_id": hearing.id,
            "council": council.name,
            "title_da": f"Høring: {hearing.title}",
            "title_en": f"Hearing: {hearing.title}",
        },
        due_at=due,
        expires_at=None,
        quiet=False,
    )


async def _enqueue_opening(
    session: AsyncSession, ctx: AppContext, hearing: Hearing, council: Council
) -> None:
    """The announcement in the council's channel and a DM (or e-mail) to each invitee."""
    now = ctx.clock.now()
    source = f"{MESSAGE_PREFIX}{hearing.id}"
    audience = (await load_audiences(session, ctx, [council.id or 0]))[council.id or 0]
    planned = [
        _message(source, "hearing.announce", r, hearing, council, now, slot="announce")
        for r in audience.channel
    ]
    for recipient in await asked(session, ctx, hearing):
        planned.append(
            _message(source, "hearing.invite", recipient, hearing, council, now, slot="invite")
        )
    await outbox.enqueue(session, planned, now=now)


# --- who is asked -----------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One invitee of a hearing, their answer, and who stands in for them today."""

    person: Person
    organisation: str | None
    answer: HearingAnswer | None
    substitute: Person | None


async def seats(session: AsyncSession, hearing: Hearing, today: date) -> list[Seat]:
    """The invitees in name order, with their answers and today's substitutes."""
    rows = await session.execute(
        select(Person, Membership.organisation)
        .join(HearingInvitee, col(HearingInvitee.person_id) == Person.id)
        .outerjoin(
            Membership,
            (col(Membership.person_id) == Person.id)
            & (col(Membership.council_id) == hearing.council_id),
        )
        .where(HearingInvitee.hearing_id == hearing.id)
        .order_by(col(Person.name), col(Person.id))
    )
    people = list(rows.all())
    answers = {
        a.person_id: a
        for a in (
            await session.execute(
                select(HearingAnswer).where(HearingAnswer.hearing_id == hearing.id)
            )
        ).scalars()
    }
    ids = [p.id for p, _ in people]
    absences = (
        await session.execute(
            select(Absence, Person)
            .join(Person, col(Person.id) == Absence.substitute_id)
            .where(
                col(Absence.person_id).in_(ids),
                col(Absence.start) <= today,
                col(Absence.end) >= today,
            )
            .order_by(col(Absence.id))
        )
    ).all()
    substitutes = {a.person_id: p for a, p in absences}
    return [
        Seat(person, org, answers.get(person.id or 0), substitutes.get(person.id or 0))
        for person, org in people
    ]


async def asked(session: AsyncSession, ctx: AppContext, hearing: Hearing) -> list[Recipient]:
    """Where to ask those who have not answered: each, or their substitute when away."""
    found: list[Recipient] = []
    for seat in await seats(session, hearing, ctx.today()):
        if seat.answer is not None:
            continue
        whom = seat.substitute or seat.person
        for r in person_recipients(whom, ctx):
            # The seat is the key: a substitute replaces the member's reminders.
            found.append(
                Recipient(f"person:{seat.person.id}", r.channel, r.address, r.language, whom.id)
            )
    return found


# --- answering --------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    position: str
    remarks: str = ""
    link: str | None = None
    behalf: str = "own"


@dataclass
class AnswerResult:
    hearing: Hearing
    answer: HearingAnswer
    #: False when the same answer was already stored (a re-sent request).
    changed: bool
    #: The invitee whose seat answered (the responder, or the member they stand in for).
    seat: Person


def parse_text_answer(text: str) -> AnswerInput:
    """``/hearing reply ID [støtter|imod|bemærkninger|ingen:] text``."""
    text = (text or "").strip()
    first, _, rest = text.partition(" ")
    position = _POSITION_WORDS.get(first.rstrip(":").lower())
    if position:
        return AnswerInput(position=position, remarks=rest.strip())
    return AnswerInput(position="text", remarks=text)


def check_answer(answer: AnswerInput) -> AnswerInput:
    if answer.position not in POSITIONS:
        raise user_error(InputError, "hearing.error.bad_position", value=answer.position)
    remarks = (answer.remarks or "").strip()
    if len(remarks) > MAX_REMARKS:
        raise user_error(
            InputError, "hearing.error.too_long", limit=MAX_REMARKS, length=len(remarks)
        )
    if _CONTROL.search(remarks.replace("\t", " ")):
        raise user_error(InputError, "hearing.error.control", field="remarks")
    if answer.position in ("text", "support_with_remarks", "object") and not remarks:
        raise user_error(InputError, "hearing.error.empty_answer")
    if answer.behalf not in BEHALF:
        raise user_error(InputError, "hearing.error.bad_behalf", value=answer.behalf)
    return AnswerInput(answer.position, remarks, check_url(answer.link), answer.behalf)


async def _seat_for(
    session: AsyncSession, ctx: AppContext, hearing: Hearing, responder: Person, council: Council
) -> Person:
    """The invitee ``responder`` answers for: themselves, or a member they substitute."""
    invited = await session.scalar(
        select(HearingInvitee.id).where(
            HearingInvitee.hearing_id == hearing.id, HearingInvitee.person_id == responder.id
        )
    )
    if invited:
        return responder
    today = ctx.today()
    stand_in = await session.scalar(
        select(Person)
        .join(Absence, col(Absence.person_id) == Person.id)
        .join(HearingInvitee, col(HearingInvitee.person_id) == Person.id)
        .where(
            HearingInvitee.hearing_id == hearing.id,
            Absence.substitute_id == responder.id,
            col(Absence.start) <= today,
            col(Absence.end) >= today,
        )
    )
    if stand_in is not None:
        return stand_in
    log_event(
        log,
        "refused",
        logging.WARNING,
        action="hearing.answer",
        actor=f"person:{responder.id}",
        hearing=hearing.id,
        council=council.key,
        why="not heard in this hearing",
    )
    raise user_error(
        PermissionDenied, "hearing.error.not_heard", id=hearing.id, council=council.name
    )


async def record_answer(
    session: AsyncSession,
    ctx: AppContext,
    hearing_id: int | str,
    responder: Person,
    given: AnswerInput,
) -> AnswerResult:
    """Store (or change) an answer; after the deadline it is kept but marked late."""
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    seat = await _seat_for(session, ctx, hearing, responder, council)
    if hearing.state != OPEN:
        raise user_error(InputError, "hearing.error.closed", id=hearing.id, title=hearing.title)
    given = check_answer(given)
    now = ctx.clock.now()
    late = now >= deadline_end(ctx, hearing.deadline)
    organisation = await session.scalar(
        select(Membership.organisation).where(
            Membership.person_id == seat.id, Membership.council_id == council.id
        )
    )
    current = await session.scalar(
        select(HearingAnswer).where(
            HearingAnswer.hearing_id == hearing.id, HearingAnswer.person_id == seat.id
        )
    )
    if current is not None and (
        current.position,
        current.remarks,
        current.link,
        current.behalf,
    ) == (given.position, given.remarks, given.link, given.behalf):
        return AnswerResult(hearing, current, changed=False, seat=seat)
    if current is None:
        current = HearingAnswer(
            hearing_id=hearing.id or 0,
            person_id=seat.id or 0,
            answered_by_id=responder.id or 0,
            position=given.position,
            remarks=given.remarks,
            link=given.link,
            behalf=given.behalf,
            organisation=organisation,
            late=late,
            version=1,
            answered_at=now,
            created_at=now,
            updated_at=now,
        )
    else:
        current.answered_by_id = responder.id or 0
        current.position = given.position
        current.remarks = given.remarks
        current.link = given.link
        current.behalf = given.behalf
        current.late = late
        current.version += 1
        current.answered_at = now
        current.updated_at = now
    session.add(current)
    audit.record(
        session,
        at=now,
        actor=f"person:{responder.id}",
        action="hearing.answered",
        entity="hearing",
        entity_id=hearing.id,
        seat=seat.id,
        version=current.version,
        position=given.position,
        remarks=given.remarks,
        link=given.link,
        behalf=given.behalf,
        late=late,
    )
    await session.flush()
    await sync_reminders(session, ctx, [council.id or 0])
    return AnswerResult(hearing, current, changed=True, seat=seat)


# --- status, absence, moving, closing -----------------------------------------------


@dataclass
class HearingStatus:
    hearing: Hearing
    council: Council
    seats: list[Seat]
    days_left: int
    working_days_left: int

    @property
    def answered(self) -> list[Seat]:
        return [s for s in self.seats if s.answer is not None]

    @property
    def missing(self) -> list[Seat]:
        return [s for s in self.seats if s.answer is None]


async def hearing_status(
    session: AsyncSession, ctx: AppContext, hearing_id: int | str
) -> HearingStatus:
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    today = ctx.today()
    return HearingStatus(
        hearing,
        council,
        await seats(session, hearing, ctx.today()),
        (hearing.deadline - today).days,
        ctx.calendar.working_days_between(today, hearing.deadline)
        if hearing.deadline >= today
        else 0,
    )


def status_lines(status: HearingStatus, language: str) -> list[str]:
    """The status as lines of text (shared by the CLI and /hearing status)."""
    h = status.hearing
    lines = [
        t(language, "hearing.status.head", id=h.id, title=h.title, council=status.council.name),
        t(
            language,
            "hearing.status.deadline",
            date=format_date(h.deadline, language, long=True),
            days=max(status.days_left, 0),
            state=t(language, f"hearing.state.{h.state}"),
        ),
        t(
            language,
            "hearing.status.count",
            answered=len(status.answered),
            invited=len(status.seats),
        ),
    ]
    for seat in status.answered:
        a = seat.answer
        assert a is not None
        late = f" ({t(language, 'hearing.export.late')})" if a.late else ""
        lines.append(
            t(
                language,
                "hearing.status.answered",
                name=seat.person.name,
                position=t(language, f"hearing.position.{a.position}"),
                version=a.version,
            )
            + late
        )
    for seat in status.missing:
        sub = (
            t(language, "hearing.status.substitute", name=seat.substitute.name)
            if seat.substitute is not None
            else ""
        )
        lines.append(t(language, "hearing.status.missing", name=seat.person.name) + sub)
    return lines


async def register_absence(
    session: AsyncSession,
    ctx: AppContext,
    person: Person,
    start: date,
    end: date,
    substitute: Person | None,
    *,
    actor: str,
) -> Absence:
    """A member away; their substitute is asked in their place meanwhile."""
    if end < start:
        raise user_error(InputError, "hearing.error.away_order", start=start, end=end)
    if end < ctx.today():
        raise user_error(InputError, "hearing.error.away_past", end=end)
    if (end - start).days > 366:
        raise user_error(InputError, "hearing.error.away_long")
    if substitute is not None and substitute.id == person.id:
        raise user_error(InputError, "hearing.error.away_self")
    same = await session.scalar(
        select(Absence).where(
            Absence.person_id == person.id,
            Absence.start == start,
            Absence.end == end,
            Absence.substitute_id == (substitute.id if substitute else None),
        )
    )
    if same is not None:
        return same  # the same request again (Slack re-sent it): nothing new
    now = ctx.clock.now()
    absence = Absence(
        person_id=person.id or 0,
        start=start,
        end=end,
        substitute_id=substitute.id if substitute else None,
        created_by=actor,
        created_at=now,
    )
    session.add(absence)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="person.away",
        entity="person",
        entity_id=person.id,
        start=start,
        end=end,
        substitute=substitute.id if substitute else None,
    )
    await session.flush()
    councils = (
        await session.execute(
            select(Membership.council_id).where(Membership.person_id == person.id)
        )
    ).scalars()
    await sync_reminders(session, ctx, list(councils))
    return absence


async def move_deadline(
    session: AsyncSession,
    ctx: AppContext,
    actor: Actor,
    hearing_id: int | str,
    new_deadline: date,
) -> tuple[Hearing, date]:
    """A new deadline: reminders are re-planned (same keys, never doubled)."""
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    await require_secretary(session, actor, council, "hearing.move")
    if hearing.state != OPEN:
        raise user_error(InputError, "hearing.error.closed", id=hearing.id, title=hearing.title)
    if new_deadline <= ctx.today():
        raise user_error(InputError, "hearing.error.past_deadline", date=new_deadline.isoformat())
    old = hearing.deadline
    now = ctx.clock.now()
    hearing.deadline = new_deadline
    hearing.updated_at = now
    session.add(hearing)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.moved",
        entity="hearing",
        entity_id=hearing.id,
        old=old,
        new=new_deadline,
    )
    await session.flush()
    await sync_reminders(session, ctx, [council.id or 0])
    return hearing, old


async def close_hearing(
    session: AsyncSession, ctx: AppContext, actor: Actor, hearing_id: int | str
) -> HearingStatus:
    """Close, withdraw what is still planned, and post the compiled answer."""
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    await require_secretary(session, actor, council, "hearing.close")
    if hearing.state != OPEN:
        raise user_error(InputError, "hearing.error.closed", id=hearing.id, title=hearing.title)
    now = ctx.clock.now()
    hearing.state = CLOSED
    hearing.closed_at = now
    hearing.closed_by = actor.label
    hearing.updated_at = now
    session.add(hearing)
    audit.record(
        session,
        at=now,
        actor=actor.label,
        action="hearing.closed",
        entity="hearing",
        entity_id=hearing.id,
    )
    await session.flush()
    await sync_reminders(session, ctx, [council.id or 0])
    audience = (await load_audiences(session, ctx, [council.id or 0]))[council.id or 0]
    source = f"{MESSAGE_PREFIX}{hearing.id}"
    planned = [
        _message(source, "hearing.closed", r, hearing, council, now, slot="closed")
        for r in (*audience.channel, *audience.secretariat)
    ]
    await outbox.enqueue(session, planned, now=now)
    return await hearing_status(session, ctx, hearing.id or 0)


async def close_due_hearings(ctx: AppContext) -> list[int]:
    """Close the open hearings whose grace after the deadline has run out.

    With ``auto_close_days`` N, a hearing closes when working hours begin N working
    days after its deadline (N = 0: as soon as the deadline day has ended).
    """
    days = ctx.config.settings.hearings.auto_close_days
    if days < 0:
        return []
    now = ctx.clock.now()
    today = ctx.today()
    window = send_window(ctx)
    async with ctx.db.session() as session:
        due = (
            await session.execute(
                select(Hearing).where(Hearing.state == OPEN, col(Hearing.deadline) < today)
            )
        ).scalars()
        candidates = []
        for h in due:
            day = ctx.calendar.shift_working_days(h.deadline, days)
            if days == 0 or day < today or (day == today and window.allows(now)):
                candidates.append(h.id or 0)
    closed = []
    for hearing_id in candidates:
        async with ctx.db.transaction() as session:
            hearing = await session.get(Hearing, hearing_id, with_for_update=True)
            if hearing is None or hearing.state != OPEN:
                continue
            await close_hearing(session, ctx, Actor("aarshjul (deadline)"), hearing_id)
        closed.append(hearing_id)
        log_event(log, "hearing-auto-closed", hearing=hearing_id)
    return closed


async def open_hearing_once(
    ctx: AppContext, actor: Actor, draft: HearingDraft, *, request_key: str | None = None
) -> OpenResult:
    """:func:`open_hearing` in its own transaction; a concurrent twin finds the first."""
    try:
        async with ctx.db.transaction() as session:
            return await open_hearing(session, ctx, actor, draft, request_key=request_key)
    except IntegrityError:
        if not request_key:
            raise
        async with ctx.db.session() as session:
            existing = await session.scalar(
                select(Hearing).where(Hearing.request_key == request_key)
            )
            if existing is None:
                raise
            council = await session.get(Council, existing.council_id)
            assert council is not None
            return OpenResult(existing, council, created=False)


# --- for the Slack surfaces -----------------------------------------------------------


async def answer_form(
    session: AsyncSession, ctx: AppContext, hearing_id: int | str, person: Person
) -> tuple[Hearing, Council, Person, HearingAnswer | None]:
    """What the answer modal needs, after checking ``person`` may answer."""
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    seat = await _seat_for(session, ctx, hearing, person, council)
    if hearing.state != OPEN:
        raise user_error(InputError, "hearing.error.closed", id=hearing.id, title=hearing.title)
    current = await session.scalar(
        select(HearingAnswer).where(
            HearingAnswer.hearing_id == hearing.id, HearingAnswer.person_id == seat.id
        )
    )
    return hearing, council, seat, current


async def queue_receipt(
    session: AsyncSession, ctx: AppContext, result: AnswerResult, user_id: str, language: str
) -> None:
    """A DM confirming the answer (and that it is late, when it is)."""
    council = await session.get(Council, result.hearing.council_id)
    assert council is not None
    recipient = Recipient(
        f"person:{result.answer.answered_by_id}", "slack", user_id, language, None
    )
    name = "hearing.receipt_late" if result.answer.late else "hearing.receipt"
    planned = _message(
        f"{MESSAGE_PREFIX}{result.hearing.id}",
        name,
        recipient,
        result.hearing,
        council,
        ctx.clock.now(),
        slot=f"receipt-{result.seat.id}-v{result.answer.version}",
    )
    await outbox.enqueue(session, [planned], now=ctx.clock.now())
