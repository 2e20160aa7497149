"""App Home's region section: for RBR members and secretaries, the overview in short.

The region's totals, then the LBRs that need attention (late milestones, open
deviations, unanswered recommendations), at most :data:`ROWS`, and a link to the
overview page. The same data as ``aarshjul region overview`` and the web page.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import context, section
from bot.services.app import AppContext
from bot.services.overview.cells import CellState, LbrRow
from bot.services.overview.export import summary_line
from bot.services.overview.load import region_overview
from bot.slack_text import bold, escape, join, link, slack_t
from storage.models import Council, Membership, Person

#: At most this many LBRs are listed; the page has them all.
ROWS = 10


def _needs_attention(row: LbrRow) -> bool:
    return bool(row.count(CellState.LATE) or row.deviations or row.recommendations)


async def region_blocks(
    ctx: AppContext, session: AsyncSession, person: Person, lang: str, base_url: str | None
) -> list[dict[str, Any]]:
    """The section for each RBR ``person`` sits on; nothing for everyone else."""
    regions = (
        await session.exec(
            select(Council)
            .join(Membership, col(Membership.council_id) == Council.id)
            .where(
                Membership.person_id == person.id,
                Council.kind == "RBR",
                col(Council.active),
            )
            .order_by(col(Council.name))
        )
    ).all()
    blocks: list[dict[str, Any]] = []
    for rbr in regions:
        view = await region_overview(
            session,
            rbr.key,
            ctx.today().year,
            today=ctx.today(),
            tz=ctx.tz,
            results=ctx.config.settings.results,
        )
        blocks.append({"type": "divider"})
        blocks.append(section(bold(slack_t(lang, "overview.home_title", region=escape(rbr.name)))))
        blocks.append(context(escape(summary_line(view, lang))))
        flagged = [r for r in view.rows if _needs_attention(r)]
        lines = [
            slack_t(
                lang,
                "overview.home_line",
                council=escape(r.name),
                late=r.count(CellState.LATE),
                deviations=len(r.deviations),
                recommendations=len(r.recommendations),
            )
            for r in flagged[:ROWS]
        ]
        if len(flagged) > ROWS:
            lines.append(slack_t(lang, "overview.home_more", count=len(flagged) - ROWS))
        blocks.append(
            section(join("\n", lines) if lines else slack_t(lang, "overview.home_all_fine"))
        )
        if base_url:
            url = f"{base_url}/overview/{rbr.key}"
            blocks.append(context(link(url, slack_t(lang, "overview.home_link"))))
    return blocks
