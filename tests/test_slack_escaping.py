"""A member and a hearing named like a mention storm: every kind of message the bot
sends to Slack (announcement, invitation DM, reminder, escalation, receipt, status,
list, closing summary, meeting DM, attendees, App Home, refusals), in Danish and
English, carries the names as text, never as ``<!channel>``, ``<@U…>`` or a link.

Everything the bot sent is read back from the Slack stand-in and the response URLs.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.blocks import ANSWER_VIEW
from bot.services.hearings import Actor
from bot.services.meetings import MeetingDraft, create_meeting, invite
from bot.services.members import import_members
from storage.models import Hearing, Person
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, answer_values, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
DEADLINE = "2027-03-19"
HOSTILE = "<!channel> <@U0ADMIN01> <https://evil.example|klik>"
#: What must never reach Slack unescaped: the hostile parts, and any mention at all.
FORBIDDEN = ("<!channel", "<!here", "<@U0ADMIN01", "<https://evil.example", "<!everyone")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


async def _home(w: SlackWorld, user: str) -> None:
    body = {
        "token": "t",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
    }
    status, _, _ = await w.post(json.dumps(body).encode(), content_type="application/json")
    assert status == 200


def everything_sent(slack: SlackStandIn) -> list[str]:
    """Each Web API call's arguments and each response_url post, as JSON text."""
    sent = [json.dumps(c.args, ensure_ascii=False) for c in slack.calls]
    sent += [json.dumps(r, ensure_ascii=False) for r in slack.responses]
    return sent


@pytest.mark.parametrize("language", ["da", "en"])
async def test_no_message_the_bot_sends_carries_a_mention_it_did_not_make(
    database_url: str, tmp_path: Path, slack: SlackStandIn, language: str
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        rows = (
            "council,name,email,organisation,role,slack_id\n"
            f'lbr-test,"{HOSTILE} Mallory",mallory@example.dk,"{HOSTILE}",member,UMALLORY1\n'
            f'lbr-test,"{HOSTILE} Eve",eve@example.dk,LO,member,UEVE00001\n'
        )
        async with w.ctx.db.transaction() as s:
            report = await import_members(s, rows.encode(), now=w.clock.now(), actor="test")
            assert report.rejected == 0, [line.text for line in report.lines]
            await s.execute(update(Person).values(language=language))
        for user in ("UMALLORY1", "UEVE00001"):
            slack.users[user] = {"email": f"{user.lower()}@example.dk", "locale": "da-DK"}

        # Slack sends a command's text with & < > as entities.
        escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        _, _, _, name = await w.command(
            "USOFIE01", "/hearing", f"open lbr-test {DEADLINE} {escaped}"
        )
        await w.response(name)
        async with w.ctx.db.session() as s:
            hearing = (await s.execute(select(Hearing))).scalars().one()
        assert hearing.title == HOSTILE  # stored as typed
        hid = hearing.id or 0
        await w.drain()  # announcement and invitation DMs

        # Mallory answers with hostile remarks: the receipt, later the compiled answer.
        payload = w.submission(
            "UMALLORY1",
            ANSWER_VIEW,
            answer_values("object", f"Nej tak {HOSTILE}"),
            private_metadata=json.dumps({"hearing_id": hid}),
        )
        status, body, _ = await w.interact(payload)
        assert status == 200, body
        for text in (f"status {hid}", "list", "help", "status 99999", "nonsense <!channel>"):
            _, _, _, name = await w.command("USOFIE01", "/hearing", text)
            await w.response(name)
        _, _, _, name = await w.command("UMALLORY1", "/hearing", f"close {hid}")
        await w.response(name)  # refused: not a secretary
        await _home(w, "UEVE00001")
        await w.api_call("views.publish")

        # A meeting with the same title, place and agenda: its DMs and attendees.
        async with w.ctx.db.transaction() as s:
            sofie = (
                await s.execute(select(Person).where(Person.slack_id == "USOFIE01"))
            ).scalar_one()
            draft = MeetingDraft(
                council_keys=("lbr-test",),
                title=HOSTILE,
                start=local(2027, 4, 6, 9, 0),
                end=local(2027, 4, 6, 12, 0),
                location=HOSTILE,
                agenda=f"1. {HOSTILE}",
            )
            view = await create_meeting(s, w.ctx, Actor("slack:USOFIE01", sofie), draft)
            await invite(s, w.ctx, Actor("slack:USOFIE01", sofie), view.meeting.id or 0)
        await w.drain()
        _, _, _, name = await w.command("USOFIE01", "/seminar", f"attendees {view.meeting.id}")
        await w.response(name)
        _, _, _, name = await w.command("USOFIE01", "/seminar", "list")
        await w.response(name)

        # Reminders and the escalation to the chair and secretariat (Eve is missing).
        w.clock.set(local(2027, 3, 17, 9, 0))
        await w.drain()
        _, _, _, name = await w.command("USOFIE01", "/hearing", f"close {hid}")
        await w.response(name)
        await w.drain()  # the closing summary in the channel
        await w.settle()

        sent = everything_sent(slack)
        kinds = {c.method for c in slack.calls}
        assert {"chat.postMessage", "views.publish", "conversations.open"} <= kinds
        texts = "\n".join(sent)
        # The names and titles did reach Slack, escaped.
        assert "&lt;!channel&gt;" in texts and "&lt;@U0ADMIN01&gt;" in texts
        for forbidden in FORBIDDEN:
            leaks = [s[:300] for s in sent if forbidden in s]
            assert leaks == [], (forbidden, leaks)
        # Every kind of message was seen at least once.
        posted = [json.dumps(c.args, ensure_ascii=False) for c in slack.posted()]
        direct = [p for p in posted if '"channel": "D' in p]
        in_channel = [p for p in posted if "#lbr-test" in p]
        assert len(in_channel) >= 2  # the announcement and the closing summary
        assert len(direct) >= 6  # invitations, receipt, reminders, escalation, meeting DMs


def test_a_block_builder_refuses_plain_text() -> None:
    from bot.blocks import context, plain, section
    from bot.slack_text import UnescapedText, escape

    for build in (section, context, plain):
        with pytest.raises(UnescapedText):
            build(HOSTILE)  # type: ignore[arg-type]
        built: Any = build(escape(HOSTILE))
        assert "<!channel>" not in json.dumps(built)
