"""Hearings (*høringer*): what the use cases share, status and absences.

Every use case takes a session and an :class:`Actor` and is called the same
way by the Slack handlers and the CLI. Authorisation lives in the services, not
in the handlers: only a secretary of the council opens, moves or closes a
hearing, and only someone heard in it (or their substitute) answers. The use
cases live in their own modules: :mod:`bot.services.hearing_lifecycle` (open,
move, close, auto-close), :mod:`bot.services.hearing_answers` (answering) and
:mod:`bot.services.hearing_lists` (lists); this module keeps what they share
(the actor, the checks, who sits in a hearing, the one-off messages), the
status and absences.

Every state change of a hearing takes the hearing's row lock first
(:func:`get_hearing` with ``lock=True``) and re-checks the state inside its
transaction, and re-plans only the reminders of that hearing (or that seat):
never a whole council in a request.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import format_date, t, user_error
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.reminders import person_recipients
from bot.text import refuse_forbidden
from scheduler.errors import InputError, NotFoundError, PermissionDenied
from scheduler.model import Role
from scheduler.planner import (
    Kind,
    PlannedNotification,
    Recipient,
)
from storage import audit
from storage.db import lock_row
from storage.hearing_mail import answer_files
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
T = TypeVar("T", bound=SQLModel)

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


def clean_text(value: str, key: str, limit: int) -> str:
    """A one-line text (a title) as stored: NFC-normalised and stripped; refused with a
    control, bidi or zero-width character (its position named, see :mod:`bot.text`) or
    over ``limit`` characters. Empty stays empty: the caller says what is missing."""
    value = unicodedata.normalize("NFC", value or "").strip()
    refuse_forbidden(value, key)
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


async def get_by_id(
    session: AsyncSession,
    model: type[T],
    value: int | str,
    *,
    errors: str,
    lock: bool = False,
    shared: bool = False,
) -> T:
    """A row by the id a person typed (``12`` or ``#12``); ``errors`` is the catalogue
    prefix of the two refusals, ``….bad_id`` and ``….unknown``.

    With ``lock``, the row is read fresh and locked until the transaction ends
    (:func:`storage.db.lock_row`): a state change takes it first, so two changes of
    one hearing or meeting run one after the other and each sees the other's result.
    ``shared`` (with ``lock``) lets changes that do not exclude each other (answers by
    different members) hold the lock together; see :func:`storage.db.lock_row`.
    """
    try:
        number = int(str(value).strip().lstrip("#"))
    except ValueError:
        raise user_error(InputError, f"{errors}.bad_id", value=str(value)[:40]) from None
    found = None
    if 0 < number < 2**31:
        found = await (
            lock_row(session, model, number, shared=shared) if lock else session.get(model, number)
        )
    if found is None:
        raise user_error(NotFoundError, f"{errors}.unknown", id=number)
    return found


async def get_hearing(
    session: AsyncSession, hearing_id: int | str, *, lock: bool = False, shared: bool = False
) -> Hearing:
    """A hearing by its id; ``lock`` for a state change (see :func:`get_by_id`)."""
    return await get_by_id(
        session, Hearing, hearing_id, errors="hearing.error", lock=lock, shared=shared
    )


def hearing_message(
    source: str,
    name: str,
    recipient: Recipient,
    hearing: Hearing,
    council: Council,
    due: datetime,
    *,
    slot: str,
) -> PlannedNotification:
    """A one-off message about a hearing (announcement, invitation, receipt, closing):
    sent once, never re-planned; the key's ``slot`` makes each one distinct."""
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


# --- status and absences ------------------------------------------------------------


@dataclass
class HearingStatus:
    hearing: Hearing
    council: Council
    seats: list[Seat]
    days_left: int
    working_days_left: int
    #: The names of the files kept with each seat's current answer (e-mailed answers).
    files: dict[int, list[str]] = field(default_factory=dict)

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
    found = await seats(session, hearing, ctx.today())
    return HearingStatus(
        hearing,
        council,
        found,
        (hearing.deadline - today).days,
        ctx.calendar.working_days_between(today, hearing.deadline)
        if hearing.deadline >= today
        else 0,
        await seat_files(session, hearing, found),
    )


async def seat_files(
    session: AsyncSession, hearing: Hearing, found: list[Seat]
) -> dict[int, list[str]]:
    """The names of the files kept with each seat's current answer."""
    versions = {s.person.id or 0: s.answer.version for s in found if s.answer is not None}
    return await answer_files(session, hearing.id or 0, versions) if versions else {}


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
    # Who is asked changes only in the open hearings this person sits in.
    from bot.services.hearing_reminders import replan_hearings  # imports this module

    open_seats = await session.execute(
        select(Hearing.id)
        .join(HearingInvitee, col(HearingInvitee.hearing_id) == Hearing.id)
        .where(HearingInvitee.person_id == person.id, Hearing.state == OPEN)
    )
    await replan_hearings(session, ctx, list(open_seats.scalars()))
    return absence
