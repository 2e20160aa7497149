"""``/hearing``: open, list, status, reply, away, close, move, help.

The answer button and modal are in :mod:`bot.handlers.hearing_answer`, the
opening form in :mod:`bot.handlers.hearing_open`.

Every slash command is acknowledged first and answered afterwards through the
command's ``response_url`` (ephemeral), so a slow database or Web API never
makes Slack show a time-out. Modal submissions are the exception Slack
imposes: the answer is stored before the ack, so a validation error can go
back into the modal; that write is one short transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from bot.blocks import (
    HEARING_MORE_BUTTON,
    escape,
    list_blocks,
    open_modal,
    plain,
    section,
)
from bot.handlers.common import (
    mention_user,
    refusal,
    register_more_button,
    reply_ephemeral,
    shielded,
    slack_actor,
    unescape,
    words,
)
from bot.handlers.hearing_open import draft_json, opened_text
from bot.i18n import format_date, user_error
from bot.observability import log_event
from bot.services.cycle import parse_date
from bot.services.delivery_state import slack_delivery_note
from bot.services.hearing_answers import (
    parse_text_answer,
    queue_receipt,
    record_answer,
)
from bot.services.hearing_lifecycle import (
    HearingDraft,
    check_draft,
    close_hearing,
    hearing_warnings,
    move_deadline,
    open_hearing_once,
)
from bot.services.hearing_lists import councils_of, list_hearings
from bot.services.hearings import hearing_status, register_absence, status_lines
from bot.slack_app import SlackDeps, match_people_by_email
from bot.slack_text import join, slack_t
from scheduler.errors import AarshjulError, InputError, PermissionDenied
from scheduler.model import Role
from storage.models import Council, Membership, Person

log = logging.getLogger("aarshjul.slack")


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx
    actor_of = slack_actor
    reply = reply_ephemeral

    @app.command("/hearing")
    @shielded(deps)
    async def hearing_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        args = words(command.get("text"))
        sub = args[0].lower() if args else "help"
        person = await deps.person(user)
        if not (sub == "open" and len(args) == 1):  # the form must open within 3 s
            await deps.learn_locale(user, person)
        lang = deps.language(user, person)
        if sub in ("help", "hjælp"):
            await reply(respond, slack_t(lang, "slack.hearing.help"))
            return
        if person is None:
            await reply(
                respond,
                slack_t(lang, "slack.error", message=slack_t(lang, "hearing.error.unknown_person")),
            )
            return
        try:
            handler = SUBCOMMANDS.get(sub)
            if handler is None:
                await reply(respond, slack_t(lang, "slack.hearing.unknown_sub", sub=sub[:30]))
                return
            await handler(command, args[1:], person, lang, respond)
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action=f"hearing.{sub}"))

    async def sub_open(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        user = command["user_id"]
        if not args:
            async with ctx.db.session() as session:
                councils = await councils_of(session, person, [Role.SECRETARY])
            if not councils:
                raise_not_secretary(lang)
            await deps.client.views_open(
                trigger_id=command["trigger_id"], view=open_modal(councils, lang)
            )
            deps.background(match_people_by_email(deps, [c.id or 0 for c in councils]))
            deps.background(deps.learn_locale(user, person))
            return
        if len(args) < 3:
            raise user_error(InputError, "slack.hearing.open_usage")
        draft = HearingDraft(
            council_key=args[0], title=" ".join(args[2:]), deadline=parse_date(args[1])
        )
        who = actor_of(person, user)
        async with ctx.db.session() as session:
            council, draft = await check_draft(session, ctx, who, draft)
        warnings = hearing_warnings(ctx, draft.deadline, lang)
        if warnings:
            value = draft_json(draft)
            await reply(
                respond,
                slack_t(lang, "hearing.open.warnings", warnings=" ".join(warnings)),
                [
                    section(join("\n", [escape(f"⚠️ {w}") for w in warnings])),
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "hearing_open_anyway",
                                "text": plain(slack_t(lang, "hearing.modal.confirm.submit")),
                                "value": value,
                                "style": "danger",
                            }
                        ],
                    },
                ],
            )
            return
        await match_people_by_email(deps, [council.id or 0])
        result = await open_hearing_once(
            ctx, who, draft, request_key=f"cmd:{command['trigger_id']}"
        )
        deps.wake()
        await reply(respond, await opened_text(ctx, result, lang))

    async def sub_list(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        await reply_page(respond, person, lang, args[0] if args else None, 0)

    async def reply_page(
        respond: Any, person: Person, lang: str, key: str | None, offset: int
    ) -> None:
        """One page of the hearings in the person's councils, with "vis flere" if more."""
        async with ctx.db.session() as session:
            page = await list_hearings(session, key, person=person, offset=offset)
        if not page.rows:
            await reply(respond, slack_t(lang, "hearing.list.none"))
            return
        lines = [
            slack_t(
                lang,
                "slack.hearing.list_line",
                id=h.id,
                title=escape(h.title),
                council=escape(c.name),
                date=format_date(h.deadline, lang, long=True),
                state=slack_t(lang, f"hearing.state.{h.state}"),
                answered=answered,
                invited=invited,
            )
            for h, c, invited, answered in page.rows
        ]
        more = None if page.next_offset is None else {"offset": page.next_offset, "council": key}
        await reply(respond, join("\n", lines), list_blocks(lines, HEARING_MORE_BUTTON, more, lang))

    async def more_hearings(respond: Any, person: Person, lang: str, value: dict[str, Any]) -> None:
        key = value.get("council")
        await reply_page(
            respond, person, lang, key if isinstance(key, str) else None, value["offset"]
        )

    register_more_button(app, deps, HEARING_MORE_BUTTON, more_hearings)

    async def sub_status(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if not args:
            raise user_error(InputError, "slack.hearing.id_usage")
        async with ctx.db.session() as session:
            status = await hearing_status(session, ctx, args[0])
            await require_council_member(session, person, status.council, "hearing.status")
        await reply(respond, escape("\n".join(status_lines(status, lang))))

    async def sub_reply(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if not args:
            raise user_error(InputError, "slack.hearing.reply_usage")
        text = unescape(command.get("text")).strip()
        # Keep the member's own line breaks and spacing: drop only "reply ID".
        body = text.split(None, 2)[2] if len(text.split(None, 2)) > 2 else ""
        async with ctx.db.transaction() as session:
            result = await record_answer(session, ctx, args[0], person, parse_text_answer(body))
            if result.changed:
                await queue_receipt(session, ctx, result, command["user_id"], lang)
        deps.wake()
        key = "slack.hearing.reply_late" if result.answer.late else "slack.hearing.reply_done"
        await reply(
            respond, slack_t(lang, key, id=result.hearing.id, version=result.answer.version)
        )

    async def sub_away(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if len(args) < 2:
            raise user_error(InputError, "slack.hearing.away_usage")
        start, end = parse_date(args[0]), parse_date(args[1])
        substitute = None
        if len(args) > 2:
            substitute = await _find_person(deps, args[2])
            if substitute is None:
                raise user_error(InputError, "hearing.error.unknown_substitute", value=args[2][:60])
        async with ctx.db.transaction() as session:
            await register_absence(
                session, ctx, person, start, end, substitute, actor=f"slack:{command['user_id']}"
            )
        deps.wake()
        await reply(
            respond,
            slack_t(
                lang,
                "slack.hearing.away_done",
                start=format_date(start, lang, long=True),
                end=format_date(end, lang, long=True),
                substitute=substitute.name if substitute else "-",
            ),
        )

    async def sub_close(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if not args:
            raise user_error(InputError, "slack.hearing.id_usage")
        async with ctx.db.transaction() as session:
            status = await close_hearing(
                session, ctx, actor_of(person, command["user_id"]), args[0]
            )
        deps.wake()
        await reply(
            respond,
            slack_t(
                lang,
                "slack.hearing.closed",
                id=status.hearing.id,
                answered=len(status.answered),
                invited=len(status.seats),
                delivery=await slack_delivery_note(ctx, lang),
            ),
        )

    async def sub_move(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if len(args) < 2:
            raise user_error(InputError, "slack.hearing.move_usage")
        async with ctx.db.transaction() as session:
            hearing, old = await move_deadline(
                session, ctx, actor_of(person, command["user_id"]), args[0], parse_date(args[1])
            )
        deps.wake()
        await reply(
            respond,
            slack_t(
                lang,
                "hearing.move.done",
                id=hearing.id,
                old=format_date(old, lang, long=True),
                new=format_date(hearing.deadline, lang, long=True),
            ),
        )

    SUBCOMMANDS = {
        "open": sub_open,
        "list": sub_list,
        "status": sub_status,
        "reply": sub_reply,
        "svar": sub_reply,
        "away": sub_away,
        "close": sub_close,
        "move": sub_move,
    }

    async def require_council_member(
        session: Any, person: Person, council: Council, action: str
    ) -> None:
        role = await session.scalar(
            select(Membership.role).where(
                Membership.person_id == person.id, Membership.council_id == council.id
            )
        )
        if role is None:
            log_event(log, "refused", logging.WARNING, action=action, person=person.id)
            raise user_error(PermissionDenied, "slack.hearing.not_member", council=council.name)

    def raise_not_secretary(lang: str) -> None:
        raise user_error(PermissionDenied, "slack.hearing.no_councils")

    return ["/hearing"]


async def _find_person(deps: SlackDeps, text: str) -> Person | None:
    """A substitute named as ``<@U…>`` or by e-mail."""
    user = mention_user(text)
    if user:
        return await deps.person(user)
    async with deps.ctx.db.session() as session:
        return await session.scalar(select(Person).where(Person.email == text.strip().lower()))
