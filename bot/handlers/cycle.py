"""``/cycle [council] [year]`` and ``/cycle move EVENT YYYY-MM-DD reason…``.

The council defaults to the one whose channel the command is typed in, else
the user's only council.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlmodel import col, select

from bot.handlers.common import refusal, shielded, words
from bot.i18n import format_date, user_error
from bot.services.councils import get_council
from bot.services.cycle import check_year, council_year, move_event, parse_date
from bot.services.hearing_lists import councils_of
from bot.services.hearings import Actor, require_secretary
from bot.services.reminders import CYCLE_PREFIXES, sync_reminders
from bot.services.wheel.message import queue_slack_wheel
from bot.slack_app import SlackDeps
from bot.slack_text import join, slack_t
from scheduler.errors import AarshjulError, InputError, PermissionDenied
from storage.models import Council, Person

#: Coming deadlines shown by /cycle.
SHOWN = 12


async def channel_council(deps: SlackDeps, command: dict[str, Any]) -> Council | None:
    names = {
        str(command.get("channel_id") or ""),
        str(command.get("channel_name") or "").lstrip("#"),
    } - {""}
    async with deps.ctx.db.session() as session:
        rows = (
            await session.execute(
                select(Council).where(
                    col(Council.active).is_(True), col(Council.slack_channel).is_not(None)
                )
            )
        ).scalars()
        return next((c for c in rows if (c.slack_channel or "").lstrip("#") in names), None)


async def default_council(deps: SlackDeps, command: dict[str, Any], person: Person | None) -> str:
    council = await channel_council(deps, command)
    if council is not None:
        return council.key
    if person is not None:
        async with deps.ctx.db.session() as session:
            mine = await councils_of(session, person)
        if len(mine) == 1:
            return mine[0].key
    raise user_error(InputError, "slack.cycle.which_council")


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    @app.command("/cycle")
    @shielded(deps)
    async def cycle_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        args = words(command.get("text"))
        person = await deps.person(user)
        await deps.learn_locale(user, person)
        lang = deps.language(user, person)
        try:
            if args and args[0].lower() in ("move", "flyt"):
                text = await move(command, args[1:], person, lang)
            elif args and args[0].lower() in ("wheel", "hjul"):
                text = await wheel(command, args[1:], person, lang)
            elif args and args[0].lower() in ("help", "hjælp"):
                text = join(
                    "\n", [slack_t(lang, "slack.cycle.help"), slack_t(lang, "wheel.slack.help")]
                )
            else:
                text = await show(command, args, person, lang)
        except AarshjulError as exc:
            text = refusal(exc, lang, user=user, action="cycle")
        await respond(text=text, response_type="ephemeral")

    async def show(
        command: dict[str, Any], args: list[str], person: Person | None, lang: str
    ) -> str:
        key, year = _council_and_year(args)
        key = key or await default_council(deps, command, person)
        today = ctx.today()
        view = await council_year(ctx, key, year)
        coming = [e for e in view.entries if e.date >= today] if year is None else view.entries
        if year is None and len(coming) < SHOWN:
            nxt = await council_year(ctx, key, view.year + 1)
            coming += nxt.entries
        lines = [slack_t(lang, "slack.cycle.head", council=view.council.name)]
        for entry in coming[:SHOWN]:
            lines.append(
                slack_t(
                    lang,
                    "slack.cycle.line",
                    date=format_date(entry.date, lang, long=True),
                    title=entry.title(lang),
                    key=entry.key,
                )
            )
        if len(lines) == 1:
            lines.append(slack_t(lang, "slack.cycle.none"))
        return join("\n", lines)

    async def wheel(
        command: dict[str, Any], args: list[str], person: Person | None, lang: str
    ) -> str:
        """The wheel goes as a file in a DM, through the outbox: drawing and uploading
        it is the worker's job, after this reply."""
        key, year = _council_and_year(args)
        key = key or await default_council(deps, command, person)
        y = check_year(year or ctx.today().year)
        if person is None:
            raise user_error(InputError, "hearing.error.unknown_person")
        async with ctx.db.transaction() as session:
            council = await get_council(session, key)
            if council.id not in {c.id for c in await councils_of(session, person)}:
                # The wheel shows the council's own hearings and meetings.
                raise user_error(PermissionDenied, "wheel.slack.not_member", council=council.name)
            await queue_slack_wheel(
                session,
                council,
                y,
                user_id=command["user_id"],
                language=lang,
                request=str(command.get("trigger_id") or ctx.clock.now().isoformat()),
                now=ctx.clock.now(),
            )
        deps.wake()
        return slack_t(lang, "wheel.slack.queued", council=council.name, year=y)

    async def move(
        command: dict[str, Any], args: list[str], person: Person | None, lang: str
    ) -> str:
        if len(args) < 3:
            raise user_error(InputError, "slack.cycle.move_usage")
        if person is None:
            raise user_error(InputError, "hearing.error.unknown_person")
        event_key, new_date, reason = args[0], parse_date(args[1]), " ".join(args[2:])
        council_key = await default_council(deps, command, person)
        async with ctx.db.transaction() as session:
            council = await get_council(session, council_key)
            await require_secretary(
                session, Actor(f"slack:{command['user_id']}", person), council, "cycle.move"
            )
            result = await move_event(
                session,
                council,
                check_year(new_date.year),
                event_key,
                new_date,
                reason,
                ctx.template,
                ctx.calendar,
                now=ctx.clock.now(),
                actor=f"slack:{command['user_id']}",
                language=lang,
            )
            # Only what follows the cycle's dates; the council's hearings stay as planned.
            await sync_reminders(session, ctx, [council.id or 0], prefixes=CYCLE_PREFIXES)
        deps.wake()
        return slack_t(
            lang,
            "slack.cycle.moved",
            event=result.event.title_en if lang == "en" else result.event.title_da,
            old=format_date(result.old, lang, long=True),
            new=format_date(new_date, lang, long=True),
            followers=len(result.followers),
        )

    return ["/cycle"]


def _council_and_year(args: list[str]) -> tuple[str | None, int | None]:
    """``[council] [year]`` in either order."""
    key: str | None = None
    year: int | None = None
    for arg in args:
        if arg.isdigit():
            year = check_year(int(arg))
        else:
            key = arg
    return key, year
