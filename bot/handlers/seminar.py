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
    plain,
    section,
)
from bot.handlers.common import (
    refusal,
    register_more_button,
    selected,
    shielded,
    words,
)
from bot.i18n import error_text, format_date, user_error
from bot.i18n import t as plain_t
from bot.services.hearing_lists import councils_of
from bot.services.hearings import Actor
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
from storage.models import Council, CycleEvent, Person

#: Which field of the form an error belongs to.
FIELD = {
    "meeting.error.no_title": "title",
    "meeting.error.bad_email": "extra",
    "meeting.error.end_before_start": "end",
    "meeting.error.past": "date",
    "meeting.error.bad_time": "start",
    "meeting.error.no_such_time": "start",
    "hearing.error.bad_url": "url",
    "meeting.error.too_long": "agenda",
}


def seminar_modal(
    councils: list[Council],
    lang: str,
    *,
    council_key: str | None = None,
    title: str = "",
    day: date | None = None,
    cycle_event_id: int | None = None,
) -> dict[str, Any]:
    """The secretary's form; a cycle event's prompt fills in council, title and date."""
    options = [{"text": plain(escape(c.name), 75), "value": c.key} for c in councils]
    council: dict[str, Any] = {"type": "static_select", "action_id": "council", "options": options}
    chosen = next((o for o in options if o["value"] == council_key), None)
    if chosen is None and len(options) == 1:
        chosen = options[0]
    if chosen:
        council["initial_option"] = chosen
    title_el: dict[str, Any] = {"type": "plain_text_input", "max_length": 200}
    if title:
        title_el["initial_value"] = title[:200]
    date_el: dict[str, Any] = {"type": "datepicker"}
    if day:
        date_el["initial_date"] = day.isoformat()

    def field(block: str, label: str, element: dict[str, Any], optional: bool = False) -> dict:
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": plain(slack_t(lang, f"seminar.modal.{label}")),
            "element": {**element, "action_id": block},
        }

    return {
        "type": "modal",
        "callback_id": SEMINAR_VIEW,
        "private_metadata": json.dumps({"cycle_event_id": cycle_event_id}),
        "title": plain(slack_t(lang, "seminar.modal.title"), 24),
        "submit": plain(slack_t(lang, "seminar.modal.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.cancel"), 24),
        "blocks": [
            field("council", "council", council),
            field("title", "what", title_el),
            field("date", "date", date_el),
            field("start", "start", {"type": "timepicker", "initial_time": "09:00"}),
            field("end", "end", {"type": "timepicker", "initial_time": "15:00"}),
            field("location", "location", {"type": "plain_text_input"}, optional=True),
            field("url", "url", {"type": "url_text_input"}, optional=True),
            field(
                "agenda",
                "agenda",
                {"type": "plain_text_input", "multiline": True, "max_length": 3000},
                optional=True,
            ),
            field("extra", "extra", {"type": "plain_text_input"}, optional=True),
        ],
    }


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    async def reply(respond: Any, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

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
                lines += [
                    escape(f"• {i.name}: {plain_t(lang, f'meeting.response.{i.response}')}")
                    for i in view.invitees
                ]
                lines.append(slack_t(lang, "meeting.cli.counts", **view.counts()))
                await reply(respond, join("\n", lines))
            elif sub == "cancel" and len(args) > 1:
                async with ctx.db.transaction() as session:
                    view, queued = await cancel_meeting(
                        session, ctx, Actor(f"slack:{user}", person), args[1]
                    )
                deps.wake()
                await reply(
                    respond,
                    slack_t(lang, "meeting.cli.cancelled", id=view.meeting.id, queued=queued),
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
        day = selected(values, "date") or ""
        try:
            date.fromisoformat(day)
            draft = MeetingDraft(
                council_keys=(selected(values, "council") or "",),
                title=selected(values, "title") or "",
                start=parse_local(f"{day} {selected(values, 'start') or ''}", ctx, "start"),
                end=parse_local(f"{day} {selected(values, 'end') or ''}", ctx, "end"),
                location=selected(values, "location"),
                url=selected(values, "url"),
                agenda=selected(values, "agenda") or "",
                extra=tuple(a for a in re.split(r"[,;\s]+", selected(values, "extra") or "") if a),
                cycle_event_id=json.loads(view.get("private_metadata") or "{}").get(
                    "cycle_event_id"
                ),
            )
            who = Actor(f"slack:{user}", person)
            async with ctx.db.transaction() as session:
                created = await create_meeting(session, ctx, who, draft)
                await invite(session, ctx, who, created.meeting.id or 0)
        except AarshjulError as exc:
            block = FIELD.get(exc.key or "", "council")
            refusal(exc, lang, user=user, action="seminar.new")
            await ack(response_action="errors", errors={block: error_text(exc, lang)[:150]})
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
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        async with ctx.db.session() as session:
            event = await session.get(CycleEvent, int(action.get("value") or 0))
            councils = await councils_of(session, person, [Role.SECRETARY]) if person else []
        if event is None or event.council_id not in {c.id for c in councils}:
            text = slack_t(lang, "slack.error", message=slack_t(lang, "slack.hearing.no_councils"))
            await deps.client.views_open(
                trigger_id=body["trigger_id"],
                view={
                    "type": "modal",
                    "title": plain(slack_t(lang, "seminar.modal.title"), 24),
                    "close": plain(slack_t(lang, "slack.ok"), 24),
                    "blocks": [section(text)],
                },
            )
            return
        council = next(c for c in councils if c.id == event.council_id)
        view = seminar_modal(
            councils,
            lang,
            council_key=council.key,
            title=event.title_en if lang == "en" else event.title_da,
            day=event.date,
            cycle_event_id=event.id,
        )
        await deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    return ["/seminar"]
