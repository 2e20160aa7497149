"""The words of a recommendation's messages, rendered when they go out.

They read the recommendation as it stands at delivery: the vote's count, the text as
agreed, the answer. Slack gets the catalogue text with every parameter escaped, the
recommendation's own text in sections (cut with where to read the rest past Slack's
limits), and for a vote the yes and no buttons; e-mail gets the same words with the
full text, from the sending council's secretariat (its name and Reply-To).
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import context, plain
from bot.delivery.base import Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import format_date, t
from bot.services.recommendations.agreeing import count_votes
from bot.services.recommendations.common import votes_needed
from bot.services.recommendations.queries import receiver_name
from bot.slack_limits import BLOCKS_TEXT_BUDGET, fallback, fit_sections
from bot.slack_text import escape, slack_t, unbold
from storage.models import Council, OutboxMessage
from storage.recommendations import Recommendation

#: The action of a vote message's buttons; the value is ``ID:yes`` or ``ID:no``.
VOTE_BUTTON = "recommend_vote"
#: Messages that carry the recommendation's own text.
WITH_TEXT = ("vote", "sent", "reminder")


async def render_recommendation(
    session: AsyncSession,
    row: OutboxMessage,
    message: str,
    params: dict[str, Any],
    lang: str,
    today: date,
    *,
    tz: tzinfo,
    direct: bool,
) -> Message:
    """One message about a recommendation for one row (``message`` is ``recommend.*``)."""
    rec = await session.get(Recommendation, int(params["recommendation_id"]))
    if rec is None:
        raise LookupError(f"recommendation {params['recommendation_id']} is gone")
    sender = await session.get(Council, rec.from_council_id)
    assert sender is not None
    receiver = await session.get(Council, rec.to_council_id) if rec.to_council_id else None
    name = message.removeprefix("recommend.")
    yes, no, seats = await count_votes(session, rec.id or 0, sender.id or 0)
    fields: dict[str, Any] = {
        "id": rec.id,
        "title": rec.title,
        "sender": sender.name,
        "receiver": receiver_name(rec, receiver),
        "sent": format_date(rec.sent_at.astimezone(tz).date(), lang, long=True)
        if rec.sent_at
        else "-",
        "days": int(params.get("answer_days", 20)),
        "yes": yes,
        "no": no,
        "seats": seats,
        "needed": votes_needed(float(params.get("quorum", 1.0)), seats),
    }
    slack = row.channel == "slack"
    tt: Any = slack_t if slack else t
    subject = t(lang, f"recommend.msg.{name}.subject", **fields)
    text = tt(lang, f"recommend.msg.{name}.text", **fields)
    details = rec.text if name in WITH_TEXT else ""
    if name == "answered":
        details = rec.answer_text or ""
    facts = [t(lang, "recommend.msg.facts", **fields)]
    footer = t(lang, "recommend.msg.footer", sender=sender.name)
    if not slack:
        if name == "vote":
            facts.append(t(lang, "recommend.msg.vote.by_mail"))
        body, page = render_email(
            EmailBody(
                subject=subject,
                text=text,
                language=lang,
                facts=facts,
                details=details,
                footer=footer,
            )
        )
        return Message(
            row_id=row.id or 0,
            key=row.key,
            address=row.address,
            subject=subject,
            text=body,
            html=page,
            sender_name=t(lang, "notify.sender_name", council=sender.name),
            reply_to=sender.secretariat_email,
        )
    where = slack_t(lang, "recommend.msg.where", id=rec.id)
    blocks = fit_sections(text, lang, where)
    if details:
        budget = BLOCKS_TEXT_BUDGET - len(text)
        blocks += fit_sections(escape(details), lang, where, budget=budget)
    blocks.append(context(slack_t(lang, "recommend.msg.facts", **fields)))
    if name == "vote" and rec.state == "draft":
        blocks.append(vote_buttons(rec.id or 0, lang))
    return Message(
        row_id=row.id or 0,
        key=row.key,
        address=row.address,
        subject=subject,
        text=fallback(unbold(text)),
        blocks=blocks,
        html="",
        direct=direct,
    )


def vote_buttons(rec_id: int, lang: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"recommend_vote_{rec_id}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{VOTE_BUTTON}_{choice}",
                "text": plain(slack_t(lang, f"recommend.button.{choice}")),
                "value": f"{rec_id}:{choice}",
                **({"style": "primary"} if choice == "yes" else {}),
            }
            for choice in ("yes", "no")
        ],
    }
