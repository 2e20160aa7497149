"""The council's cycle as a calendar to subscribe to: ``/calendar/{council}.ics?token=``.

Each council has its own token, so a link handed to one council's members shows
nothing of another's; rotating it (a leaked link) makes the old URL a 404.
"""

from __future__ import annotations

import hmac
import secrets

import icalendar
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import t
from bot.services.app import AppContext
from bot.services.councils import get_council
from bot.services.cycle import council_year, year_calendar
from storage import audit
from storage.models import Council


async def feed_token(
    session: AsyncSession, ctx: AppContext, council_key: str, *, rotate: bool, actor: str
) -> tuple[Council, str]:
    """The council's token, made on first use; ``rotate`` replaces it."""
    council = await get_council(session, council_key)
    if council.calendar_token and not rotate:
        return council, council.calendar_token
    council.calendar_token = secrets.token_urlsafe(24)
    council.updated_at = ctx.clock.now()
    session.add(council)
    audit.record(
        session,
        at=ctx.clock.now(),
        actor=actor,
        action="council.feed_token" + (".rotated" if rotate else ".created"),
        entity="council",
        entity_id=council.key,
    )
    await session.flush()
    return council, council.calendar_token


async def feed(ctx: AppContext, council_key: str, token: str) -> bytes | None:
    """The calendar (this year and next), or None for an unknown council or wrong token."""
    async with ctx.db.session() as session:
        try:
            council = await get_council(session, council_key)
        except Exception:
            return None
    expected = council.calendar_token or ""
    if not expected or not hmac.compare_digest(expected.encode(), (token or "").encode()):
        return None
    year = ctx.today().year
    this = icalendar.Calendar.from_ical(
        year_calendar(ctx, await council_year(ctx, council.key, year))
    )
    following = icalendar.Calendar.from_ical(
        year_calendar(ctx, await council_year(ctx, council.key, year + 1))
    )
    for event in following.walk("VEVENT"):
        this.add_component(event)
    # The subscribed calendar holds both years: its name says so (not "Årshjul 2026").
    this.pop("X-WR-CALNAME", None)
    this.add(
        "x-wr-calname",
        t(ctx.language, "ics.feed_name", council=council.name, first=year, last=year + 1),
    )
    return this.to_ical()
