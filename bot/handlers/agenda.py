"""``/agenda show|add|move|drop|done|send|help``: a meeting's agenda in Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks import chunks, section
from bot.handlers.common import refusal, reply_ephemeral, shielded, slack_actor, unescape, words
from bot.i18n import format_date, t, user_error
from bot.services.agendas.changes import add_item, done_item, drop_item, move_item
from bot.services.agendas.items import open_agenda
from bot.services.agendas.render import agenda_sheet, agenda_text
from bot.services.agendas.sending import send_agenda
from bot.services.delivery_state import slack_delivery_note
from bot.services.hearings import Actor
from bot.slack_app import SlackDeps
from bot.slack_text import escape, slack_t
from scheduler.errors import AarshjulError, InputError

#: Sub-commands and how many words each takes after its name (at least).
ARITY = {"show": 1, "add": 2, "move": 3, "drop": 2, "done": 2, "send": 1}


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    @app.command("/agenda")
    @shielded(deps)
    async def agenda_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        typed = unescape(command.get("text")).strip()
        args = words(command.get("text"))
        sub = args[0].lower() if args else "help"
        person = await deps.person(user)
        lang = deps.language(user, person)
        if sub in ("help", "hjælp") or sub not in ARITY or len(args) <= ARITY[sub]:
            key = "agenda.help" if sub in ("help", "hjælp") else "agenda.usage"
            await reply_ephemeral(respond, slack_t(lang, key))
            return
        if person is None:
            text = slack_t(
                lang, "slack.error", message=slack_t(lang, "agenda.error.unknown_person")
            )
            await reply_ephemeral(respond, text)
            return
        who = slack_actor(person, user)
        try:
            if sub == "show":
                async with ctx.db.transaction() as session:
                    view = await open_agenda(session, ctx, who, args[1])
                body = agenda_text(agenda_sheet(view, lang, ctx.tz, ctx.today()))
                head = t(
                    lang,
                    "agenda.head",
                    id=view.meeting.id,
                    title=view.meeting.title,
                    council=view.council.name,
                    date=format_date(view.meeting.start_at.astimezone(ctx.tz).date(), lang),
                )
                text = escape(f"{head}\n\n{body}")
                blocks = [section(piece) for piece in chunks(text)][:45]
                await reply_ephemeral(respond, text.cut(3000), blocks)
            elif sub == "add":
                # "/agenda add TARGET title | text": the rest of the line after the target.
                rest = typed.split(None, 2)[2] if len(typed.split(None, 2)) > 2 else ""
                title, _, body = rest.partition("|")
                target = args[1]
                numeric = target.lstrip("#").isdigit()
                async with ctx.db.transaction() as session:
                    item, meeting = await add_item(
                        session,
                        ctx,
                        who,
                        title=title,
                        text=body,
                        council_key=None if numeric else target,
                        meeting_id=target if numeric else None,
                    )
                    if meeting is not None:
                        view = await open_agenda(session, ctx, Actor("aarshjul"), meeting.id or 0)
                        number = view.items.index(item) + 1
                if meeting is None:
                    said = slack_t(lang, "agenda.added_waiting", council=target, title=item.title)
                else:
                    said = slack_t(
                        lang, "agenda.added", number=number, meeting=meeting.id, title=item.title
                    )
                await reply_ephemeral(respond, said)
            elif sub == "move":
                async with ctx.db.transaction() as session:
                    view = await move_item(session, ctx, who, args[1], args[2], args[3])
                moved = view.item(args[3])
                await reply_ephemeral(
                    respond,
                    slack_t(
                        lang,
                        "agenda.moved",
                        title=moved.title,
                        number=view.items.index(moved) + 1,
                        meeting=view.meeting.id,
                    ),
                )
            elif sub in ("drop", "done"):
                change = drop_item if sub == "drop" else done_item
                async with ctx.db.transaction() as session:
                    item, view = await change(session, ctx, who, args[1], args[2])
                key = "agenda.dropped" if sub == "drop" else "agenda.done"
                said = slack_t(lang, key, title=item.title, meeting=view.meeting.id)
                await reply_ephemeral(respond, said)
            elif sub == "send":
                async with ctx.db.transaction() as session:
                    view, queued = await send_agenda(session, ctx, who, args[1])
                if not queued:
                    said = slack_t(lang, "agenda.sent_already", meeting=view.meeting.id)
                else:
                    deps.wake()
                    said = slack_t(
                        lang,
                        "agenda.sent",
                        meeting=view.meeting.id,
                        queued=queued,
                        delivery=await slack_delivery_note(ctx, lang),
                    )
                await reply_ephemeral(respond, said)
            else:  # pragma: no cover - ARITY lists every sub-command above
                raise user_error(InputError, "agenda.usage")
        except AarshjulError as exc:
            await reply_ephemeral(respond, refusal(exc, lang, user=user, action=f"agenda.{sub}"))

    return ["/agenda"]
