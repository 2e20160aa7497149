"""Answering a hearing: the modal, ``/hearing reply`` and the CLI store answers here.

One short transaction per answer: the hearing's row lock first, the state checked
inside it (an answer that loses the race to a close is refused with
``hearing.error.closed``, never stored), the answer (a new version when it
changed, nothing when it is the same), and only that seat's pending reminders
withdrawn. The escalation to the chair is not re-planned: its condition counts
the answers when it falls due. The caller adds the receipt to the same
transaction, and tells the member "gemt" only after it has committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.hearing_reminders import withdraw_seat
from bot.services.hearings import (
    BEHALF,
    MAX_REMARKS,
    MESSAGE_PREFIX,
    OPEN,
    POSITIONS,
    check_url,
    deadline_end,
    get_hearing,
    hearing_message,
)
from bot.text import clean_long
from scheduler.errors import InputError, PermissionDenied
from scheduler.planner import Recipient
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
    council: Council


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
    # Pasted text often carries invisible characters the member cannot see: they are
    # stripped (with controls and bidi overrides), not held against the answer.
    remarks = clean_long(answer.remarks or "")
    if len(remarks) > MAX_REMARKS:
        raise user_error(
            InputError, "hearing.error.too_long", limit=MAX_REMARKS, length=len(remarks)
        )
    if answer.position in ("text", "support_with_remarks", "object") and not remarks:
        raise user_error(InputError, "hearing.error.empty_answer")
    if answer.behalf not in BEHALF:
        raise user_error(InputError, "hearing.error.bad_behalf", value=answer.behalf)
    return AnswerInput(answer.position, remarks, check_url(answer.link), answer.behalf)


async def _seat_for(
    session: AsyncSession,
    ctx: AppContext,
    hearing: Hearing,
    responder: Person,
    council: Council,
    *,
    lock: bool = False,
) -> tuple[Person, str | None]:
    """The invitee ``responder`` answers for (themselves, or a member they substitute),
    with that seat's organisation in the council; one query when they answer for
    themselves, as nearly everyone does.

    With ``lock`` the seat's invitee row is locked (PostgreSQL ``FOR UPDATE``), so
    two submissions for one seat at once run one after the other: one answer.
    """
    own = (
        select(HearingInvitee.id, Membership.organisation)
        .outerjoin(
            Membership,
            (col(Membership.person_id) == HearingInvitee.person_id)
            & (col(Membership.council_id) == hearing.council_id),
        )
        .where(HearingInvitee.hearing_id == hearing.id, HearingInvitee.person_id == responder.id)
    )
    if lock:
        own = own.with_for_update(of=HearingInvitee)
    invited = (await session.execute(own)).first()
    if invited is not None:
        return responder, invited[1]
    today = ctx.today()
    standing_in = (
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
    if lock:
        standing_in = standing_in.with_for_update(of=HearingInvitee)
    stand_in = await session.scalar(standing_in)
    if stand_in is not None:
        organisation = await session.scalar(
            select(Membership.organisation).where(
                Membership.person_id == stand_in.id, Membership.council_id == hearing.council_id
            )
        )
        return stand_in, organisation
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
    """Store (or change) an answer; after the deadline it is kept but marked late.

    Takes the hearing's row lock first, so a close (or another submission by the
    same member) either finished before and is seen here, or waits for this one:
    an answer is never stored in a closed hearing, and two submissions at once
    give one answer (the second a new version, or nothing when it is the same).
    Withdraws only this seat's pending reminders; nothing else is re-planned.
    """
    # A shared lock on the hearing (answers by different members run side by side; a
    # close waits for them, and they for it), then the seat's own row locked.
    hearing = await get_hearing(session, hearing_id, lock=True, shared=True)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    seat, organisation = await _seat_for(session, ctx, hearing, responder, council, lock=True)
    if hearing.state != OPEN:
        raise user_error(InputError, "hearing.error.closed", id=hearing.id, title=hearing.title)
    given = check_answer(given)
    now = ctx.clock.now()
    late = now >= deadline_end(ctx, hearing.deadline)
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
        return AnswerResult(hearing, current, changed=False, seat=seat, council=council)
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
    await withdraw_seat(session, ctx, hearing.id or 0, seat.id or 0)
    return AnswerResult(hearing, current, changed=True, seat=seat, council=council)


async def answer_form(
    session: AsyncSession, ctx: AppContext, hearing_id: int | str, person: Person
) -> tuple[Hearing, Council, Person, HearingAnswer | None]:
    """What the answer modal needs, after checking ``person`` may answer."""
    hearing = await get_hearing(session, hearing_id)
    council = await session.get(Council, hearing.council_id)
    assert council is not None
    seat, _ = await _seat_for(session, ctx, hearing, person, council)
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
    council = result.council
    recipient = Recipient(
        f"person:{result.answer.answered_by_id}", "slack", user_id, language, None
    )
    name = "hearing.receipt_late" if result.answer.late else "hearing.receipt"
    planned = hearing_message(
        f"{MESSAGE_PREFIX}{result.hearing.id}",
        name,
        recipient,
        result.hearing,
        council,
        ctx.clock.now(),
        slot=f"receipt-{result.seat.id}-v{result.answer.version}",
    )
    await outbox.enqueue(session, [planned], now=ctx.clock.now())
