"""Drafting a recommendation: who it goes from and to, what it says, what it is about.

The routes the act's remarks describe: an LBR to its own RBR (a jobcentre's serious
result problems, regional initiatives) or to the municipal council or the state (an
e-mail address outside the bot), an RBR to the minister (an e-mail address) or to
the national council (BER). Any other council-to-council route is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.members import valid_email
from bot.services.recommendations.common import (
    DRAFT,
    Actor,
    Step,
    audited,
    clean_body,
    clean_title,
    councils_of,
    require_secretary,
)
from scheduler.errors import InputError
from scheduler.model import CouncilKind
from storage import audit
from storage.models import Council
from storage.recommendations import Recommendation

#: Why a council-to-council route is refused, by the sender's kind.
ROUTE_REFUSAL = {
    CouncilKind.LBR.value: "recommend.error.route_lbr",
    CouncilKind.RBR.value: "recommend.error.route_rbr",
    CouncilKind.BER.value: "recommend.error.route_ber",
}
_MEASURE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class RecommendationDraft:
    """What a secretary asks for; checked by :func:`check_draft` before anything is stored."""

    from_key: str
    #: A council key or an e-mail address.
    to: str
    title: str
    text: str
    #: ``COUNCIL:MEASURE`` or empty.
    about_results: str = ""


@dataclass(frozen=True)
class CheckedDraft:
    sender: Council
    receiver: Council | None
    to_email: str | None
    title: str
    text: str
    about: Council | None
    measure: str | None


async def _receiver(
    session: AsyncSession, sender: Council, to: str
) -> tuple[Council | None, str | None]:
    to = (to or "").strip()
    if not to:
        raise user_error(InputError, "recommend.error.no_receiver")
    if "@" in to:
        address = to.lower()
        if len(address) > 254 or not valid_email(address):
            raise user_error(InputError, "recommend.error.bad_email", value=to[:80])
        return None, address
    receiver = await get_council(session, to)
    region = await session.get(Council, sender.region_id) if sender.region_id else None
    allowed = (sender.kind == CouncilKind.LBR and receiver.id == sender.region_id) or (
        sender.kind == CouncilKind.RBR and receiver.kind == CouncilKind.BER
    )
    if not allowed:
        raise user_error(
            InputError,
            ROUTE_REFUSAL.get(sender.kind, "recommend.error.route_ber"),
            sender=sender.name,
            receiver=receiver.name,
            region=region.key if region else "-",
        )
    return receiver, None


async def _about(
    session: AsyncSession, ctx: AppContext, value: str
) -> tuple[Council | None, str | None]:
    value = (value or "").strip()
    if not value:
        return None, None
    key, _, measure = value.partition(":")
    key, measure = key.strip(), measure.strip().lower()
    if not key or not measure or not _MEASURE.match(measure):
        raise user_error(InputError, "recommend.error.bad_about", value=value[:80])
    council = await get_council(session, key)
    if council.kind != CouncilKind.LBR:
        raise user_error(InputError, "recommend.error.about_not_lbr", council=council.name)
    results = getattr(ctx.config.settings, "results", None)
    measures = getattr(results, "measures", None)
    if measures is not None and measure not in measures:
        raise user_error(
            InputError,
            "recommend.error.unknown_measure",
            measure=measure,
            known=", ".join(sorted(measures)) or "-",
        )
    return council, measure


async def check_draft(
    session: AsyncSession, ctx: AppContext, actor: Actor, draft: RecommendationDraft
) -> CheckedDraft:
    """The draft as it would be stored, or the first thing wrong with it (one line)."""
    sender = await get_council(session, draft.from_key)
    await require_secretary(session, actor, sender, "create")
    receiver, to_email = await _receiver(session, sender, draft.to)
    title = clean_title(draft.title)
    text = clean_body(draft.text)
    about, measure = await _about(session, ctx, draft.about_results)
    return CheckedDraft(sender, receiver, to_email, title, text, about, measure)


async def create_recommendation(
    ctx: AppContext, actor: Actor, draft: RecommendationDraft, *, request_key: str | None = None
) -> Step:
    """Store a draft; a repeated ``request_key`` (Slack re-sending a form) finds the first."""

    async def find() -> Step | None:
        async with ctx.db.session() as session:
            found = await session.scalar(
                select(Recommendation).where(Recommendation.request_key == request_key)
            )
            if found is None:
                return None
            sender, receiver = await councils_of(session, found)
            return Step(found, sender, receiver, created=False)

    if request_key and (existing := await find()) is not None:
        return existing

    async def work(session: AsyncSession) -> Step:
        checked = await check_draft(session, ctx, actor, draft)
        now = ctx.clock.now()
        rec = Recommendation(
            from_council_id=checked.sender.id or 0,
            to_council_id=checked.receiver.id if checked.receiver else None,
            to_email=checked.to_email,
            title=checked.title,
            text=checked.text,
            about_council_id=checked.about.id if checked.about else None,
            about_measure=checked.measure,
            state=DRAFT,
            request_key=request_key,
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
        session.add(rec)
        await session.flush()
        audit.record(
            session,
            at=now,
            actor=actor.label,
            action="recommendation.created",
            entity="recommendation",
            entity_id=rec.id,
            sender=checked.sender.key,
            receiver=checked.receiver.key if checked.receiver else checked.to_email,
            title=rec.title,
            about=f"{checked.about.key}:{checked.measure}" if checked.about else None,
        )
        return Step(rec, checked.sender, checked.receiver)

    try:
        return await audited(ctx, actor, work)
    except IntegrityError:
        if request_key and (existing := await find()) is not None:
            return existing
        raise
