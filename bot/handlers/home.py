"""App Home: the hearings waiting for the user, their councils' next deadlines and
meetings, and a button to register an absence with a substitute."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlmodel import col, select

from bot.blocks import (
    AWAY_BUTTON,
    AWAY_VIEW,
    HOME_MORE_BUTTON,
    answer_button,
    away_modal,
    context,
    escape,
    more_button,
    more_value,
    plain,
    section,
)
from bot.handlers.common import selected, shielded
from bot.handlers.home_region import region_blocks
from bot.i18n import error_text, format_date
from bot.services.cycle import parse_date
from bot.services.hearing_lists import awaiting, member_councils
from bot.services.hearings import register_absence
from bot.slack_app import SlackDeps
from bot.slack_text import bold, join, slack_t
from bot.web_pages import public_base_url
from scheduler.errors import AarshjulError
from storage.models import Council, CycleEvent, Person

log = logging.getLogger("aarshjul.slack")
DEADLINE_DAYS = 60
MEETING_DAYS = 120
#: How many coming deadlines and meetings App Home shows (the rest: /cycle).
DEADLINE_ROWS = 15
MEETING_ROWS = 10


async def home_view(
    deps: SlackDeps, person: Person | None, lang: str, offset: int = 0
) -> dict[str, Any]:
    """The App Home tab: a page of the hearings waiting for ``person`` (from ``offset``,
    with "vis flere" when there are more), then their councils' next deadlines and
    meetings. Every list is a bounded query: the user's councils, a LIMIT in SQL."""
    ctx = deps.ctx
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(slack_t(lang, "slack.home.title"))},
    ]
    if person is None:
        blocks.append(section(slack_t(lang, "hearing.error.unknown_person")))
        return {"type": "home", "blocks": blocks}
    today = ctx.today()
    async with ctx.db.session() as session:
        waiting = await awaiting(session, ctx, person, offset=offset)
        coming = (
            select(CycleEvent, Council.name)
            .join(Council, col(Council.id) == CycleEvent.council_id)
            .where(
                col(CycleEvent.council_id).in_(member_councils(person)),
                col(CycleEvent.date) >= today,
            )
            .order_by(col(CycleEvent.date), col(Council.name), col(CycleEvent.id))
        )
        deadlines = (
            await session.execute(
                coming.where(
                    CycleEvent.type != "meeting",
                    col(CycleEvent.date) <= today + timedelta(days=DEADLINE_DAYS),
                ).limit(DEADLINE_ROWS)
            )
        ).all()
        meetings = (
            await session.execute(
                coming.where(
                    CycleEvent.type == "meeting",
                    col(CycleEvent.date) <= today + timedelta(days=MEETING_DAYS),
                ).limit(MEETING_ROWS)
            )
        ).all()
    blocks.append(section(bold(slack_t(lang, "slack.home.waiting"))))
    if not waiting.rows:
        blocks.append(context(slack_t(lang, "slack.home.none_waiting")))
    for hearing, council in waiting.rows:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": slack_t(
                        lang,
                        "slack.home.hearing",
                        title=escape(hearing.title),
                        council=escape(council.name),
                        date=format_date(hearing.deadline, lang, long=True),
                    ),
                },
                "accessory": answer_button(hearing.id or 0, lang),
            }
        )
    if waiting.next_offset is not None:
        blocks.append(more_button(HOME_MORE_BUTTON, {"offset": waiting.next_offset}, lang))
    blocks.append({"type": "divider"})
    blocks.append(section(bold(slack_t(lang, "slack.home.deadlines"))))
    lines = [
        slack_t(
            lang,
            "slack.home.event",
            date=format_date(e.date, lang, long=True),
            title=escape(e.title_en if lang == "en" else e.title_da),
            council=escape(name),
        )
        for e, name in deadlines
    ]
    blocks.append(section(join("\n", lines) if lines else slack_t(lang, "slack.home.none")))
    blocks.append(section(bold(slack_t(lang, "slack.home.meetings"))))
    meeting_lines = [
        slack_t(
            lang,
            "slack.home.event",
            date=format_date(e.date, lang, long=True),
            title=escape(e.title_en if lang == "en" else e.title_da),
            council=escape(name),
        )
        for e, name in meetings
    ]
    none = slack_t(lang, "slack.home.none")
    blocks.append(section(join("\n", meeting_lines) if meeting_lines else none))
    async with ctx.db.session() as session:
        blocks.extend(await region_blocks(ctx, session, person, lang, public_base_url(ctx.config)))
    blocks.append({"type": "divider"})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": AWAY_BUTTON,
                    "text": plain(slack_t(lang, "hearing.button.away")),
                }
            ],
        }
    )
    return {"type": "home", "blocks": blocks[:100]}


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    async def publish(user: str, offset: int = 0) -> None:
        person = await deps.person(user)
        lang = deps.language(user, person)
        view = await home_view(deps, person, lang, offset)
        await deps.client.views_publish(user_id=user, view=view)

    @app.event("app_home_opened")
    @shielded(deps)
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await publish(event["user"])

    @app.action(HOME_MORE_BUTTON)
    @shielded(deps)
    async def more_waiting(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "Vis flere" on App Home: publish it again with the next page of hearings."""
        await ack()
        await publish(body["user"]["id"], more_value(action)["offset"])

    @app.action(AWAY_BUTTON)
    @shielded(deps)
    async def away_button(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        lang = deps.language(user, await deps.person(user, lookup=False))
        await deps.client.views_open(trigger_id=body["trigger_id"], view=away_modal(lang))

    @app.view(AWAY_VIEW)
    async def away_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        values = view["state"]["values"]
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"start": slack_t(lang, "hearing.error.unknown_person")},
            )
            return
        substitute_user = selected(values, "substitute")
        substitute = await deps.person(substitute_user, lookup=False) if substitute_user else None
        if substitute_user and substitute is None:
            await ack(
                response_action="errors",
                errors={
                    "substitute": slack_t(
                        lang, "hearing.error.unknown_substitute", value=substitute_user
                    )
                },
            )
            return
        try:
            start = parse_date(selected(values, "start") or "")
            end = parse_date(selected(values, "end") or "")
            async with ctx.db.transaction() as session:
                await register_absence(
                    session, ctx, person, start, end, substitute, actor=f"slack:{user}"
                )
        except AarshjulError as exc:
            await ack(response_action="errors", errors={"end": error_text(exc, lang)[:150]})
            return
        await ack()
        deps.wake()
        await publish(user)

    return []
