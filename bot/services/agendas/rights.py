"""Who may do what with an agenda.

A secretary of the meeting's council changes it (adds, moves, drops, marks done,
sends); the secretariat of the council's region (its RBR) may add remarks to it;
the council's members and the region's secretaries may read it. The command line
acts with the secretariat's rights. Every refusal is logged.
"""

from __future__ import annotations

import logging

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.observability import log_event
from bot.services.hearings import Actor
from scheduler.errors import PermissionDenied
from scheduler.model import Role
from storage.models import Council, Membership

log = logging.getLogger("aarshjul.agendas")


async def _role(session: AsyncSession, actor: Actor, council_id: int | None) -> str | None:
    if actor.person is None or council_id is None:
        return None
    return await session.scalar(
        select(Membership.role).where(
            Membership.person_id == actor.person.id, Membership.council_id == council_id
        )
    )


def _refuse(actor: Actor, council: Council, action: str, key: str) -> PermissionDenied:
    log_event(
        log, "refused", logging.WARNING, action=action, actor=actor.label, council=council.key
    )
    return user_error(PermissionDenied, key, council=council.name)  # type: ignore[return-value]


async def may_edit(session: AsyncSession, actor: Actor, council: Council, action: str) -> None:
    """Refuse unless ``actor`` is a secretary of ``council`` (or the command line)."""
    if actor.trusted or await _role(session, actor, council.id) == Role.SECRETARY:
        return
    raise _refuse(actor, council, action, "agenda.error.not_secretary")


async def may_remark(session: AsyncSession, actor: Actor, council: Council, action: str) -> bool:
    """Whether ``actor`` adds as the region (True) or as the council's own secretariat
    (False); refused if neither."""
    if actor.trusted:
        return False
    if await _role(session, actor, council.id) == Role.SECRETARY:
        return False
    if await _role(session, actor, council.region_id) == Role.SECRETARY:
        return True
    raise _refuse(actor, council, action, "agenda.error.not_secretary")


async def may_read(session: AsyncSession, actor: Actor, council: Council, action: str) -> None:
    """Refuse unless ``actor`` sits on ``council`` or is a secretary of its region."""
    if actor.trusted or await _role(session, actor, council.id) is not None:
        return
    if await _role(session, actor, council.region_id) == Role.SECRETARY:
        return
    raise _refuse(actor, council, action, "agenda.error.not_member")
