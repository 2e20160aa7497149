"""The read-only share link of a region's overview, for a wall display.

Like the calendar feed's token: one per RBR, made on first use, rotated by the CLI; a
wrong or old token is answered like an unknown page (404), never with data.
"""

from __future__ import annotations

import hmac
import secrets

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import user_error
from bot.services.app import AppContext
from bot.services.councils import get_council
from scheduler.errors import InputError
from storage import audit
from storage.models import Council


async def overview_token(
    session: AsyncSession, ctx: AppContext, council_key: str, *, rotate: bool, actor: str
) -> tuple[Council, str]:
    """The RBR's share token, made on first use; ``rotate`` replaces it (old links die).

    Raises:
        NotFoundError: no such council.
        InputError: the council is not an RBR (only a region has an overview).
    """
    council = await get_council(session, council_key)
    if council.kind != "RBR":
        raise user_error(InputError, "overview.not_rbr", council=council.key)
    if council.overview_token and not rotate:
        return council, council.overview_token
    council.overview_token = secrets.token_urlsafe(24)
    council.updated_at = ctx.clock.now()
    session.add(council)
    audit.record(
        session,
        at=ctx.clock.now(),
        actor=actor,
        action="council.overview_token" + (".rotated" if rotate else ".created"),
        entity="council",
        entity_id=council.key,
    )
    await session.flush()
    return council, council.overview_token


def token_matches(council: Council, token: str | None) -> bool:
    """Constant-time check; a council without a token matches nothing."""
    expected = council.overview_token or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), (token or "").encode())
