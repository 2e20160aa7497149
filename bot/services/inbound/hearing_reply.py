"""A member's answer to a hearing by e-mail (point 3).

Being built (issue 13); until then it claims nothing.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.app import AppContext
from bot.services.inbound.message import Outcome, ParsedMail


async def handle_hearing_reply(
    ctx: AppContext, session: AsyncSession, mail: ParsedMail
) -> Outcome | None:
    """The outcome when the message is one of these; None to let the next handler look."""
    return None
