"""The answer button and the answer modal of a hearing.

The button opens the form (within the trigger's 3 s). The submission is the
one request where Slack needs the outcome in the ack: a validation error goes
back into the modal. So it stores the answer and its receipt in one short
transaction (the hearing's row lock first; only that seat's reminders change)
and acknowledges after the commit: a member is never told "gemt" for an answer
that is not stored, and an answer that loses the race to a close is refused
with "høringen er lukket".
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks import ANSWER_BUTTON, ANSWER_VIEW, answer_modal
from bot.handlers.common import refusal, selected, shielded, show_error_modal
from bot.i18n import error_text
from bot.i18n import t as plain_t
from bot.observability import log_event
from bot.services.hearing_answers import AnswerInput, answer_form, queue_receipt, record_answer
from bot.services.hearings import MODAL_POSITIONS
from bot.slack_app import SlackDeps
from bot.slack_text import slack_t
from scheduler.errors import AarshjulError, PermissionDenied

log = logging.getLogger("aarshjul.slack")
#: Which field of the answer modal an error belongs to.
ANSWER_ERROR_FIELD = {
    "hearing.error.too_long": "remarks",
    "hearing.error.empty_answer": "remarks",
    "hearing.error.control": "remarks",
    "hearing.error.bad_url": "link",
    "hearing.error.bad_behalf": "behalf",
}


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    """The answer button and modal listeners; no slash command of their own."""
    ctx = deps.ctx

    @app.action(ANSWER_BUTTON)
    @shielded(deps)
    async def answer_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        if person is None:
            await show_error_modal(
                deps, body["trigger_id"], lang, slack_t(lang, "hearing.error.unknown_person")
            )
            return
        try:
            async with ctx.db.session() as session:
                hearing, council, seat, current = await answer_form(
                    session, ctx, action.get("value", ""), person
                )
        except AarshjulError as exc:
            text = refusal(exc, lang, user=user, action="hearing.answer")
            await show_error_modal(deps, body["trigger_id"], lang, text)
            return
        view = answer_modal(
            hearing,
            council,
            lang,
            current,
            seat_name=seat.name if seat.id != person.id else None,
        )
        await deps.client.views_open(trigger_id=body["trigger_id"], view=view)
        deps.background(deps.learn_locale(user, person))

    @app.view(ANSWER_VIEW)
    async def answer_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        values = view["state"]["values"]
        meta = json.loads(view.get("private_metadata") or "{}")
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"position": slack_t(lang, "hearing.error.unknown_person")},
            )
            return
        given = AnswerInput(
            position=selected(values, "position") or "",
            remarks=selected(values, "remarks") or "",
            link=selected(values, "link"),
            behalf=selected(values, "behalf") or "own",
        )
        # Only what the form offered: a forged value is a field error, nothing stored.
        if given.position not in MODAL_POSITIONS:
            text = plain_t(lang, "hearing.error.bad_position", value=given.position[:30])
            await ack(response_action="errors", errors={"position": text[:150]})
            return
        try:
            async with ctx.db.transaction() as session:
                result = await record_answer(
                    session, ctx, meta.get("hearing_id", ""), person, given
                )
                if result.changed:
                    await queue_receipt(session, ctx, result, user, lang)
        except AarshjulError as exc:
            field = ANSWER_ERROR_FIELD.get(exc.key or "", "position")
            text = error_text(exc, lang)
            if isinstance(exc, PermissionDenied):
                refusal(exc, lang, user=user, action="hearing.answer")
            await ack(response_action="errors", errors={field: text[:150]})
            return
        await ack()
        deps.wake()
        log_event(
            log,
            "hearing-answer",
            hearing=result.hearing.id,
            seat=result.seat.id,
            version=result.answer.version,
            late=result.answer.late,
            changed=result.changed,
        )

    return []
