"""Opening a hearing from Slack: the form, its confirmation step, and the prompt button.

The form's submission opens the hearing in one transaction (a re-sent request
finds the hearing its first copy opened) and acknowledges after the commit.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks import (
    OPEN_CONFIRM_VIEW,
    OPEN_VIEW,
    PROMPT_BUTTON,
    confirm_open_modal,
    open_modal,
    plain,
    section,
)
from bot.handlers.common import (
    prompt_target,
    refusal,
    reply_ephemeral,
    selected,
    selected_users,
    shielded,
    slack_actor,
)
from bot.i18n import error_text, format_date
from bot.observability import log_event
from bot.services.app import AppContext
from bot.services.cycle import parse_date
from bot.services.delivery_state import slack_delivery_note
from bot.services.hearing_lifecycle import (
    HearingDraft,
    check_draft,
    hearing_warnings,
    open_hearing_once,
)
from bot.slack_app import SlackDeps, match_people_by_email
from bot.slack_text import SlackText, slack_t
from scheduler.errors import AarshjulError

log = logging.getLogger("aarshjul.slack")
SUBJECT_OF_EVENT = {
    "employment_plan_hearing": "employment_plan",
    "result_review_hearing": "result_review",
}
OPEN_ERROR_FIELD = {
    "hearing.error.bad_url": "document",
    "hearing.error.past_deadline": "deadline",
    "hearing.error.far_deadline": "deadline",
    "input.bad_date": "deadline",
    "input.no_such_day": "deadline",
    "input.no_such_month": "deadline",
    "hearing.error.no_title": "title",
    "hearing.error.control": "title",
    "hearing.error.too_long": "title",
    "hearing.error.bad_subject": "subject",
}


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    """The opening form's listeners; ``/hearing open`` itself is in :mod:`bot.handlers.hearing`."""
    ctx = deps.ctx
    actor_of = slack_actor
    reply = reply_ephemeral

    async def open_from_values(
        ack: Any, body: dict[str, Any], view: dict[str, Any], draft: HearingDraft, confirmed: bool
    ) -> None:
        user = body["user"]["id"]
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"council": slack_t(lang, "hearing.error.unknown_person")},
            )
            return
        who = actor_of(person, user)
        try:
            async with ctx.db.session() as session:
                _, draft = await check_draft(session, ctx, who, draft)
        except AarshjulError as exc:
            if confirmed:
                await ack(response_action="update", view=error_view(lang, error_text(exc, lang)))
                return
            field = OPEN_ERROR_FIELD.get(exc.key or "", "council")
            refusal(exc, lang, user=user, action="hearing.open")
            await ack(response_action="errors", errors={field: error_text(exc, lang)[:150]})
            return
        warnings = hearing_warnings(ctx, draft.deadline, lang)
        if warnings and not confirmed:
            await ack(
                response_action="push",
                view=confirm_open_modal(warnings, json.loads(draft_json(draft)), lang),
            )
            return
        result = await open_hearing_once(ctx, who, draft, request_key=f"view:{view['id']}")
        await ack(response_action="clear")
        deps.wake()
        log_event(log, "hearing-opened", hearing=result.hearing.id, created=result.created)

    @app.view(OPEN_VIEW)
    async def open_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        meta = json.loads(view.get("private_metadata") or "{}")
        lang = deps.language(body["user"]["id"])
        try:
            deadline = parse_date(selected(values, "deadline") or "")
        except AarshjulError as exc:
            await ack(response_action="errors", errors={"deadline": error_text(exc, lang)})
            return
        invitees = await people_ids(deps, selected_users(values, "invitees"))
        if invitees is None:
            await ack(
                response_action="errors",
                errors={"invitees": slack_t(lang, "slack.hearing.unknown_invitee")},
            )
            return
        draft = HearingDraft(
            council_key=selected(values, "council") or "",
            title=selected(values, "title") or "",
            deadline=deadline,
            subject=selected(values, "subject") or "other",
            document_url=selected(values, "document"),
            invitee_ids=tuple(invitees),
            cycle_event_id=meta.get("cycle_event_id"),
        )
        await open_from_values(ack, body, view, draft, confirmed=False)

    @app.view(OPEN_CONFIRM_VIEW)
    async def open_confirmed(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft = draft_from_json(view.get("private_metadata") or "{}")
        await open_from_values(ack, body, view, draft, confirmed=True)

    @app.action("hearing_open_anyway")
    @shielded(deps)
    async def open_anyway(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        if person is None:
            await reply(
                respond,
                slack_t(lang, "slack.error", message=slack_t(lang, "hearing.error.unknown_person")),
            )
            return
        try:
            draft = draft_from_json(action.get("value") or "{}")
            result = await open_hearing_once(
                ctx,
                actor_of(person, user),
                draft,
                request_key=f"confirm:{message_ts(body, action)}",
            )
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action="hearing.open"))
            return
        deps.wake()
        await respond(text=await opened_text(ctx, result, lang), replace_original=True)

    @app.action(PROMPT_BUTTON)
    @shielded(deps)
    async def prompt_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        target = await prompt_target(deps, body, action, title_key="hearing.modal.open.title")
        if target is None:
            return
        event, council, lang = target.event, target.council, target.lang
        view = open_modal(
            target.councils,
            lang,
            council_key=council.key,
            title=event.title_en if lang == "en" else event.title_da,
            deadline=event.date,
            subject=SUBJECT_OF_EVENT.get(event.template_key, "other"),
            cycle_event_id=event.id,
        )
        deps.background(match_people_by_email(deps, [council.id or 0]))
        await deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    return []


def message_ts(body: dict[str, Any], action: dict[str, Any]) -> str:
    """The message a button sits in: the same on Slack's re-sent requests."""
    return str((body.get("container") or {}).get("message_ts") or action.get("action_ts") or "")


async def opened_text(ctx: AppContext, result: Any, lang: str) -> SlackText:
    """The reply to an opening; it says whether the messages go out now (a worker is
    alive) or wait in the outbox."""
    if not result.created:
        return slack_t(lang, "slack.hearing.already_open", id=result.hearing.id)
    return slack_t(
        lang,
        "hearing.open.done",
        id=result.hearing.id,
        council=result.council.name,
        invitees=result.invitees,
        date=format_date(result.hearing.deadline, lang, long=True),
        delivery=await slack_delivery_note(ctx, lang),
    )


def draft_json(draft: HearingDraft) -> str:
    return json.dumps(
        {
            "council": draft.council_key,
            "title": draft.title,
            "deadline": draft.deadline.isoformat(),
            "subject": draft.subject,
            "document": draft.document_url,
            "invitees": list(draft.invitee_ids),
            "cycle_event_id": draft.cycle_event_id,
        }
    )


def draft_from_json(text: str) -> HearingDraft:
    data = json.loads(text)
    return HearingDraft(
        council_key=str(data.get("council") or ""),
        title=str(data.get("title") or ""),
        deadline=date.fromisoformat(data["deadline"]),
        subject=str(data.get("subject") or "other"),
        document_url=data.get("document"),
        invitee_ids=tuple(int(i) for i in data.get("invitees") or ()),
        cycle_event_id=data.get("cycle_event_id"),
    )


def error_view(lang: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(slack_t(lang, "hearing.modal.open.title"), 24),
        "close": plain(slack_t(lang, "slack.ok"), 24),
        "blocks": [section(slack_t(lang, "slack.error", message=text))],
    }


async def people_ids(deps: SlackDeps, user_ids: list[str]) -> list[int] | None:
    """Person ids of the chosen Slack users; None if one of them is unknown."""
    found = []
    for user in user_ids:
        person = await deps.person(user, lookup=False)
        if person is None:
            return None
        found.append(person.id or 0)
    return found
