"""The deviation alerts (``results.deviation.found`` / ``.ended``) as they go out: the
words from the row's parameters (the figures as the check found them), the chart drawn
from the figures kept on the deviation's row, so every recipient and every retry gets
the same picture (and an import does not wait for matplotlib)."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.blocks import context, section
from bot.delivery.base import Attachment, Message
from bot.delivery.templates import EmailBody, render_email
from bot.i18n import format_date, t
from bot.services.results.periods import period_label
from bot.slack_limits import fallback
from bot.slack_text import slack_t
from storage.models import OutboxMessage
from storage.results import ResultDeviation


def number(value: float, language: str) -> str:
    """``12,5`` in Danish, ``12.5`` in English (one decimal; two below 10)."""
    text = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "da" else text


def _fields(params: dict[str, Any], lang: str) -> dict[str, Any]:
    measure = params.get(f"measure_{lang}") or params.get("measure_da") or params["measure"]
    unit = params.get("unit") or ""
    difference = float(params.get("difference") or 0)
    percent = params.get("percent")
    side = t(lang, "results.alert.above" if difference > 0 else "results.alert.below")
    size = number(abs(difference), lang) + (f" {unit}" if unit else "")
    share = (
        t(lang, "results.alert.share", percent=number(abs(float(percent)), lang))
        if percent is not None
        else ""
    )
    kind = params.get("threshold_kind", "percent")
    limit = t(
        lang,
        "results.alert.limit_percent" if kind == "percent" else "results.alert.limit_points",
        size=number(float(params.get("threshold") or 0), lang),
        unit=unit,
    )
    agreed_on = params.get("agreed_on")
    return {
        "jobcentre": params.get("jobcentre", ""),
        "council": params.get("council", ""),
        "region": params.get("region", ""),
        "group": params.get("group", ""),
        "measure": measure,
        "value": number(float(params.get("value") or 0), lang) + (f" {unit}" if unit else ""),
        "mean": number(float(params.get("mean") or 0), lang) + (f" {unit}" if unit else ""),
        "distance": t(lang, "results.alert.distance", size=size, side=side, share=share),
        "period": period_label(params.get("period") or "", lang) if params.get("period") else "",
        "since": period_label(params.get("since") or "", lang) if params.get("since") else "",
        "ended": period_label(params["ended"], lang) if params.get("ended") else "",
        "periods": params.get("periods", 0),
        "limit": limit,
        "agreed_on": format_date(date.fromisoformat(agreed_on), lang, long=True)
        if agreed_on
        else "-",
        "agreed_with": params.get("agreed_with") or "-",
    }


#: Charts drawn lately, by their figures: the five recipients of one alert get one drawing.
_DRAWN: dict[str, bytes] = {}
_DRAWING = threading.Lock()


def _draw(data: str) -> bytes:
    from bot.services.results.chart import draw_from_data

    with _DRAWING:  # pyplot-free, but matplotlib's caches are not made for threads at once
        found = _DRAWN.get(data)
        if found is None:
            found = _DRAWN[data] = draw_from_data(data)
            while len(_DRAWN) > 16:
                _DRAWN.pop(next(iter(_DRAWN)))
        return found


async def _drawn(data: str) -> bytes:
    """The chart of a deviation's stored figures, drawn off the event loop."""
    found = _DRAWN.get(data)
    return found if found is not None else await asyncio.to_thread(_draw, data)


async def render_results(
    session: AsyncSession,
    row: OutboxMessage,
    message: str,
    params: dict[str, Any],
    lang: str,
    *,
    direct: bool,
) -> Message:
    """One alert for one row: Slack blocks and the chart shared in its thread, or an
    e-mail with the chart attached."""
    name = "ended" if message.endswith(".ended") else "found"
    audience = "rbr" if params.get("audience") == "rbr" else "lbr"
    fields = _fields(params, lang)
    deviation = await session.get(ResultDeviation, int(params.get("deviation_id") or 0))
    data = None
    if deviation is not None:
        data = deviation.ended_chart if name == "ended" else deviation.chart
    chart = await _drawn(data) if data else None
    attachment = None
    if chart:
        slug = re.sub(r"[^a-z0-9-]+", "-", str(params.get("council_key", "")).lower())
        attachment = Attachment(
            filename=f"afvigelse-{slug}-{params.get('measure', '')}-{params.get('since', '')}.png",
            title=t(lang, "results.alert.chart_title", **fields),
            content=chart,
            content_type="image/png",
        )
    subject = t(lang, f"results.alert.{name}.subject", **fields)
    if row.channel == "slack":
        text = slack_t(lang, f"results.alert.{name}.text", **fields)
        facts = slack_t(lang, "results.alert.threshold", **fields)
        advice = slack_t(lang, f"results.alert.{name}.advice_{audience}", **fields)
        blocks = [section(text), context(facts), section(advice)]
        return Message(
            row.id or 0,
            row.key,
            row.address,
            subject,
            fallback(text),
            blocks,
            "",
            direct,
            attachment=attachment,
        )
    text_parts: list[str] = [
        t(lang, f"results.alert.{name}.text", **fields),
        t(lang, f"results.alert.{name}.advice_{audience}", **fields),
    ]
    facts_list = [t(lang, "results.alert.threshold", **fields)]
    if attachment is not None:
        facts_list.append(t(lang, "results.alert.chart_attached"))
    body, page = render_email(
        EmailBody(
            subject=subject,
            text="\n".join(text_parts),
            language=lang,
            facts=facts_list,
            footer=t(lang, "results.alert.footer", region=fields["region"]),
        )
    )
    return Message(
        row.id or 0,
        row.key,
        row.address,
        subject,
        body,
        [],
        page,
        direct,
        attachment=attachment,
        sender_name=t(lang, "notify.sender_name", council=fields["region"]),
        reply_to=params.get("reply_to") or None,
    )
