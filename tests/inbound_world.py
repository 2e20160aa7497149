"""A council with a meeting whose invitations really went out (as ``.eml`` files), and
the mail fixtures under tests/fixtures/mail/, filled in with that meeting's values.

Used by the calendar-answer and bounce tests (issue 13).
"""

from __future__ import annotations

import base64
import email
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import Header
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from bot.config import load_config
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.councils import sync_councils
from bot.services.hearings import Actor
from bot.services.inbound.bounces import handle_bounce_or_auto_reply
from bot.services.inbound.calendar_reply import handle_calendar_reply
from bot.services.inbound.message import Outcome
from bot.services.inbound.parse import parse_message
from bot.services.meetings import MeetingDraft, create_meeting, invite, parse_local
from bot.services.members import import_members
from scheduler.clock import FixedClock
from tests.imap_server import Dovecot

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
SENDER = "lbr-sekretariat@example.dk"
SECRETARIAT = "lbr@example.dk"
EXTRA = "direktor@jobcenter.example.dk"
TITLE = "Planseminar: beskæftigelsesplan 2028"
CONFIG = """
[email]
backend = "file"
sender = "{sender}"
folder = "{folder}"

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
secretariat_email = "{secretariat}"
slack_channel = "lbr-test"
"""
MEMBERS = (
    "council,name,email,organisation,role\n"
    + "".join(
        f"lbr-test,Medlem {n:02d} Ærø,m{n:02d}@example.dk,LO,{'chair' if n == 1 else 'member'}\n"
        for n in range(1, 7)
    )
    + "lbr-test,Sofie Sekretær,sofie@example.dk,,secretary\n"
)


@asynccontextmanager
async def world(
    database_url: str, tmp_path: Path, *, slack: bool = False, **env: str
) -> AsyncIterator[tuple[AppContext, FixedClock]]:
    """The configured council and its members; ``slack`` gives the bot a token (so
    notices to the council's channel are queued too; nothing is delivered to Slack);
    ``env`` adds environment variables (e.g. the ``[inbound]`` IMAP settings)."""
    (tmp_path / "config.toml").write_text(
        CONFIG.format(
            sender=SENDER, folder=(tmp_path / "mail").as_posix(), secretariat=SECRETARIAT
        ),
        encoding="utf-8",
    )
    environ = {"DATABASE_URL": database_url, **env}
    if slack:
        environ["SLACK_BOT_TOKEN"] = "xoxb-test"
    config = load_config(environ=environ, cwd=tmp_path)
    clock = FixedClock(NOW)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        async with ctx.db.transaction() as s:
            await sync_councils(s, config.settings.councils, now=NOW, actor="test")
            report = await import_members(s, MEMBERS.encode(), now=NOW, actor="test")
            assert report.rejected == 0
        yield ctx, clock


@dataclass(frozen=True)
class Invited:
    meeting_id: int
    uid: str
    sequence: int


async def invited_meeting(ctx: AppContext, *, deliver: bool = True) -> Invited:
    """A meeting on 29 March 2027 with the council's six members and :data:`EXTRA`,
    its invitations queued and (``deliver``) written as .eml files by the worker."""
    async with ctx.db.transaction() as s:
        view = await create_meeting(
            s,
            ctx,
            Actor("test"),
            MeetingDraft(
                council_keys=("lbr-test",),
                title=TITLE,
                start=parse_local("2027-03-29 09:00", ctx, "--start"),
                end=parse_local("2027-03-29 15:00", ctx, "--end"),
                location="Rådhuset, mødesal 2",
                extra=(EXTRA,),
            ),
        )
        await invite(s, ctx, Actor("test"), view.meeting.id or 0)
    if deliver:
        await drain(ctx)
    return Invited(view.meeting.id or 0, view.meeting.uid, view.meeting.sequence)


def sent_mail(folder: Path, to: str) -> email.message.EmailMessage:
    """The .eml the worker wrote to ``to`` (the only one, or the last)."""
    found = []
    for path in sorted(folder.glob("*.eml")):
        mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if str(mail["To"]).lower() == to.lower():
            found.append(mail)
    assert found, f"no mail to {to} in {folder}"
    return found[-1]  # type: ignore[return-value]


def invitation_values(mail: email.message.EmailMessage) -> dict[str, str]:
    """UID and SEQUENCE as the invitation that really went out states them."""
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            calendar = icalendar.Calendar.from_ical(part.get_content())
            event = next(iter(calendar.walk("VEVENT")))
            organiser = str(event["organizer"]).removeprefix("mailto:")
            assert organiser == SENDER, organiser  # the answers come back to the sender
            return {"UID": str(event["uid"]), "SEQUENCE": str(event["sequence"])}
    raise AssertionError("the invitation has no calendar")


def load_fixture(relative: str, **values: str) -> bytes:
    """A fixture with its ``{{NAME}}`` placeholders filled in; ``<<<BASE64`` … ``BASE64>>>``
    blocks base64-encoded afterwards (as the client would); CRLF line ends. A value put
    into the header block is RFC 2047-encoded when it is not ASCII."""
    text = (FIXTURES / relative).read_text(encoding="utf-8")
    head, sep, body = text.partition("\n\n")

    def fill(part: str, in_header: bool) -> str:
        for name, value in values.items():
            if in_header and not value.isascii():
                value = Header(value, "utf-8").encode()
            part = part.replace("{{" + name + "}}", value)
        return part

    text = fill(head, True) + sep + fill(body, False)
    leftover = re.search(r"\{\{[A-Z_]+\}\}", text)
    assert leftover is None, f"{relative}: {leftover.group(0)} not given"

    def encode(match: re.Match[str]) -> str:
        data = match.group(1).replace("\n", "\r\n").encode("utf-8")
        encoded = base64.b64encode(data).decode("ascii")
        return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n"

    text = re.sub(r"<<<BASE64\n(.*?)BASE64>>>\n", encode, text, flags=re.DOTALL)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


async def handle(ctx: AppContext, raw: bytes) -> Outcome | None:
    """The handlers in the reader's order (bounces and auto-replies first, then calendar
    answers) on the parsed message, in one transaction."""
    mail = parse_message(raw)
    async with ctx.db.transaction() as session:
        for handler in (handle_bounce_or_auto_reply, handle_calendar_reply):
            outcome = await handler(ctx, session, mail)
            if outcome is not None:
                return outcome
    return None


def imap_env(server: Dovecot) -> dict[str, str]:
    """``[inbound]`` pointed at a Dovecot on loopback, with its credentials."""
    return {
        "AARSHJUL__INBOUND__BACKEND": "imap",
        "AARSHJUL__INBOUND__HOST": server.host,
        "AARSHJUL__INBOUND__PORT": str(server.port),
        "AARSHJUL__INBOUND__TLS": "none",
        "IMAP_USERNAME": server.user,
        "IMAP_PASSWORD": server.password,
    }
