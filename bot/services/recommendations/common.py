"""What the recommendation use cases share: states, rights, lookups, checks, messages.

A recommendation moves ``draft → agreed → sent → answered``; every step takes the
row's lock (:func:`storage.db.lock_row`) and checks the state under it, so two
agreements, or an agreement and a send, run one after the other and the second
sees the first's result.

Who may do what: a secretary of the sending council creates, agrees, opens the
vote and sends; the members and the chair of the sending council vote; a secretary
of the receiving council answers (an outside receiver's answer is recorded with the
command line). The command line acts with the secretariat's rights everywhere. A
refusal of rights is one clear line for the person and an audit row
(``recommendation.refused``), written after the refused transaction rolled back.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.hearings import Actor, get_by_id
from bot.text import clean_long, refuse_forbidden
from scheduler.errors import InputError, PermissionDenied
from scheduler.model import Role
from scheduler.planner import Kind, PlannedNotification, Recipient
from storage import audit
from storage.models import Council, Membership
from storage.recommendations import Recommendation

log = logging.getLogger("aarshjul.recommendations")
T = TypeVar("T")

DRAFT, AGREED, SENT, ANSWERED = "draft", "agreed", "sent", "answered"
STATES = (DRAFT, AGREED, SENT, ANSWERED)
MAX_TITLE = 200
#: Slack caps a plain-text input at 3,000 characters; the command line obeys the same.
MAX_TEXT = 3000
#: Outbox source of a recommendation's reminder and escalation (withdrawn on answering).
SOURCE_PREFIX = "recommendation:"
#: Outbox source of its one-off messages (the vote, sent, agreed, answered).
MESSAGE_PREFIX = "recommendation-msg:"
#: Who votes: the council's members and its chair (not observers, not the secretariat).
VOTING_ROLES = (Role.MEMBER.value, Role.CHAIR.value)
__all__ = ["Actor"]


#: The refusal of each verb to someone who is not the council's secretary.
NOT_SECRETARY = {
    "create": "recommend.error.not_secretary_create",
    "agree": "recommend.error.not_secretary_agree",
    "send": "recommend.error.not_secretary_send",
    "answer": "recommend.error.not_secretary_answer",
}
#: What a step says when the recommendation is already further along.
ALREADY = {
    AGREED: "recommend.error.already_agreed",
    SENT: "recommend.error.already_sent",
    ANSWERED: "recommend.error.already_answered",
}


class RecommendationRefused(PermissionDenied):
    """The actor may not do this to this recommendation; audited by :func:`audited`."""


def refused(
    key: str, *, verb: str, actor: Actor, council: Council, rec_id: object = "-", **params: object
) -> RecommendationRefused:
    """The refusal to raise; its audit details ride along on the error."""
    error = user_error(RecommendationRefused, key, council=council.name, **params)
    assert isinstance(error, RecommendationRefused)
    error.audit = {"verb": verb, "council": council.key, "id": str(rec_id), "why": key}  # type: ignore[attr-defined]
    log_event(
        log,
        "refused",
        logging.WARNING,
        action=f"recommendation.{verb}",
        actor=actor.label,
        council=council.key,
        why=key,
    )
    return error


async def audited(ctx: AppContext, actor: Actor, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction; a refusal of rights rolls it back and is then
    written to the audit log in a transaction of its own (nothing else changes)."""
    try:
        async with ctx.db.transaction() as session:
            return await work(session)
    except RecommendationRefused as exc:
        details = dict(getattr(exc, "audit", {}))
        await record_refusal(ctx, actor, details.pop("id", "-"), **details)
        raise


async def record_refusal(ctx: AppContext, actor: Actor, rec_id: object, **details: object) -> None:
    """Write a refusal of rights to the audit log, in a transaction of its own."""
    async with ctx.db.transaction() as session:
        audit.record(
            session,
            at=ctx.clock.now(),
            actor=actor.label,
            action="recommendation.refused",
            entity="recommendation",
            entity_id=rec_id,
            **details,
        )


async def role_in(session: AsyncSession, person_id: int | None, council_id: int) -> str | None:
    if person_id is None:
        return None
    return await session.scalar(
        select(Membership.role).where(
            Membership.person_id == person_id, Membership.council_id == council_id
        )
    )


async def require_secretary(
    session: AsyncSession, actor: Actor, council: Council, verb: str, rec_id: object = "-"
) -> None:
    """Refuse unless ``actor`` is the command line or a secretary of ``council``."""
    if actor.trusted:
        return
    assert actor.person is not None
    if await role_in(session, actor.person.id, council.id or 0) == Role.SECRETARY:
        return
    raise refused(
        NOT_SECRETARY[verb],
        verb=verb,
        actor=actor,
        council=council,
        rec_id=rec_id,
    )


async def get_recommendation(
    session: AsyncSession, value: int | str, *, lock: bool = False
) -> Recommendation:
    """A recommendation by the id a person typed (``12`` or ``#12``); ``lock`` for a
    state change (read fresh and locked until the transaction ends)."""
    return await get_by_id(session, Recommendation, value, errors="recommend.error", lock=lock)


async def councils_of(session: AsyncSession, rec: Recommendation) -> tuple[Council, Council | None]:
    """The sending council and the receiving one (None: an outside e-mail address)."""
    sender = await session.get(Council, rec.from_council_id)
    assert sender is not None
    receiver = await session.get(Council, rec.to_council_id) if rec.to_council_id else None
    return sender, receiver


def clean_title(value: str) -> str:
    value = unicodedata.normalize("NFC", value or "").strip()
    refuse_forbidden(value, "title")
    if not value:
        raise user_error(InputError, "recommend.error.no_title")
    if len(value) > MAX_TITLE:
        raise user_error(
            InputError,
            "recommend.error.too_long",
            field="title",
            length=len(value),
            limit=MAX_TITLE,
        )
    return value


def clean_body(value: str, field: str = "text") -> str:
    value = clean_long(value or "")
    if not value:
        empty = "recommend.error.no_answer" if field == "answer" else "recommend.error.no_text"
        raise user_error(InputError, empty)
    if len(value) > MAX_TEXT:
        raise user_error(
            InputError,
            "recommend.error.too_long",
            field=field,
            length=len(value),
            limit=MAX_TEXT,
        )
    return value


def quorum(ctx: AppContext) -> float:
    """The share of voting seats whose yes agrees a draft (the council's quorum)."""
    settings = ctx.config.settings
    return settings.recommendations.quorum or settings.hearings.quorum


def votes_needed(share: float, seats: int) -> int:
    """Yes votes that agree a draft: ``ceil(share × seats)``, at least one."""
    return max(1, math.ceil(share * seats - 1e-9))


def message(
    ctx: AppContext,
    rec: Recommendation,
    name: str,
    recipient: Recipient,
    council_id: int | None,
    due: datetime,
    *,
    slot: str,
    source: str | None = None,
    kind: Kind = Kind.NOTICE,
    quiet: bool = False,
    condition: str | None = None,
) -> PlannedNotification:
    """One message about a recommendation to one recipient, rendered at delivery from
    the recommendation as it then stands; ``slot`` keeps each message's key distinct."""
    source = source or f"{MESSAGE_PREFIX}{rec.id}"
    key = f"{source}/{slot}/{recipient.channel}/{recipient.who}"
    return PlannedNotification(
        key=key,
        group_key=key,
        kind=kind,
        source=source,
        council_id=council_id,
        person_id=recipient.person_id,
        channel=recipient.channel,
        address=recipient.address,
        language=recipient.language,
        message=f"recommend.{name}",
        params={
            "recommendation_id": rec.id,
            "title_da": f"Indstilling: {rec.title}",
            "title_en": f"Recommendation: {rec.title}",
            # What the words say at delivery ("3 of 4 needed", "within 20 working days").
            "quorum": quorum(ctx),
            "answer_days": ctx.config.settings.recommendations.answer_days,
        },
        due_at=due,
        expires_at=None,
        quiet=quiet,
        condition=condition,
    )


@dataclass(frozen=True)
class Step:
    """What a use case did: the recommendation as committed, and its councils."""

    recommendation: Recommendation
    sender: Council
    receiver: Council | None
    created: bool = True
