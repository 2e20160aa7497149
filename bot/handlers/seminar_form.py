"""The ``/seminar new`` form: its blocks, what was typed into it, and where an error goes.

Each error is shown under the field it is about and names that field by its label
from the catalogue (``Sted``), never by the internal name (``location``). A meeting
on a closed day sends the form back filled in, with the warning and a box to tick
("send the invitations anyway"): the hearing form pushes a confirmation modal that
carries the draft in ``private_metadata``, but a meeting's agenda alone may fill
the 3,000 characters that field holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks import SEMINAR_VIEW, escape, lines, plain, section
from bot.i18n import catalogue, error_text
from bot.i18n import t as plain_t
from bot.services.meeting_input import MAX_LOCATION, MAX_TITLE
from bot.slack_text import slack_t
from scheduler.errors import AarshjulError
from storage.models import Council

#: The form's blocks and the catalogue label (``seminar.modal.*``) each is shown with.
LABELS = {
    "council": "council",
    "title": "what",
    "date": "date",
    "start": "start",
    "end": "end",
    "location": "location",
    "url": "url",
    "agenda": "agenda",
    "extra": "extra",
}
#: The box a secretary ticks to send the invitations for a closed day anyway.
CONFIRM_BLOCK = "closed_day_ok"
#: Which field an error belongs to when it does not name one (``field``/``option``).
FIELD = {
    "meeting.error.no_title": "title",
    "meeting.error.bad_email": "extra",
    "meeting.error.end_before_start": "end",
    "meeting.error.too_long_meeting": "end",
    "meeting.error.past": "date",
    "hearing.error.bad_url": "url",
}
#: An agenda in the form: Slack's limit for a plain_text_input.
MAX_FORM_AGENDA = 3000


def seminar_modal(
    councils: list[Council],
    lang: str,
    *,
    council_key: str | None = None,
    title: str = "",
    day: date | None = None,
    cycle_event_id: int | None = None,
    filled: dict[str, str] | None = None,
    warnings: Sequence[str] = (),
    confirm: str | None = None,
) -> dict[str, Any]:
    """The secretary's form; a cycle event's prompt fills in council, title and date.

    ``filled`` is what was typed (a form sent back for confirmation keeps it all);
    with ``warnings`` the form shows them and a box whose value is ``confirm``.
    """
    filled = dict(filled or {})
    filled.setdefault("council", council_key or "")
    filled.setdefault("title", title)
    filled.setdefault("date", day.isoformat() if day else "")
    options = [{"text": plain(escape(c.name), 75), "value": c.key} for c in councils]
    council: dict[str, Any] = {"type": "static_select", "action_id": "council", "options": options}
    chosen = next((o for o in options if o["value"] == filled["council"]), None)
    if chosen is None and len(options) == 1:
        chosen = options[0]
    if chosen:
        council["initial_option"] = chosen

    def text_input(block: str, limit: int | None = None, **extra: Any) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", **extra}
        if limit:
            element["max_length"] = limit
        if filled.get(block):
            element["initial_value"] = filled[block][: limit or 3000]
        return element

    date_el: dict[str, Any] = {"type": "datepicker"}
    if filled["date"]:
        date_el["initial_date"] = filled["date"]
    url_el: dict[str, Any] = {"type": "url_text_input"}
    if filled.get("url"):
        url_el["initial_value"] = filled["url"]

    def field(block: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": plain(slack_t(lang, f"seminar.modal.{LABELS[block]}")),
            "element": {**element, "action_id": block},
        }

    blocks: list[dict[str, Any]] = []
    if warnings:
        heading = slack_t(lang, "meeting.warn.heading")
        blocks.append(section(lines([heading, *(escape(f"⚠️ {w}") for w in warnings)])))
    blocks += [
        field("council", council),
        field("title", text_input("title", MAX_TITLE)),
        field("date", date_el),
        field("start", {"type": "timepicker", "initial_time": filled.get("start") or "09:00"}),
        field("end", {"type": "timepicker", "initial_time": filled.get("end") or "15:00"}),
        field("location", text_input("location", MAX_LOCATION), optional=True),
        field("url", url_el, optional=True),
        field("agenda", text_input("agenda", MAX_FORM_AGENDA, multiline=True), optional=True),
        field("extra", text_input("extra"), optional=True),
    ]
    if warnings and confirm:
        option = {"text": plain(slack_t(lang, "meeting.warn.anyway")), "value": confirm}
        blocks.append(
            {
                "type": "input",
                "block_id": CONFIRM_BLOCK,
                "optional": True,
                "label": plain(slack_t(lang, "meeting.warn.anyway_label")),
                "element": {"type": "checkboxes", "action_id": CONFIRM_BLOCK, "options": [option]},
            }
        )
    return {
        "type": "modal",
        "callback_id": SEMINAR_VIEW,
        "private_metadata": json.dumps({"cycle_event_id": cycle_event_id}),
        "title": plain(slack_t(lang, "seminar.modal.title"), 24),
        "submit": plain(slack_t(lang, "seminar.modal.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.cancel"), 24),
        "blocks": blocks,
    }


def form_values(values: dict[str, Any]) -> dict[str, str]:
    """What was typed or chosen in each of the form's fields (empty ones left out)."""
    found = {}
    for block in LABELS:
        element = (values.get(block) or {}).get(block) or {}
        option = element.get("selected_option")
        value = option.get("value") if option else None
        for name in ("selected_date", "selected_time", "value"):
            value = value or element.get(name)
        if value:
            found[block] = str(value)
    return found


def confirmed(values: dict[str, Any]) -> str | None:
    """The value of the ticked "send anyway" box, if it is ticked."""
    element = (values.get(CONFIRM_BLOCK) or {}).get(CONFIRM_BLOCK) or {}
    chosen = element.get("selected_options") or []
    return str(chosen[0].get("value")) if chosen else None


def form_error(exc: AarshjulError, lang: str) -> tuple[str, str]:
    """The field an error goes under, and its text naming fields by their labels."""
    params = dict(exc.params)
    block = FIELD.get(exc.key or "", "council")
    for name in ("field", "option"):
        value = params.get(name)
        if isinstance(value, str) and value in LABELS:
            block = value
            params[name] = plain_t(lang, f"seminar.modal.{LABELS[value]}")
    known = exc.key is not None and exc.key in catalogue()
    text = plain_t(lang, exc.key or "", **params) if known else error_text(exc, lang)
    # Slack shows a short line under a field: a longer one is cut, visibly.
    return block, text if len(text) <= 150 else text[:149] + "…"
