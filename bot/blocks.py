"""Block Kit for hearings: the answer button, the modals, App Home.

Built from the catalogue in the reader's language; the renderer (messages
sent through the outbox) and the Slack handlers (modals, App Home, ephemeral
replies) share these so a hearing looks the same wherever it appears.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.i18n import format_date
from bot.i18n import t as plain_t
from bot.slack_text import SlackText, UnescapedText, escape, join, link, slack_t, trusted
from storage.models import Council, Hearing, HearingAnswer

#: action_id / callback_id values; the handlers register exactly these.
ANSWER_BUTTON = "hearing_answer"
ANSWER_VIEW = "hearing_answer_view"
OPEN_VIEW = "hearing_open_view"
OPEN_CONFIRM_VIEW = "hearing_open_confirm_view"
PROMPT_BUTTON = "hearing_open_prompt"
AWAY_BUTTON = "away_open"
AWAY_VIEW = "away_view"
RSVP_BUTTON = "meeting_rsvp"
MEETING_PROMPT_BUTTON = "seminar_new_prompt"
SEMINAR_VIEW = "seminar_new_view"
#: "vis flere" on a paged list; the value carries the next page's offset.
HEARING_MORE_BUTTON = "hearing_list_more"
SEMINAR_MORE_BUTTON = "seminar_list_more"
HOME_MORE_BUTTON = "home_waiting_more"
#: The largest offset a "vis flere" value may ask for (a forged value stays a number
#: every database accepts, and an empty page rather than an error).
MAX_OFFSET = 1_000_000
#: Slack's limit for a plain_text_input; our remarks obey it.
SLACK_TEXT_LIMIT = 3000


def _checked(text: SlackText, where: str) -> SlackText:
    if not isinstance(text, SlackText):
        raise UnescapedText(f"{where} needs SlackText (bot.slack_text), not {type(text).__name__}")
    return text


def plain(text: SlackText, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": _checked(text, "plain()").cut(limit), "emoji": True}


def section(text: SlackText) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _checked(text, "section()").cut(3000)},
    }


def context(text: SlackText) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _checked(text, "context()").cut(3000)}],
    }


def lines(parts: Sequence[SlackText]) -> SlackText:
    """SlackText lines as one text."""
    return join("\n", parts)


def answer_button(hearing_id: int, lang: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ANSWER_BUTTON,
        "text": plain(slack_t(lang, "hearing.button.answer")),
        "value": str(hearing_id),
        "style": "primary",
    }


def more_button(action_id: str, value: dict[str, Any], lang: str) -> dict[str, Any]:
    """The "vis flere" / "show more" button under a page of a list.

    ``value`` (JSON, e.g. the next offset and the council asked about) comes back in the
    button's action, so its handler answers with exactly the next page.
    """
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": plain(slack_t(lang, "slack.more")),
                "value": json.dumps(value, separators=(",", ":"))[:2000],
            }
        ],
    }


def list_blocks(
    rows: Sequence[SlackText], action_id: str, more: dict[str, Any] | None, lang: str
) -> list[dict[str, Any]]:
    """A page of a list as blocks: one section per line, then "vis flere" if ``more``.

    One section each keeps a long title from cutting the page off at Slack's 3,000
    characters per section.
    """
    blocks = [section(line) for line in rows]
    if more is not None:
        blocks.append(more_button(action_id, more, lang))
    return blocks


def more_value(action: dict[str, Any]) -> dict[str, Any]:
    """The value a "vis flere" button carried, with ``offset`` an int in 0..MAX_OFFSET."""
    try:
        value = json.loads(str(action.get("value") or "{}"))
    except ValueError:
        value = {}
    if not isinstance(value, dict):
        value = {}
    try:
        value["offset"] = min(max(int(value.get("offset", 0)), 0), MAX_OFFSET)
    except (TypeError, ValueError):
        value["offset"] = 0
    return value


def rsvp_buttons(meeting_id: int, lang: str) -> dict[str, Any]:
    """Deltager / Deltager ikke / Måske; one action id, the answer in the value."""
    return {
        "type": "actions",
        "block_id": f"rsvp-{meeting_id}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{RSVP_BUTTON}_{answer}",
                "text": plain(slack_t(lang, f"meeting.response.{answer}")),
                "value": f"{meeting_id}:{answer}",
                **({"style": "primary"} if answer == "yes" else {}),
            }
            for answer in ("yes", "no", "maybe")
        ],
    }


def hearing_facts(hearing: Hearing, council: Council, lang: str, *, link: bool = True) -> list[str]:
    """The context every hearing message carries, as plain text (e-mail)."""
    return _facts(hearing, council, lang, with_link=link, mrkdwn=False)


def hearing_facts_mrkdwn(
    hearing: Hearing, council: Council, lang: str, *, link: bool = True
) -> SlackText:
    """The same context for Slack: escaped, with the document and announcement as links."""
    return lines(_facts(hearing, council, lang, with_link=link, mrkdwn=True))  # type: ignore[arg-type]


def _facts(
    hearing: Hearing, council: Council, lang: str, *, with_link: bool, mrkdwn: bool
) -> list[Any]:
    tt: Any = slack_t if mrkdwn else plain_t
    found = [
        tt(lang, "hearing.fact.council", council=council.name),
        tt(
            lang,
            "hearing.fact.subject",
            subject=plain_t(lang, f"hearing.subject.{hearing.subject}"),
        ),
        tt(lang, "hearing.fact.deadline", date=format_date(hearing.deadline, lang, long=True)),
    ]
    if hearing.document_url:
        doc = (
            link(hearing.document_url, plain_t(lang, "hearing.fact.document_label"))
            if mrkdwn
            else hearing.document_url
        )
        found.append(tt(lang, "hearing.fact.document", link=doc))
    if with_link and hearing.announcement_url:
        ann = (
            link(hearing.announcement_url, plain_t(lang, "hearing.fact.announcement_label"))
            if mrkdwn
            else hearing.announcement_url
        )
        found.append(tt(lang, "hearing.fact.announcement", link=ann))
    elif with_link and council.slack_channel:
        # Not posted yet (it goes out in the same batch): name the channel instead.
        channel = "#" + council.slack_channel.lstrip("#")
        found.append(tt(lang, "hearing.fact.announcement_channel", channel=channel))
    found.append(tt(lang, "hearing.fact.id", id=hearing.id))
    return found


def hearing_blocks(
    text: SlackText, hearing: Hearing, council: Council, lang: str, *, button: bool = True
) -> list[dict[str, Any]]:
    blocks = [section(text), context(hearing_facts_mrkdwn(hearing, council, lang))]
    if button and hearing.state == "open":
        blocks.append({"type": "actions", "elements": [answer_button(hearing.id or 0, lang)]})
    return blocks


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": plain(escape(text), 75), "value": value}


def answer_modal(
    hearing: Hearing,
    council: Council,
    lang: str,
    current: HearingAnswer | None,
    *,
    seat_name: str | None = None,
) -> dict[str, Any]:
    """The answer form: position, remarks (≤ 3,000 characters), link, on whose behalf."""
    positions = [
        _option(p, plain_t(lang, f"hearing.position.{p}"))
        for p in ("support", "support_with_remarks", "object", "no_remarks")
    ]
    position: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": "position",
        "options": positions,
    }
    if current and current.position != "text":
        position["initial_option"] = next(o for o in positions if o["value"] == current.position)
    remarks: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "remarks",
        "multiline": True,
        "max_length": SLACK_TEXT_LIMIT,
    }
    if current and current.remarks:
        remarks["initial_value"] = current.remarks[:SLACK_TEXT_LIMIT]
    link: dict[str, Any] = {"type": "url_text_input", "action_id": "link"}
    if current and current.link:
        link["initial_value"] = current.link
    behalf_options = [
        _option(b, plain_t(lang, f"hearing.behalf.{b}")) for b in ("own", "organisation")
    ]
    behalf = {
        "type": "radio_buttons",
        "action_id": "behalf",
        "options": behalf_options,
        "initial_option": next(
            o for o in behalf_options if o["value"] == (current.behalf if current else "own")
        ),
    }
    parts = [slack_t(lang, "hearing.modal.answer.intro", title=hearing.title)]
    if seat_name:
        parts.append(slack_t(lang, "hearing.modal.answer.substitute", name=seat_name))
    if current:
        parts.append(slack_t(lang, "hearing.modal.answer.current", version=current.version))
    intro = lines(parts)
    return {
        "type": "modal",
        "callback_id": ANSWER_VIEW,
        "private_metadata": json.dumps({"hearing_id": hearing.id}),
        "title": plain(slack_t(lang, "hearing.modal.answer.title"), 24),
        "submit": plain(slack_t(lang, "hearing.modal.answer.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.cancel"), 24),
        "blocks": [
            section(intro),
            context(hearing_facts_mrkdwn(hearing, council, lang)),
            {
                "type": "input",
                "block_id": "position",
                "label": plain(slack_t(lang, "hearing.modal.answer.position")),
                "element": position,
            },
            {
                "type": "input",
                "block_id": "remarks",
                "optional": True,
                "label": plain(slack_t(lang, "hearing.modal.answer.remarks")),
                "hint": plain(
                    slack_t(lang, "hearing.modal.answer.remarks_hint", limit=SLACK_TEXT_LIMIT)
                ),
                "element": remarks,
            },
            {
                "type": "input",
                "block_id": "link",
                "optional": True,
                "label": plain(slack_t(lang, "hearing.modal.answer.link")),
                "hint": plain(slack_t(lang, "hearing.modal.answer.link_hint")),
                "element": link,
            },
            {
                "type": "input",
                "block_id": "behalf",
                "label": plain(slack_t(lang, "hearing.modal.answer.behalf")),
                "element": behalf,
            },
        ],
    }


def open_modal(
    councils: Sequence[Council],
    lang: str,
    *,
    council_key: str | None = None,
    title: str = "",
    deadline: date | None = None,
    subject: str = "other",
    cycle_event_id: int | None = None,
) -> dict[str, Any]:
    """The secretary's form for a new hearing (councils: those the user is secretary of)."""
    council_options = [_option(c.key, c.name) for c in councils]
    council_el: dict[str, Any] = {
        "type": "static_select",
        "action_id": "council",
        "options": council_options,
    }
    chosen = next((o for o in council_options if o["value"] == council_key), None)
    if chosen is None and len(council_options) == 1:
        chosen = council_options[0]
    if chosen:
        council_el["initial_option"] = chosen
    subjects = [
        _option(s, plain_t(lang, f"hearing.subject.{s}"))
        for s in ("employment_plan", "result_review", "other")
    ]
    deadline_el: dict[str, Any] = {"type": "datepicker", "action_id": "deadline"}
    if deadline:
        deadline_el["initial_date"] = deadline.isoformat()
    title_el: dict[str, Any] = {"type": "plain_text_input", "action_id": "title", "max_length": 200}
    if title:
        title_el["initial_value"] = title[:200]
    return {
        "type": "modal",
        "callback_id": OPEN_VIEW,
        "private_metadata": json.dumps({"cycle_event_id": cycle_event_id}),
        "title": plain(slack_t(lang, "hearing.modal.open.title"), 24),
        "submit": plain(slack_t(lang, "hearing.modal.open.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.cancel"), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "council",
                "label": plain(slack_t(lang, "hearing.modal.open.council")),
                "element": council_el,
            },
            {
                "type": "input",
                "block_id": "title",
                "label": plain(slack_t(lang, "hearing.modal.open.what")),
                "element": title_el,
            },
            {
                "type": "input",
                "block_id": "subject",
                "label": plain(slack_t(lang, "hearing.modal.open.subject")),
                "element": {
                    "type": "static_select",
                    "action_id": "subject",
                    "options": subjects,
                    "initial_option": next(o for o in subjects if o["value"] == subject),
                },
            },
            {
                "type": "input",
                "block_id": "document",
                "optional": True,
                "label": plain(slack_t(lang, "hearing.modal.open.document")),
                "element": {"type": "url_text_input", "action_id": "document"},
            },
            {
                "type": "input",
                "block_id": "deadline",
                "label": plain(slack_t(lang, "hearing.modal.open.deadline")),
                "element": deadline_el,
            },
            {
                "type": "input",
                "block_id": "invitees",
                "optional": True,
                "label": plain(slack_t(lang, "hearing.modal.open.invitees")),
                "hint": plain(slack_t(lang, "hearing.modal.open.invitees_hint")),
                "element": {"type": "multi_users_select", "action_id": "invitees"},
            },
        ],
    }


def confirm_open_modal(warnings: Sequence[str], draft: dict[str, Any], lang: str) -> dict[str, Any]:
    """'Open it anyway?' when a hearing is short or spans July or Christmas."""
    return {
        "type": "modal",
        "callback_id": OPEN_CONFIRM_VIEW,
        "private_metadata": json.dumps(draft),
        "title": plain(slack_t(lang, "hearing.modal.confirm.title"), 24),
        "submit": plain(slack_t(lang, "hearing.modal.confirm.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.confirm.back"), 24),
        "blocks": [section(lines([escape(f"⚠️ {w}") for w in warnings]))],
    }


def away_modal(lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": AWAY_VIEW,
        "title": plain(slack_t(lang, "hearing.modal.away.title"), 24),
        "submit": plain(slack_t(lang, "hearing.modal.away.submit"), 24),
        "close": plain(slack_t(lang, "hearing.modal.cancel"), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "start",
                "label": plain(slack_t(lang, "hearing.modal.away.start")),
                "element": {"type": "datepicker", "action_id": "start"},
            },
            {
                "type": "input",
                "block_id": "end",
                "label": plain(slack_t(lang, "hearing.modal.away.end")),
                "element": {"type": "datepicker", "action_id": "end"},
            },
            {
                "type": "input",
                "block_id": "substitute",
                "optional": True,
                "label": plain(slack_t(lang, "hearing.modal.away.substitute")),
                "element": {"type": "users_select", "action_id": "substitute"},
            },
        ],
    }


def chunks(text: SlackText, size: int = 2900) -> list[SlackText]:
    """Split a long text at line breaks into pieces that fit a section block (a line
    longer than ``size`` is cut, never inside an entity such as ``&lt;``)."""
    _checked(text, "chunks()")
    pieces: list[SlackText] = []
    current: list[str] = []
    length = 0
    for line in (trusted(x) for x in text.splitlines()):
        while len(line) > size:
            if current:
                pieces.append(trusted("\n".join(current)))
                current, length = [], 0
            head = line.cut(size) or trusted(str.__getitem__(line, slice(0, size)))
            pieces.append(head)
            line = trusted(str.__getitem__(line, slice(len(head), None)))
        if current and length + len(line) + 1 > size:
            pieces.append(trusted("\n".join(current)))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current:
        pieces.append(trusted("\n".join(current)))
    return pieces
