"""``/hearing``: open, list, status, reply, away, close, move, help; the answer modal.

Every slash command is acknowledged first and answered afterwards through the
command's ``response_url`` (ephemeral), so a slow database or Web API never
makes Slack show a time-out. Modal submissions are the exception Slack
imposes: the answer is stored before the ack, so a validation error can go
back into the modal; that write is one short transaction.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from bot.blocks import (
    ANSWER_BUTTON,
    ANSWER_VIEW,
    OPEN_CONFIRM_VIEW,
    OPEN_VIEW,
    PROMPT_BUTTON,
    answer_modal,
    confirm_open_modal,
    escape,
    open_modal,
    plain,
    section,
)
from bot.handlers.common import (
    mention_user,
    refusal,
    selected,
    selected_users,
    shielded,
    unescape,
    words,
)
from bot.i18n import error_text, format_date, t, user_error
from bot.observability import log_event
from bot.services.cycle import parse_date
from bot.services.hearing_answers import (
    AnswerInput,
    answer_form,
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
from bot.services.hearings import Actor, hearing_status, register_absence, status_lines
from bot.slack_app import SlackDeps, match_people_by_email
from scheduler.errors import AarshjulError, InputError, PermissionDenied
from scheduler.model import Role
from storage.models import Council, CycleEvent, Membership, Person

log = logging.getLogger("aarshjul.slack")
SUBJECT_OF_EVENT = {
    "employment_plan_hearing": "employment_plan",
    "result_review_hearing": "result_review",
}
#: Which field of the answer modal an error belongs to.
ANSWER_ERROR_FIELD = {
    "hearing.error.too_long": "remarks",
    "hearing.error.empty_answer": "remarks",
    "hearing.error.control": "remarks",
    "hearing.error.bad_url": "link",
    "hearing.error.bad_behalf": "behalf",
}
OPEN_ERROR_FIELD = {
    "hearing.error.bad_url": "document",
    "hearing.error.past_deadline": "deadline",
    "hearing.error.far_deadline": "deadline",
    "input.bad_date": "deadline",
    "hearing.error.no_title": "title",
    "hearing.error.control": "title",
    "hearing.error.too_long": "title",
    "hearing.error.bad_subject": "subject",
}


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx

    def actor_of(person: Person, user_id: str) -> Actor:
        return Actor(f"slack:{user_id}", person)

    async def reply(respond: Any, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

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
            await reply(respond, t(lang, "slack.hearing.help"))
            return
        if person is None:
            await reply(
                respond, t(lang, "slack.error", message=t(lang, "hearing.error.unknown_person"))
            )
            return
        try:
            handler = SUBCOMMANDS.get(sub)
            if handler is None:
                await reply(respond, t(lang, "slack.hearing.unknown_sub", sub=sub[:30]))
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
            value = _draft_json(draft)
            await reply(
                respond,
                t(lang, "hearing.open.warnings", warnings=" ".join(warnings)),
                [
                    section("⚠️ " + "\n⚠️ ".join(warnings)),
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "hearing_open_anyway",
                                "text": plain(t(lang, "hearing.modal.confirm.submit")),
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
        await reply(respond, _opened_text(result, lang))

    async def sub_list(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        async with ctx.db.session() as session:
            mine = {c.key for c in await councils_of(session, person)}
            key = args[0] if args else None
            rows = [r for r in await list_hearings(session, key) if r[1].key in mine]
        if not rows:
            await reply(respond, t(lang, "hearing.list.none"))
            return
        lines = [
            t(
                lang,
                "slack.hearing.list_line",
                id=h.id,
                title=escape(h.title),
                council=escape(c.name),
                date=format_date(h.deadline, lang, long=True),
                state=t(lang, f"hearing.state.{h.state}"),
                answered=answered,
                invited=invited,
            )
            for h, c, invited, answered in rows[:30]
        ]
        await reply(respond, "\n".join(lines))

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
        await reply(respond, t(lang, key, id=result.hearing.id, version=result.answer.version))

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
            t(
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
            t(
                lang,
                "slack.hearing.closed",
                id=status.hearing.id,
                answered=len(status.answered),
                invited=len(status.seats),
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
            t(
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

    # --- the answer button and modal ------------------------------------------------

    async def show_error_modal(trigger_id: str, lang: str, text: str) -> None:
        await deps.client.views_open(
            trigger_id=trigger_id,
            view={
                "type": "modal",
                "title": plain(t(lang, "hearing.modal.answer.title"), 24),
                "close": plain(t(lang, "slack.ok"), 24),
                "blocks": [section(text)],
            },
        )

    @app.action(ANSWER_BUTTON)
    @shielded(deps)
    async def answer_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        if person is None:
            await show_error_modal(
                body["trigger_id"], lang, t(lang, "hearing.error.unknown_person")
            )
            return
        try:
            async with ctx.db.session() as session:
                hearing, council, seat, current = await answer_form(
                    session, ctx, action.get("value", ""), person
                )
        except AarshjulError as exc:
            text = refusal(exc, lang, user=user, action="hearing.answer")
            await show_error_modal(body["trigger_id"], lang, text)
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
                errors={"position": t(lang, "hearing.error.unknown_person")},
            )
            return
        given = AnswerInput(
            position=selected(values, "position") or "",
            remarks=selected(values, "remarks") or "",
            link=selected(values, "link"),
            behalf=selected(values, "behalf") or "own",
        )
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

    # --- opening by modal -----------------------------------------------------------

    async def open_from_values(
        ack: Any, body: dict[str, Any], view: dict[str, Any], draft: HearingDraft, confirmed: bool
    ) -> None:
        user = body["user"]["id"]
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"council": t(lang, "hearing.error.unknown_person")},
            )
            return
        who = actor_of(person, user)
        try:
            async with ctx.db.session() as session:
                _, draft = await check_draft(session, ctx, who, draft)
        except AarshjulError as exc:
            if confirmed:
                await ack(response_action="update", view=_error_view(lang, error_text(exc, lang)))
                return
            field = OPEN_ERROR_FIELD.get(exc.key or "", "council")
            refusal(exc, lang, user=user, action="hearing.open")
            await ack(response_action="errors", errors={field: error_text(exc, lang)[:150]})
            return
        warnings = hearing_warnings(ctx, draft.deadline, lang)
        if warnings and not confirmed:
            await ack(
                response_action="push",
                view=confirm_open_modal(warnings, json.loads(_draft_json(draft)), lang),
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
        invitees = await _people_ids(deps, selected_users(values, "invitees"))
        if invitees is None:
            await ack(
                response_action="errors",
                errors={"invitees": t(lang, "slack.hearing.unknown_invitee")},
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
        draft = _draft_from_json(view.get("private_metadata") or "{}")
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
                respond, t(lang, "slack.error", message=t(lang, "hearing.error.unknown_person"))
            )
            return
        try:
            draft = _draft_from_json(action.get("value") or "{}")
            result = await open_hearing_once(
                ctx,
                actor_of(person, user),
                draft,
                request_key=f"confirm:{_message_ts(body, action)}",
            )
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action="hearing.open"))
            return
        deps.wake()
        await respond(text=_opened_text(result, lang), replace_original=True)

    @app.action(PROMPT_BUTTON)
    @shielded(deps)
    async def prompt_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        async with ctx.db.session() as session:
            event = await session.get(CycleEvent, int(action.get("value") or 0))
            councils = await councils_of(session, person, [Role.SECRETARY]) if person else []
            council = await session.get(Council, event.council_id) if event else None
        if event is None or council is None or council.id not in {c.id for c in councils}:
            await show_error_modal(
                body["trigger_id"],
                lang,
                t(lang, "slack.error", message=t(lang, "slack.hearing.no_councils")),
            )
            return
        view = open_modal(
            councils,
            lang,
            council_key=council.key,
            title=event.title_en if lang == "en" else event.title_da,
            deadline=event.date,
            subject=SUBJECT_OF_EVENT.get(event.template_key, "other"),
            cycle_event_id=event.id,
        )
        deps.background(match_people_by_email(deps, [council.id or 0]))
        await deps.client.views_open(trigger_id=body["trigger_id"], view=view)

    return ["/hearing"]


def _message_ts(body: dict[str, Any], action: dict[str, Any]) -> str:
    """The message a button sits in: the same on Slack's re-sent requests."""
    return str((body.get("container") or {}).get("message_ts") or action.get("action_ts") or "")


def _opened_text(result: Any, lang: str) -> str:
    if not result.created:
        return t(lang, "slack.hearing.already_open", id=result.hearing.id)
    return t(
        lang,
        "hearing.open.done",
        id=result.hearing.id,
        council=result.council.name,
        invitees=result.invitees,
        date=format_date(result.hearing.deadline, lang, long=True),
    )


def _draft_json(draft: HearingDraft) -> str:
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


def _draft_from_json(text: str) -> HearingDraft:
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


def _error_view(lang: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(t(lang, "hearing.modal.open.title"), 24),
        "close": plain(t(lang, "slack.ok"), 24),
        "blocks": [section(t(lang, "slack.error", message=text))],
    }


async def _people_ids(deps: SlackDeps, user_ids: list[str]) -> list[int] | None:
    """Person ids of the chosen Slack users; None if one of them is unknown."""
    found = []
    for user in user_ids:
        person = await deps.person(user, lookup=False)
        if person is None:
            return None
        found.append(person.id or 0)
    return found


async def _find_person(deps: SlackDeps, text: str) -> Person | None:
    """A substitute named as ``<@U…>`` or by e-mail."""
    user = mention_user(text)
    if user:
        return await deps.person(user)
    async with deps.ctx.db.session() as session:
        return await session.scalar(select(Person).where(Person.email == text.strip().lower()))
