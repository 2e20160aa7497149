"""Hearing answers by e-mail (issue 13, point 3), end to end on both databases.

The hearing is opened with the real CLI; the invitations go through the real outbox
worker to the SMTP stand-in, carrying the Reply-To with the member's token; the
replies (fixtures in the shapes Outlook and Gmail send, in Danish) come in through
``aarshjul mail ingest`` and the inbound pipeline; receipts and notes to the
secretariat go out through the worker again and are read at the SMTP stand-in.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from string import Template

import docx
import pytest
from sqlmodel import col, func, select

from bot.config import load_config
from bot.runner import build_channels, build_worker
from bot.services.app import AppContext, open_app
from bot.services.hearings import register_absence
from bot.services.inbound import pipeline, reply_tokens
from bot.services.inbound.message import Disposition, MailPart
from bot.services.inbound.reply_text import MAX_FILE_BYTES, new_text, position_of, sort_files
from scheduler.clock import FixedClock
from storage.hearing_mail import HearingAnswerFile, HearingMailSent
from storage.models import HearingAnswer, OutboxMessage, Person
from tests.cli_runner import CLOCK, Cli
from tests.servers import ReceivedMail, SmtpStandIn
from tests.slack_world import MEMBERS

FIXTURES = Path(__file__).parent / "fixtures" / "mail" / "hearing"
CONFIG = """
[general]
timezone = "Europe/Copenhagen"
language = "da"

[email]
backend = "smtp"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "aarshjul@example.dk"

[inbound]
{inbound}

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
secretariat_email = "lbr@example.dk"
"""
TITLE = "Beskæftigelsesplan 2027"


@dataclass
class World:
    cli: Cli
    ctx: AppContext
    clock: FixedClock
    smtp: SmtpStandIn
    tmp: Path
    #: Anne's invitation: its Reply-To and Message-ID.
    reply_to: str
    invitation_id: str
    anne_id: int

    async def run(self, *args: str) -> str:
        return await asyncio.to_thread(self.cli.ok, *args)

    async def drain(self) -> None:
        worker = build_worker(self.ctx, await build_channels(self.ctx))
        await worker.drain()

    def mail(self, fixture: str, message_id: str, **fields: str) -> bytes:
        values = {
            "from": "anne@example.dk",
            "to": self.reply_to,
            "reply_to": self.reply_to,
            "member": "anne@example.dk",
            "message_id": message_id,
            "in_reply_to": self.invitation_id,
            **fields,
        }
        text = (FIXTURES / fixture).read_text(encoding="utf-8")
        return Template(text).substitute(values).encode("utf-8")

    async def ingest(self, raw: bytes) -> str:
        """Through ``aarshjul mail ingest FILE``, as an MTA would pipe it."""
        path = self.tmp / "in.eml"
        path.write_bytes(raw)
        return (await self.run("mail", "ingest", str(path))).strip()

    async def answers(self) -> list[HearingAnswer]:
        async with self.ctx.db.session() as session:
            return list((await session.execute(select(HearingAnswer))).scalars())

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.smtp.messages if address in m.rcpt_tos]


def _subject(mail: ReceivedMail) -> str:
    return str(make_header(decode_header(mail.message["Subject"])))


def _body(mail: ReceivedMail) -> str:
    part = next(p for p in mail.message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode("utf-8")


async def _world(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, inbound: str
) -> AsyncIterator[World]:
    config_file = tmp_path / "config.toml"
    config_file.write_text(CONFIG.format(port=smtp.port, inbound=inbound), encoding="utf-8")
    members = MEMBERS.split("lbr-other")[0] + "lbr-test,Eva Eriksen,eva@example.dk,DA,observer,\n"
    (tmp_path / "members.csv").write_text(members, encoding="utf-8")
    cli = Cli(database_url, config_file)
    await asyncio.to_thread(cli.ok, "init")
    await asyncio.to_thread(cli.ok, "members", "import", str(tmp_path / "members.csv"))
    await asyncio.to_thread(
        cli.ok,
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18", "--title", TITLE,
    )  # fmt: skip
    config = load_config(environ={"DATABASE_URL": database_url}, cwd=tmp_path)
    clock = FixedClock(CLOCK.now())
    async with open_app(config, clock) as ctx:
        world = World(cli, ctx, clock, smtp, tmp_path, "", "", 0)
        await world.drain()
        async with ctx.db.session() as session:
            anne = await session.scalar(select(Person).where(Person.email == "anne@example.dk"))
            assert anne is not None and anne.id is not None
            world.anne_id = anne.id
        invitation = world.to("anne@example.dk")[0]
        world.reply_to = invitation.message["Reply-To"]
        world.invitation_id = invitation.message["Message-ID"]
        smtp.messages.clear()
        yield world


@pytest.fixture
async def world(database_url: str, tmp_path: Path, smtp: SmtpStandIn) -> AsyncIterator[World]:
    async for w in _world(database_url, tmp_path, smtp, 'reply_address = "svar@example.dk"'):
        yield w


async def test_invitations_carry_a_reply_to_with_the_members_token_and_their_ids_are_kept(
    world: World,
) -> None:
    match = re.fullmatch(r"svar\+h1\.(\d+)\.([a-z2-7]{24})@example\.dk", world.reply_to)
    assert match and int(match[1]) == world.anne_id
    async with world.ctx.db.session() as session:
        sent = list((await session.execute(select(HearingMailSent))).scalars())
    # One per invitee (Anne, Bo, Carl, Dorte), each under the Message-ID that went out.
    assert len(sent) == 4
    assert world.invitation_id in {s.message_id for s in sent}


async def test_each_reminder_carries_the_reply_to_of_the_person_it_goes_to(world: World) -> None:
    async with world.ctx.db.session() as session:
        bo = await session.scalar(select(Person).where(Person.email == "bo@example.dk"))
        assert bo is not None
        first = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.person_id == bo.id, OutboxMessage.state == "pending")
            .where(col(OutboxMessage.payload).contains('"hearing.reminder"'))
            .order_by(col(OutboxMessage.due_at))
        )
        assert first is not None
    world.clock.set(first.due_at)
    await world.drain()
    [reminder] = world.to("bo@example.dk")
    assert _subject(reminder).startswith("Påmindelse: høringssvar om")
    key = await _key(world)
    assert reminder.message["Reply-To"] == reply_tokens.token_address(
        "svar@example.dk", key, 1, bo.id or 0
    )
    async with world.ctx.db.session() as session:
        sent = await session.scalar(
            select(HearingMailSent).where(HearingMailSent.message_id == reminder.message_id)
        )
    assert sent is not None and sent.person_id == bo.id and sent.hearing_id == 1


async def test_a_reply_with_history_signature_and_pdf_is_recorded_with_a_receipt(
    world: World, tmp_path: Path
) -> None:
    line = await world.ingest(world.mail("outlook_da_pdf.eml", "r1@outlook.example"))
    assert "høringssvar registreret for Anne Andersen i høring 1" in line
    assert "version 1, 1 fil(er)" in line
    [answer] = await world.answers()
    assert answer.position == "support_with_remarks" and answer.version == 1
    assert answer.remarks.startswith("Vi bakker op om planen")
    for quoted in ("Med venlig hilsen", "Tlf.", "Fra:", "Sendt:", "Du bliver hørt"):
        assert quoted not in answer.remarks
    async with world.ctx.db.session() as session:
        [kept] = list((await session.execute(select(HearingAnswerFile))).scalars())
    assert kept.filename == "DA-notat om planen.pdf" and kept.content.startswith(b"%PDF-")
    assert kept.content_type == "application/pdf" and kept.version == 1

    await world.drain()
    [receipt] = world.to("anne@example.dk")
    assert _subject(receipt) == f"Dit høringssvar er modtaget: {TITLE}"
    body = _body(receipt)
    assert "registreret som version 1" in body and "Støtter med bemærkninger" in body
    assert "> Vi bakker op om planen, men målet for unge under 25 bør hæves." in body
    assert "DA-notat om planen.pdf" in body
    assert "budget.xlsx er ikke gemt" in body
    assert receipt.message["Auto-Submitted"] == "auto-generated"

    md = await world.run("hearing", "export", "1", "--format", "md")
    assert "## Støtter med bemærkninger (1)" in md
    assert "  > Vi bakker op om planen, men målet for unge under 25 bør hæves." in md
    assert "Vedhæftet: DA-notat om planen.pdf" in md
    assert "Med venlig hilsen" not in md and "Fra:" not in md
    rows = csv.DictReader(io.StringIO(await world.run("hearing", "export", "1", "--format", "csv")))
    anne = next(r for r in rows if r["email"] == "anne@example.dk")
    assert anne["position"] == "support_with_remarks" and anne["version"] == "1"
    assert anne["attachments"] == "DA-notat om planen.pdf"
    assert "hilsen" not in anne["remarks"]
    # The Word document a secretariat files names the file too (never opening it).
    out = tmp_path / "svar.docx"
    await world.run("hearing", "export", "1", "--format", "docx", "--out", str(out))
    words = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "Vedhæftet: DA-notat om planen.pdf" in words
    assert "Vi bakker op om planen, men målet for unge under 25 bør hæves." in words

    # The same message again (a second delivery) is handled once: no second receipt.
    again = await world.ingest(world.mail("outlook_da_pdf.eml", "r1@outlook.example"))
    assert "(nr. 1)" in again, again
    assert [a.version for a in await world.answers()] == [1]
    await world.drain()
    assert len(world.to("anne@example.dk")) == 1

    # Replying again (from Gmail, quoted history wrapped over two lines): version 2.
    line = await world.ingest(world.mail("gmail_da.eml", "r2@gmail.example"))
    assert "version 2" in line and "object" in line
    [answer] = await world.answers()
    assert (answer.position, answer.version, answer.late) == ("object", 2, False)
    assert answer.remarks == "Planen mangler en indsats for ledige over 50, og målene er for lave."
    md = await world.run("hearing", "export", "1", "--format", "md")
    assert "## Gør indsigelse (1)" in md and "Den tir." not in md and "skrev" not in md


async def test_an_answer_that_cannot_be_stored_is_refused_to_the_member_only(world: World) -> None:
    reply = EmailMessage()
    reply["From"] = "Anne Andersen <anne@example.dk>"
    reply["To"] = world.reply_to
    reply["Subject"] = "SV: Høring"
    reply["Message-ID"] = "<long@mail.example>"
    reply.set_content("Bemærkninger\n\n" + "Planen er for svag. " * 200)
    outcome = await pipeline.handle_raw(world.ctx, reply.as_bytes(), "file")
    assert outcome.disposition is Disposition.IGNORED
    assert outcome.summary_key == "inbound_hearing.summary.refused"
    assert await world.answers() == []
    await world.drain()
    [told] = world.to("anne@example.dk")
    assert _subject(told) == f"Dit høringssvar er ikke registreret: {TITLE}"
    assert "højst 3000 er tilladt" in _body(told)
    assert world.to("lbr@example.dk") == []


async def test_after_the_deadline_the_answer_is_marked_late(world: World) -> None:
    world.clock.set(datetime(2026, 12, 19, 9, 0, tzinfo=UTC))
    outcome = await pipeline.handle_raw(
        world.ctx, world.mail("gmail_da.eml", "late@gmail.example"), "file"
    )
    assert outcome.disposition is Disposition.HANDLED
    assert outcome.summary_key == "inbound_hearing.summary.recorded_late"
    [answer] = await world.answers()
    assert answer.late
    await world.drain()
    [receipt] = world.to("anne@example.dk")
    assert "markeret som for sent" in _body(receipt)
    assert "FOR SENT" in await world.run("hearing", "export", "1", "--format", "md")


async def test_after_the_close_the_member_is_told_it_came_too_late(world: World) -> None:
    await world.run("hearing", "close", "1")
    await world.drain()
    world.smtp.messages.clear()
    line = await world.ingest(world.mail("gmail_da.eml", "closed@gmail.example"))
    assert "ikke registreret: høring 1" in line and "for sent" in line
    assert await world.answers() == []
    await world.drain()
    [told] = world.to("anne@example.dk")
    assert _subject(told) == f"Dit høringssvar kom for sent: {TITLE}"
    assert "ikke registreret" in _body(told)


async def test_a_forged_from_is_not_recorded_and_the_secretariat_is_told(world: World) -> None:
    raw = world.mail("outlook_da_pdf.eml", "forged@evil.example", **{"from": "anne@evil.example"})
    line = await world.ingest(raw)
    assert "ikke registreret: svaret på høring 1 kom fra anne@evil.example" in line
    assert await world.answers() == []
    await world.drain()
    assert world.to("anne@evil.example") == [] and world.to("anne@example.dk") == []
    # The council's secretariat address and its secretary (by e-mail: no Slack here).
    for secretariat in ("lbr@example.dk", "sofie@example.dk"):
        [note] = world.to(secretariat)
        assert _subject(note) == f"Høringssvar pr. e-mail ikke registreret: {TITLE}"
        body = _body(note)
        assert "anne@evil.example" in body and "Anne Andersen" in body and "høring 1" in body
        assert "Vi bakker op om planen" in body  # what they wrote, to act on
    recipients = {r for m in world.smtp.messages for r in m.rcpt_tos}
    assert recipients == {"lbr@example.dk", "sofie@example.dk"}


async def test_a_wrong_token_is_not_recorded_and_the_secretariat_is_told(world: World) -> None:
    wrong = f"svar+h1.{world.anne_id}.{'a' * 24}@example.dk"
    line = await world.ingest(world.mail("gmail_da.eml", "wrong@gmail.example", to=wrong))
    assert "forkert kode" in line and wrong in line
    assert await world.answers() == []
    await world.drain()
    assert world.to("anne@example.dk") == []
    [note] = world.to("lbr@example.dk")
    assert wrong in _body(note)
    # Another member's valid token with Anne's From: not Anne's seat, so not recorded.
    async with world.ctx.db.session() as session:
        bo = await session.scalar(select(Person).where(Person.email == "bo@example.dk"))
        assert bo is not None and bo.id is not None
    key = await _key(world)
    bo_address = reply_tokens.token_address("svar@example.dk", key, 1, bo.id)
    line = await world.ingest(world.mail("gmail_da.eml", "bo@gmail.example", to=bo_address))
    assert "som ikke er Bo Bergs adresse" in line
    assert await world.answers() == []


async def _key(world: World) -> str:
    from storage.hearing_mail import reply_key

    async with world.ctx.db.session() as session:
        key = await reply_key(session)
    assert key is not None
    return key


async def test_a_reply_whose_token_an_mta_stripped_is_matched_by_in_reply_to(
    world: World,
) -> None:
    raw = world.mail("no_token_in_reply_to.eml", "plain@mail.example", to="svar@example.dk")
    line = await world.ingest(raw)
    assert "høringssvar registreret for Anne Andersen" in line and "no_remarks" in line
    [answer] = await world.answers()
    assert answer.position == "no_remarks" and answer.remarks == ""
    # Without the In-Reply-To it is nobody's hearing answer.
    raw = world.mail("no_token_in_reply_to.eml", "x@mail.example", to="svar@example.dk")
    raw = raw.replace(world.invitation_id.encode(), b"<other@example.org>")
    outcome = await pipeline.handle_raw(world.ctx, raw, "file")
    assert outcome.kind != "hearing_reply"


async def test_a_reply_with_only_references_is_matched_by_them(world: World) -> None:
    raw = world.mail("no_token_in_reply_to.eml", "refs@mail.example", to="svar@example.dk")
    header = f"In-Reply-To: {world.invitation_id}".encode()
    assert header in raw
    raw = raw.replace(header, f"References: <thread@mail.example> {world.invitation_id}".encode())
    line = await world.ingest(raw)
    assert "høringssvar registreret for Anne Andersen" in line
    [answer] = await world.answers()
    assert answer.person_id == world.anne_id and answer.position == "no_remarks"


async def test_a_substitute_may_answer_on_the_members_e_mail(world: World) -> None:
    # Eva (an observer, not heard herself) stands in for Anne.
    async with world.ctx.db.transaction() as session:
        anne = await session.get(Person, world.anne_id)
        eva = await session.scalar(select(Person).where(Person.email == "eva@example.dk"))
        assert anne is not None and eva is not None
        await register_absence(
            session, world.ctx, anne, date(2026, 11, 23), date(2026, 12, 31), eva, actor="test"
        )
    raw = world.mail("gmail_da.eml", "sub@gmail.example", **{"from": "eva@example.dk"})
    line = await world.ingest(raw)
    assert "høringssvar registreret for Anne Andersen" in line
    [answer] = await world.answers()
    assert answer.person_id == world.anne_id and answer.answered_by_id == eva.id
    await world.drain()
    [receipt] = world.to("eva@example.dk")
    assert "suppleant for Anne Andersen" in _body(receipt)
    assert world.to("anne@example.dk") == []


async def test_without_reply_address_the_reply_to_is_the_secretariat(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    async for w in _world(database_url, tmp_path, smtp, ""):
        assert w.reply_to == "lbr@example.dk"
        async with w.ctx.db.session() as session:
            sent = await session.scalar(select(func.count()).select_from(HearingMailSent))
        assert sent == 4  # the Message-IDs are kept all the same


# --- the text, the position and the files, without a database -----------------------


@pytest.mark.parametrize(
    ("text", "position", "remarks"),
    [
        ("Støtter", "support", ""),
        ("støtter.\nGod plan.", "support", "God plan."),
        ("Støtter med bemærkninger: mere til unge", "support_with_remarks", "mere til unge"),
        ("Bemærkninger\n\nFlere praktikpladser.", "support_with_remarks", "Flere praktikpladser."),
        ("IMOD – planen er for svag", "object", "planen er for svag"),
        ("Ingen bemærkninger", "no_remarks", ""),
        ("Support", "support", ""),
        ("No remarks.", "no_remarks", ""),
        ("Objection: too little", "object", "too little"),
        ("Støttes af os alle", "support_with_remarks", "Støttes af os alle"),
        ("Vi har et par kommentarer.", "support_with_remarks", "Vi har et par kommentarer."),
    ],
)
def test_the_position_comes_from_the_first_words(text: str, position: str, remarks: str) -> None:
    assert position_of(text) == (position, remarks)


def test_english_history_and_closings_are_cut() -> None:
    text = (
        "Support.\n\nBest regards\nJane\n\nOn Tue, 1 Dec 2026 at 10:00, LBR <x@y.dk> wrote:\n> old"
    )
    assert new_text(text) == "Support."
    assert new_text("Imod\n\nSendt fra min iPhone") == "Imod"
    assert new_text("Imod. Mere følger.\n-- \nBo Berg\nLO") == "Imod. Mere følger."


def test_files_are_judged_by_name_type_and_first_bytes_never_opened() -> None:
    pdf = b"%PDF-1.7\n..."
    docx = b"PK\x03\x04...."
    parts = (
        MailPart("application/pdf", "svar.pdf", pdf, attached=True),
        MailPart("application/octet-stream", "notat.docx", docx, attached=True),
        MailPart("application/pdf", "falsk.pdf", b"MZ\x90\x00", attached=True),
        MailPart("application/pdf", "stor.pdf", b"%PDF-" + b"0" * MAX_FILE_BYTES, attached=True),
        MailPart("application/x-msdownload", "virus.exe", b"MZ", attached=True),
        MailPart("image/png", None, b"\x89PNG", attached=False),  # a signature's logo
        MailPart("text/calendar", "invite.ics", b"BEGIN:VCALENDAR", attached=True),
    )
    kept, refused = sort_files(parts)
    assert [(f.filename, f.content_type) for f in kept] == [
        ("svar.pdf", "application/pdf"),
        ("notat.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]
    assert [(f.filename, f.why) for f in refused] == [
        ("falsk.pdf", "kind"),
        ("stor.pdf", "size"),
        ("virus.exe", "kind"),
    ]


def test_tokens_survive_lowercasing_and_do_not_fit_another_seat() -> None:
    key = "k" * 64
    address = reply_tokens.token_address("Svar@Example.dk", key, 12, 34)
    found, broken = reply_tokens.claims([address.upper().lower()])
    assert broken == [] and len(found) == 1 and reply_tokens.valid(key, found[0])
    assert (found[0].hearing_id, found[0].person_id) == (12, 34)
    other = reply_tokens.TokenClaim(12, 35, found[0].token)
    assert not reply_tokens.valid(key, other)
    assert not reply_tokens.valid("x" * 64, found[0])
    assert len(found[0].token) * 5 >= 80
    _, broken = reply_tokens.claims(["svar+h12.34.short@example.dk"])
    assert broken == [12]
    # Only plus-addresses of the reply address count (someone's "x+h1.2@gmail.com" does not).
    given = ["svar+h1.2.x@example.dk", "x+h1.2.y@gmail.com", "svar@example.dk"]
    assert reply_tokens.ours(given, "svar@example.dk") == ["svar+h1.2.x@example.dk"]
    assert reply_tokens.ours(given, "") == given
