"""The overview by e-mail: every Monday, with the digests, to each RBR's secretariat.

Planned like the digests (this week's and next week's, the ISO week in the key, so each
week sends once and a restart repeats nothing); the content is read when the mail goes
out, so it shows the region as it stands that morning.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.base import Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import t
from bot.services.app import AppContext
from bot.services.overview.export import cell_text, summary_line
from bot.services.overview.load import region_overview
from scheduler.planner import Kind, PlannedNotification, SendWindow, weekly_slots
from storage.models import Council, OutboxMessage

MESSAGE = "overview.weekly"
PREFIX = "overview-weekly:"


async def plan_weekly(
    session: AsyncSession,
    ctx: AppContext,
    today: date,
    window: SendWindow,
    *,
    send_at: time,
    now: datetime,
    base_url: str,
) -> list[PlannedNotification]:
    """This week's and next week's overview mail for every RBR with a secretariat."""
    regions = (
        await session.exec(
            select(Council)
            .where(
                Council.kind == "RBR",
                col(Council.active),
                col(Council.secretariat_email).is_not(None),
            )
            .order_by(col(Council.id))
        )
    ).all()
    measures = {
        key: [m.name_da, m.name_en] for key, m in ctx.config.settings.results.measures.items()
    }
    planned = []
    for monday, week, due, expires in weekly_slots(today, window, send_at=send_at, now=now):
        for rbr in regions:
            source = f"{PREFIX}{rbr.id}"
            key = f"{source}/{week}/email"
            planned.append(
                PlannedNotification(
                    key=key,
                    group_key=f"{source}/email",
                    kind=Kind.NOTICE,
                    source=source,
                    council_id=rbr.id,
                    person_id=None,
                    channel="email",
                    address=str(rbr.secretariat_email),
                    language=ctx.language,
                    message=MESSAGE,
                    params={
                        "council_key": rbr.key,
                        "week_start": monday.isoformat(),
                        "url": f"{base_url}/overview/{rbr.key}",
                        "measures": measures,
                    },
                    due_at=due,
                    expires_at=expires,
                )
            )
    return planned


async def render_weekly(
    session: AsyncSession,
    row: OutboxMessage,
    params: dict[str, Any],
    lang: str,
    *,
    today: date,
    tz: ZoneInfo,
) -> Message:
    """The mail as the region stands this morning: the totals, then one line per LBR."""
    view = await region_overview(
        session, str(params["council_key"]), today.year, today=today, tz=tz
    )
    names = params.get("measures") or {}
    lines = [summary_line(view, lang), ""]
    for r in view.rows:
        cells = "; ".join(
            f"{t(lang, f'overview.milestone.{m.key}')}: {cell_text(r.cells.get(m.key), lang)}"
            for m in view.milestones
        )
        lines.append(f"{r.name}: {cells}")
        for d in r.deviations:
            name = (names.get(d.measure) or [d.measure, d.measure])[1 if lang == "en" else 0]
            lines.append(
                "  " + t(lang, "web.deviation", measure=name, deviation=d.deviation, since=d.since)
            )
        for rec in r.recommendations:
            sent = rec.sent_on.isoformat() if rec.sent_on else ""
            lines.append("  " + t(lang, "web.recommendation", title=rec.title, sent=sent))
    lines += ["", t(lang, "overview.weekly_link", url=str(params.get("url", "")))]
    subject = t(lang, "overview.weekly_subject", region=view.rbr_name)
    plain, page = render_email(
        EmailBody(subject=subject, text="\n".join(lines), language=lang, footer="")
    )
    return Message(
        row_id=row.id or 0,
        key=row.key,
        address=row.address,
        subject=subject,
        text=plain,
        html=page,
    )
