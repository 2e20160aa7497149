"""Sending an agreed recommendation, tracking it until answered, and the answer.

Sending posts it to the receiving council's channel and secretariat, or mails it to
the outside address, through the outbox. It is then tracked: ``[recommendations]
answer_days`` working days after the day it was sent (default 20) the receiver is
reminded (the receiving council's secretariat, or the outside address), and
``escalate_days`` working days after that (default 5, so 25 working days after
sending) the sending council's chair and secretariat are told it is unanswered.
Both are scheduled messages (they wait for working hours) with a condition checked
at delivery; answering withdraws them, and tells the sending council's channel and
secretariat what the answer says.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.recommendations.agreeing import STILL_DRAFT, still_draft
from bot.services.recommendations.common import (
    AGREED,
    ALREADY,
    ANSWERED,
    DRAFT,
    SENT,
    SOURCE_PREFIX,
    Actor,
    Step,
    audited,
    clean_body,
    councils_of,
    get_recommendation,
    message,
    refused,
    require_secretary,
)
from bot.services.reminders import CONDITIONS, load_audiences, send_window
from scheduler.errors import InputError
from scheduler.planner import Kind, PlannedNotification, Recipient
from storage import audit, outbox
from storage.models import Council, OutboxMessage
from storage.recommendations import Recommendation

#: The condition of the reminder and the escalation: still unanswered at delivery.
UNANSWERED = "recommendation_unanswered"


def _outside(ctx: AppContext, address: str) -> Recipient:
    return Recipient(f"email:{address}", "email", address, ctx.language)


async def send_recommendation(ctx: AppContext, actor: Actor, rec_id: int | str) -> Step:
    """Send an agreed recommendation and plan its reminder and escalation."""

    async def work(session: AsyncSession) -> Step:
        rec = await get_recommendation(session, rec_id, lock=True)
        sender, receiver = await councils_of(session, rec)
        await require_secretary(session, actor, sender, "send", rec.id)
        if rec.state == DRAFT:
            raise user_error(InputError, "recommend.error.not_agreed", id=rec.id, title=rec.title)
        if rec.state != AGREED:
            raise user_error(InputError, ALREADY[rec.state], id=rec.id, title=rec.title)
        now = ctx.clock.now()
        rec.state = SENT
        rec.sent_at = now
        rec.sent_by = actor.label
        rec.updated_at = now
        session.add(rec)
        audit.record(
            session,
            at=now,
            actor=actor.label,
            action="recommendation.sent",
            entity="recommendation",
            entity_id=rec.id,
            receiver=receiver.key if receiver else rec.to_email,
        )
        await session.flush()
        await outbox.enqueue(session, await _sending(session, ctx, rec, sender, receiver), now=now)
        await outbox.enqueue(session, await tracking(session, ctx, rec, sender, receiver), now=now)
        return Step(rec, sender, receiver)

    return await audited(ctx, actor, work)


async def _receivers(
    session: AsyncSession, ctx: AppContext, rec: Recommendation, receiver: Council | None
) -> tuple[list[Recipient], list[Recipient]]:
    """(the receiver's channel, its secretariat); an outside address is the secretariat."""
    if receiver is None:
        return [], [_outside(ctx, rec.to_email or "")]
    audience = (await load_audiences(session, ctx, [receiver.id or 0]))[receiver.id or 0]
    return list(audience.channel), list(audience.secretariat)


async def _sending(
    session: AsyncSession,
    ctx: AppContext,
    rec: Recommendation,
    sender: Council,
    receiver: Council | None,
) -> list[PlannedNotification]:
    now = ctx.clock.now()
    channel, secretariat = await _receivers(session, ctx, rec, receiver)
    council_id = receiver.id if receiver else sender.id
    return [
        message(ctx, rec, "sent", r, council_id, now, slot="sent") for r in (*channel, *secretariat)
    ]


async def tracking(
    session: AsyncSession,
    ctx: AppContext,
    rec: Recommendation,
    sender: Council,
    receiver: Council | None,
) -> list[PlannedNotification]:
    """The reminder to the receiver and the escalation to the sender's chair."""
    settings = ctx.config.settings.recommendations
    window = send_window(ctx)
    send_at = ctx.config.settings.reminders.send_at
    assert rec.sent_at is not None
    sent_day = rec.sent_at.astimezone(ctx.tz).date()

    def due(days: int) -> datetime:
        day = ctx.calendar.shift_working_days(sent_day, days)
        return window.next_allowed(window.local(day, send_at))

    source = f"{SOURCE_PREFIX}{rec.id}"
    _, secretariat = await _receivers(session, ctx, rec, receiver)
    remind_at = due(settings.answer_days)
    planned = [
        message(
            ctx,
            rec,
            "reminder",
            r,
            receiver.id if receiver else sender.id,
            remind_at,
            slot="reminder",
            source=source,
            kind=Kind.REMINDER,
            quiet=True,
            condition=UNANSWERED,
        )
        for r in secretariat
    ]
    audience = (await load_audiences(session, ctx, [sender.id or 0]))[sender.id or 0]
    escalate_at = due(settings.answer_days + settings.escalate_days)
    seen: set[tuple[str, str]] = set()
    for r in (*audience.chair, *audience.secretariat):
        if (r.channel, r.address) in seen:
            continue
        seen.add((r.channel, r.address))
        planned.append(
            message(
                ctx,
                rec,
                "escalation",
                r,
                sender.id,
                escalate_at,
                slot="escalation",
                source=source,
                kind=Kind.ESCALATION,
                quiet=True,
                condition=UNANSWERED,
            )
        )
    return planned


async def answer_recommendation(
    ctx: AppContext, actor: Actor, rec_id: int | str, text: str
) -> Step:
    """Record the receiver's answer; the reminder and escalation still pending are
    withdrawn and the sending council hears what the answer says."""

    async def work(session: AsyncSession) -> Step:
        rec = await get_recommendation(session, rec_id, lock=True)
        sender, receiver = await councils_of(session, rec)
        if receiver is None and not actor.trusted:
            raise refused(
                "recommend.error.outside_answer",
                verb="answer",
                actor=actor,
                council=sender,
                rec_id=rec.id,
                address=rec.to_email or "",
            )
        if receiver is not None:
            await require_secretary(session, actor, receiver, "answer", rec.id)
        if rec.state in (DRAFT, AGREED):
            raise user_error(InputError, "recommend.error.not_sent", id=rec.id, title=rec.title)
        if rec.state == ANSWERED:
            raise user_error(
                InputError, "recommend.error.already_answered", id=rec.id, title=rec.title
            )
        body = clean_body(text, "answer")
        now = ctx.clock.now()
        rec.state = ANSWERED
        rec.answer_text = body
        rec.answered_by = actor.label
        rec.answered_at = now
        rec.updated_at = now
        session.add(rec)
        audit.record(
            session,
            at=now,
            actor=actor.label,
            action="recommendation.answered",
            entity="recommendation",
            entity_id=rec.id,
            length=len(body),
        )
        await session.flush()
        await withdraw_tracking(session, rec.id or 0, now=now)
        audience = (await load_audiences(session, ctx, [sender.id or 0]))[sender.id or 0]
        await outbox.enqueue(
            session,
            [
                message(ctx, rec, "answered", r, sender.id, now, slot="answered")
                for r in (*audience.channel, *audience.secretariat)
            ],
            now=now,
        )
        return Step(rec, sender, receiver)

    return await audited(ctx, actor, work)


async def withdraw_tracking(session: AsyncSession, rec_id: int, *, now: datetime) -> int:
    """Skip the pending reminder and escalation of a recommendation (it was answered)."""
    ids = (
        await session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.source == f"{SOURCE_PREFIX}{rec_id}",
                col(OutboxMessage.state) == outbox.PENDING,
            )
        )
    ).scalars()
    return await outbox.skip(
        session, [i for i in ids if i is not None], "withdrawn: answered", now=now
    )


async def unanswered(session: AsyncSession, row: OutboxMessage) -> bool:
    """Checked when the reminder or escalation falls due: sent and still unanswered."""
    params = json.loads(row.payload or "{}").get("params", {})
    rec = await session.get(Recommendation, int(params.get("recommendation_id", 0)))
    return rec is not None and rec.state == SENT


CONDITIONS[UNANSWERED] = unanswered
CONDITIONS[STILL_DRAFT] = still_draft
