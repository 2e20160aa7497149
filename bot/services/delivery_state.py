"""Whether anything is delivering the outbox right now, and how to say so.

A command run while no ``aarshjul run`` is running queues its messages and must
not claim they are being sent: they wait until a worker runs. A worker is alive
while its heartbeat (the ``worker`` table) is newer than
``outbox.worker_timeout_seconds``, the same rule by which its rows are taken over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.i18n import t
from bot.services.app import AppContext
from bot.slack_text import SlackText, slack_t
from storage.models import Worker

LIVE, WAITING = "outbox.delivery.live", "outbox.delivery.waiting"


async def worker_alive(ctx: AppContext) -> bool:
    """True when at least one worker's heartbeat is fresh."""
    timeout = timedelta(seconds=ctx.config.settings.outbox.worker_timeout_seconds)
    w = Worker.__table__
    async with ctx.db.session() as session:
        found = await session.scalar(
            select(func.count()).select_from(w).where(w.c.last_seen >= ctx.clock.now() - timeout)
        )
    return bool(found)


async def delivery_key(ctx: AppContext) -> str:
    """The catalogue key saying whether queued messages go out now or wait."""
    return LIVE if await worker_alive(ctx) else WAITING


async def delivery_note(ctx: AppContext, language: str) -> str:
    """The sentence for the CLI: being sent by a running bot, or waiting in the outbox."""
    return t(language, await delivery_key(ctx))


async def slack_delivery_note(ctx: AppContext, language: str) -> SlackText:
    """:func:`delivery_note` for a Slack reply."""
    return slack_t(language, await delivery_key(ctx))
