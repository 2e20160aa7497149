"""``/seminar new|list|attendees|cancel|help`` and the Deltager / Deltager ikke / Måske buttons."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks import (
    MEETING_PROMPT_BUTTON,
    RSVP_BUTTON,
    SEMINAR_MORE_BUTTON,
    SEMINAR_VIEW,
    escape,
    list_blocks,
)
from bot.handlers.common import (
    prompt_target,
    refusal,
    register_more_button,
    reply_ephemeral,
    shielded,
    slack_actor,
    words,
)
from bot.handlers.seminar_form import confirmed, form_error, form_values, seminar_modal
from bot.i18n import format_date, user_error
from bot.i18n import t as plain_t
from bot.services.delivery_state import slack_delivery_note
from bot.services.hearing_lists import councils_of
from bot.services.meeting_input import meeting_warnings
from bot.services.meeting_lists import upcoming_meetings
from bot.services.meetings import (
    MeetingDraft,
    cancel_meeting,
    create_meeting,
    invite,
    meeting_view,
    parse_local,
    record_response,
)
from bot.slack_app import SlackDeps
from bot.slack_text import bold, join, slack_t
from scheduler.errors import AarshjulError, InputError
from scheduler.model import Role
from storage.models import MeetingInvitee, Person


class NotYet(Exception):
    """The form is valid but falls on a closed day not yet confirmed: roll back, ask."""


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    reply = reply_ephemeral

    @app.command("/seminar")
    @shielded(deps)
    async def seminar_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        args = words(command.get("text"))
        sub = args[0].lower() if args else "help"
        person = await deps.person(user)
        lang = deps.language(user, person)
        if sub in ("help", "hjælp"):
            await reply(respond, slack_t(lang, "seminar.help"))
            return
        if person is None:
            await reply(
                respond,
                slack_t(lang, "slack.error", message=slack_t(lang, "hearing.error.unknown_person")),
            )
            return
        try:
            if sub in ("new", "ny"):
                async with ctx.db.session() as session:
                    councils = await councils_of(session, person, [Role.SECRETARY])
                if not councils:
                    raise user_error(InputError, "slack.hearing.no_councils")
                await deps.client.views_open(
                    trigger_id=command["trigger_id"], view=seminar_modal(councils, lang)
                )
            elif sub == "list":
                await reply_page(respond, person, lang, 0)
            elif sub == "attendees" and len(args) > 1:
                async with ctx.db.session() as session:
                    view = await meeting_view(session, args[1])
                lines = [bold(escape(view.meeting.title))]
                lines += [escape(attendee_line(i, lang)) for i in view.invitees]
                lines.append(slack_t(lang, "meeting.cli.counts", **view.counts()))
                await reply(respond, join("\n", lines))
            elif sub == "cancel" and len(args) > 1:
                async with ctx.db.transaction() as session:
                    view, queued = await cancel_meeting(
                        session, ctx, slack_actor(person, user), args[1]
                    )
                deps.wake()
                await reply(
                    respond,
                    slack_t(
                        lang,
                        "meeting.cli.cancelled",
                        id=view.meeting.id,
                        queued=queued,
                        delivery=await slack_delivery_note(ctx, lang),
                    ),
                )
            else:
                await reply(respond, slack_t(lang, "seminar.usage"))
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action=f"seminar.{sub}"))

    async def reply_page(respond: Any, person: Any, lang: str, offset: int) -> None:
        """A page of the coming meetings of the person's councils (or invited to)."""
        async with ctx.db.session() as session:
            page = await upcoming_meetings(session, ctx.clock.now(), person=person, offset=offset)
        lines = [
            slack_t(
                lang,
                "seminar.list_line",
                id=m.id,
                title=escape(m.title),
                date=format_date(m.start_at.astimezone(ctx.tz).date(), lang, long=True),
                time=f"{m.start_at.astimezone(ctx.tz):%H:%M}",
                state=slack_t(lang, f"seminar.state.{m.state}"),
            )
            for m, _ in page.rows
        ]
        if not lines:
            await reply(respond, slack_t(lang, "seminar.none"))
            return
        more = None if page.next_offset is None else {"offset": page.next_offset}
        blocks = list_blocks(lines, SEMINAR_MORE_BUTTON, more, lang)
        await respond(
            text=join("\n", lines), blocks=blocks, response_type="ephemeral", replace_original=False
        )

    async def more_meetings(respond: Any, person: Person, lang: str, value: dict[str, Any]) -> None:
        await reply_page(respond, person, lang, value["offset"])

    register_more_button(app, deps, SEMINAR_MORE_BUTTON, more_meetings)

    @app.action(re.compile(rf"^{RSVP_BUTTON}_(yes|no|maybe)$"))
    @shielded(deps)
    async def rsvp(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        meeting_id, _, answer = str(action.get("value", "")).partition(":")
        try:
            if person is None:
                raise user_error(InputError, "hearing.error.unknown_person")
            async with ctx.db.transaction() as session:
                await record_response(session, ctx, meeting_id, person, answer)
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action="seminar.rsvp"))
            return
        await reply(
            respond,
            slack_t(lang, "seminar.answered", answer=slack_t(lang, f"meeting.response.{answer}")),
        )

    @app.view(SEMINAR_VIEW)
    async def seminar_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        values = view["state"]["values"]
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"council": slack_t(lang, "hearing.error.unknown_person")},
            )
            return
        filled = form_values(values)
        event_id = json.loads(view.get("private_metadata") or "{}").get("cycle_event_id")
        day = filled.get("date", "")
        who = slack_actor(person, user)
        try:
            date.fromisoformat(day)
            draft = MeetingDraft(
                council_keys=(filled.get("council", ""),),
                title=filled.get("title", ""),
                start=parse_local(f"{day} {filled.get('start', '')}", ctx, "start"),
                end=parse_local(f"{day} {filled.get('end', '')}", ctx, "end"),
                location=filled.get("location"),
                url=filled.get("url"),
                agenda=filled.get("agenda", ""),
                extra=tuple(a for a in re.split(r"[,;\s]+", filled.get("extra", "")) if a),
                cycle_event_id=event_id,
            )
            # A closed day is asked about once the rest is valid, and again if the
            # times change after the box was ticked.
            warnings = meeting_warnings(ctx, draft.start, draft.end, lang)
            asked = f"{draft.start.isoformat()}/{draft.end.isoformat()}"
            async with ctx.db.transaction() as session:
                created = await create_meeting(session, ctx, who, draft)
                if warnings and confirmed(values) != asked:
                    raise NotYet
                await invite(session, ctx, who, created.meeting.id or 0)
        except NotYet:
            async with ctx.db.session() as session:
                councils = await councils_of(session, person, [Role.SECRETARY])
            again = seminar_modal(
                councils,
                lang,
                cycle_event_id=event_id,
                filled=filled,
                warnings=warnings,
                confirm=asked,
            )
            await ack(response_action="update", view=again)
            return
        except AarshjulError as exc:
            block, text = form_error(exc, lang)
            refusal(exc, lang, user=user, action="seminar.new")
            await ack(response_action="errors", errors={block: text})
            return
        except ValueError:
            await ack(response_action="errors", errors={"date": slack_t(lang, "seminar.bad_date")})
            return
        await ack(response_action="clear")
        deps.wake()

    @app.action(MEETING_PROMPT_BUTTON)
    @shielded(deps)
    async def prompt_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        target = await prompt_target(deps, body, action, title_key="seminar.modal.title")
        if target is None:
            return
        event, council, lang = target.event, target.council, target.lang
        view = seminar_modal(
            target.councils,
            lang,
            council_key=council.key,
            title=event.title_en if lang == "en" else event.title_da,
            day=event.date,
            cycle_event_id=event.id,
        )
        await deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    return ["/seminar"]


def attendee_line(invitee: MeetingInvitee, lang: str) -> str:
    """``• Name: Deltager (kalender)``: the answer and where it came from (plain text)."""
    line = f"• {invitee.name}: {plain_t(lang, f'meeting.response.{invitee.response}')}"
    if invitee.source:
        line += f" ({plain_t(lang, f'inbound_calendar.source.{invitee.source}')})"
    return line
