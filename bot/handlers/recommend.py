"""``/recommend``: create (a form), agree, send, answer, list, show, help; the vote buttons.

Thin, as every handler: acknowledge, parse, call a service in
:mod:`bot.services.recommendations` (which authorises and audits), answer with Block
Kit through the command's ``response_url``. The form's submission is checked and
stored before the ack, so a mistake goes back under its field; a re-sent submission
finds the draft its first copy stored (the view id is the request key).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from bot.blocks import plain
from bot.handlers.common import (
    refusal,
    reply_ephemeral,
    selected,
    shielded,
    slack_actor,
    unescape,
    words,
)
from bot.i18n import error_text, format_date, user_error
from bot.services.cycle import parse_date
from bot.services.delivery_state import slack_delivery_note
from bot.services.hearing_lists import councils_of
from bot.services.recommendations.agreeing import agree_at_meeting, cast_vote, open_vote
from bot.services.recommendations.common import quorum, record_refusal, votes_needed
from bot.services.recommendations.drafting import RecommendationDraft, create_recommendation
from bot.services.recommendations.queries import (
    detail_lines,
    list_recommendations,
    receiver_name,
    recommendation_detail,
)
from bot.services.recommendations.render import VOTE_BUTTON
from bot.services.recommendations.sending import answer_recommendation, send_recommendation
from bot.slack_app import SlackDeps
from bot.slack_limits import fit_sections
from bot.slack_text import SlackText, escape, join, slack_t
from scheduler.errors import AarshjulError, InputError, PermissionDenied
from scheduler.model import Role
from storage.models import Membership, Person

log = logging.getLogger("aarshjul.slack")
CREATE_VIEW = "recommend_create_view"
#: Which field of the form a refusal belongs under.
CREATE_ERROR_FIELD = {
    "recommend.error.not_secretary_create": "from",
    "council.unknown": "to",
    "recommend.error.no_receiver": "to",
    "recommend.error.bad_email": "to",
    "recommend.error.route_lbr": "to",
    "recommend.error.route_rbr": "to",
    "recommend.error.route_ber": "to",
    "recommend.error.no_title": "title",
    "recommend.error.no_text": "text",
    "recommend.error.bad_about": "about",
    "recommend.error.about_not_lbr": "about",
    "recommend.error.unknown_measure": "about",
}


def create_modal(councils: list[Any], lang: str) -> dict[str, Any]:
    """The secretary's form for a new recommendation (from: the councils they serve)."""
    options = [{"text": plain(escape(c.name), 75), "value": c.key} for c in councils]
    sender: dict[str, Any] = {"type": "static_select", "action_id": "from", "options": options}
    if len(options) == 1:
        sender["initial_option"] = options[0]

    def field(block: str, label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block,
            "label": plain(slack_t(lang, label)),
            "element": {"action_id": block, **element},
            **extra,
        }

    return {
        "type": "modal",
        "callback_id": CREATE_VIEW,
        "title": plain(slack_t(lang, "recommend.modal.title"), 24),
        "submit": plain(slack_t(lang, "recommend.modal.submit"), 24),
        "close": plain(slack_t(lang, "recommend.modal.cancel"), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "from",
                "label": plain(slack_t(lang, "recommend.modal.from")),
                "element": sender,
            },
            field(
                "to",
                "recommend.modal.to",
                {"type": "plain_text_input", "max_length": 254},
                hint=plain(slack_t(lang, "recommend.modal.to_hint")),
            ),
            field("title", "recommend.modal.what", {"type": "plain_text_input", "max_length": 200}),
            field(
                "text",
                "recommend.modal.text",
                {"type": "plain_text_input", "multiline": True, "max_length": 3000},
            ),
            field(
                "about",
                "recommend.modal.about",
                {"type": "plain_text_input", "max_length": 130},
                optional=True,
            ),
        ],
    }


def register(app: AsyncApp, deps: SlackDeps) -> list[str]:
    ctx = deps.ctx
    reply = reply_ephemeral

    def error_line(lang: str, key: str) -> SlackText:
        return slack_t(lang, "slack.error", message=slack_t(lang, key))

    @app.command("/recommend")
    @shielded(deps)
    async def recommend_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        user = command["user_id"]
        args = words(command.get("text"))
        sub = args[0].lower() if args else "help"
        person = await deps.person(user)
        if not (sub == "create" and len(args) == 1):  # the form must open within 3 s
            await deps.learn_locale(user, person)
        lang = deps.language(user, person)
        if sub in ("help", "hjælp"):
            await reply(respond, slack_t(lang, "recommend.help"))
            return
        if person is None:
            await reply(respond, error_line(lang, "recommend.error.unknown_person"))
            return
        handler = SUBCOMMANDS.get(sub)
        if handler is None:
            await reply(respond, slack_t(lang, "recommend.unknown_sub", sub=sub[:30]))
            return
        try:
            await handler(command, args[1:], person, lang, respond)
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action=f"recommend.{sub}"))

    def need_id(args: list[str], verb: str) -> str:
        if not args:
            raise user_error(InputError, "recommend.id_usage", verb=verb)
        return args[0]

    async def sub_create(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        async with ctx.db.session() as session:
            councils = await councils_of(session, person, [Role.SECRETARY])
        if not councils:
            # Nobody without a secretariat seat gets the form; the refusal is audited.
            await record_refusal(
                ctx, slack_actor(person, command["user_id"]), "-", verb="create",
                council="-", why="recommend.no_councils",
            )  # fmt: skip
            raise user_error(PermissionDenied, "recommend.no_councils")
        await deps.client.views_open(
            trigger_id=command["trigger_id"], view=create_modal(councils, lang)
        )
        deps.background(deps.learn_locale(command["user_id"], person))

    async def sub_agree(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        rec_id = need_id(args, "agree")
        who = slack_actor(person, command["user_id"])
        if len(args) > 1:
            day = parse_date(args[1])
            step = await agree_at_meeting(ctx, who, rec_id, day)
            text = slack_t(
                lang,
                "recommend.agreed",
                id=step.recommendation.id,
                date=format_date(day, lang, long=True),
            )
        else:
            step, seats = await open_vote(ctx, who, rec_id)
            deps.wake()
            text = slack_t(
                lang,
                "recommend.vote_opened",
                id=step.recommendation.id,
                seats=seats,
                needed=votes_needed(quorum(ctx), seats),
                delivery=await slack_delivery_note(ctx, lang),
            )
        await reply(respond, text)

    async def sub_send(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        rec_id = need_id(args, "send")
        step = await send_recommendation(ctx, slack_actor(person, command["user_id"]), rec_id)
        deps.wake()
        await reply(
            respond,
            slack_t(
                lang,
                "recommend.sent",
                id=step.recommendation.id,
                receiver=receiver_name(step.recommendation, step.receiver),
                days=ctx.config.settings.recommendations.answer_days,
                delivery=await slack_delivery_note(ctx, lang),
            ),
        )

    async def sub_answer(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        if len(args) < 2:
            raise user_error(InputError, "recommend.answer_usage")
        text = unescape(command.get("text")).strip()
        # Keep the receiver's own line breaks: drop only "answer ID".
        parts = text.split(None, 2)
        body = parts[2] if len(parts) > 2 else ""
        step = await answer_recommendation(
            ctx, slack_actor(person, command["user_id"]), args[0], body
        )
        deps.wake()
        await reply(
            respond,
            slack_t(
                lang,
                "recommend.answered",
                id=step.recommendation.id,
                delivery=await slack_delivery_note(ctx, lang),
            ),
        )

    async def sub_list(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        async with ctx.db.session() as session:
            page = await list_recommendations(
                session, args[0] if args else None, person=person, limit=20
            )
        if not page.rows:
            await reply(respond, slack_t(lang, "recommend.list.none"))
            return
        lines = [
            slack_t(
                lang,
                "recommend.list_line",
                id=r.id,
                title=r.title,
                sender=s.name,
                receiver=receiver_name(r, to),
                state=slack_t(lang, f"recommend.state.{r.state}"),
            )
            for r, s, to in page.rows
        ]
        text = join("\n", lines)
        await reply(respond, text, fit_sections(text, lang, slack_t(lang, "recommend.where_list")))

    async def sub_show(
        command: dict[str, Any], args: list[str], person: Person, lang: str, respond: Any
    ) -> None:
        rec_id = need_id(args, "show")
        async with ctx.db.session() as session:
            detail = await recommendation_detail(session, ctx, rec_id)
            ids = [detail.sender.id] + ([detail.receiver.id] if detail.receiver else [])
            seat = await session.scalar(
                select(Membership.id).where(
                    Membership.person_id == person.id,
                    Membership.council_id.in_(ids),  # type: ignore[union-attr]
                )
            )
        if seat is None:
            raise user_error(
                PermissionDenied,
                "recommend.error.not_member",
                council=detail.sender.name,
                receiver=receiver_name(detail.recommendation, detail.receiver),
                id=detail.recommendation.id,
            )
        text = escape("\n".join(detail_lines(detail, ctx, lang)))
        where = slack_t(lang, "recommend.where_show", id=detail.recommendation.id)
        await reply(respond, text, fit_sections(text, lang, where))

    SUBCOMMANDS = {
        "create": sub_create,
        "new": sub_create,
        "agree": sub_agree,
        "send": sub_send,
        "answer": sub_answer,
        "svar": sub_answer,
        "list": sub_list,
        "show": sub_show,
    }

    @app.view(CREATE_VIEW)
    async def create_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        person = await deps.person(user, lookup=False)
        lang = deps.language(user, person)
        if person is None:
            await ack(
                response_action="errors",
                errors={"from": slack_t(lang, "recommend.error.unknown_person")},
            )
            return
        values = view["state"]["values"]
        draft = RecommendationDraft(
            from_key=selected(values, "from") or "",
            to=selected(values, "to") or "",
            title=selected(values, "title") or "",
            text=selected(values, "text") or "",
            about_results=selected(values, "about") or "",
        )
        try:
            step = await create_recommendation(
                ctx, slack_actor(person, user), draft, request_key=f"view:{view['id']}"
            )
        except AarshjulError as exc:
            key = exc.key or ""
            field = CREATE_ERROR_FIELD.get(key, "title" if key.startswith("text.") else "text")
            if key == "recommend.error.too_long":
                field = str(exc.params.get("field", "text"))
            refusal(exc, lang, user=user, action="recommend.create")
            await ack(response_action="errors", errors={field: error_text(exc, lang)[:150]})
            return
        await ack(response_action="clear")
        log.info("recommendation %s created from Slack", step.recommendation.id)

    @app.action(re.compile(rf"^{VOTE_BUTTON}_(yes|no)$"))
    @shielded(deps)
    async def vote_pressed(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        if person is None:
            await reply(respond, error_line(lang, "recommend.error.unknown_person"))
            return
        rec_id, _, vote = str(action.get("value") or "").partition(":")
        try:
            result = await cast_vote(ctx, person, f"slack:{user}", rec_id, vote)
        except AarshjulError as exc:
            await reply(respond, refusal(exc, lang, user=user, action="recommend.vote"))
            return
        deps.wake()
        key = "recommend.vote_agreed" if result.agreed else "recommend.voted"
        await reply(
            respond,
            slack_t(
                lang,
                key,
                id=result.step.recommendation.id,
                vote=slack_t(lang, f"recommend.vote.{vote}"),
                yes=result.yes,
                no=result.no,
                seats=result.seats,
                needed=result.needed,
            ),
        )

    return ["/recommend"]
