"""Bounces and auto-replies (issue 13, point 4): a DSN for one of our Message-IDs fails that
outbox row with the server's reason and puts it in the secretariat's daily failure report;
auto-replies are seen and never answered. Real invitations written by the worker, the
reader's parse_message, both databases."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from email.header import Header
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import build_cli
from bot.delivery.base import Message
from bot.delivery.email import message_id
from bot.i18n import t
from bot.runner import drain
from bot.services.inbound.bounces import auto_reply_reason, handle_bounce_or_auto_reply
from bot.services.inbound.dsn import digest_of, read_report
from bot.services.inbound.imap import ImapReader
from bot.services.inbound.message import Disposition
from bot.services.inbound.parse import parse_message
from bot.services.reminders import plan_failure_reports
from scheduler.planner import Kind, PlannedNotification
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage
from tests.cli_runner import CLOCK, Cli
from tests.conftest import snapshot
from tests.imap_server import Dovecot, dovecot_missing
from tests.inbound_world import (
    EXTRA,
    NOW,
    SECRETARIAT,
    SENDER,
    TITLE,
    handle,
    imap_env,
    invited_meeting,
    load_fixture,
    sent_mail,
    world,
)
from tests.servers import SmtpStandIn
from tests.test_inbound_hearing import World, _world

#: fixture ⟶ the reason the row keeps (Status, then the server's diagnostic).
BOUNCES = {
    "postfix_user_unknown.eml": "5.1.1 550 5.1.1 <{to}>: Recipient address rejected: User unknown",
    "exchange_ndr.eml": "5.1.10 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found",
    "original_message_id_header.eml": "5.2.2 552 5.2.2 Mailbox full",
    "original_message_id_field.eml": "5.7.1 550 5.7.1 Relaying denied",
}


def fixture(name: str, message_id: str, to: str = EXTRA, **more: str) -> bytes:
    return load_fixture(
        f"bounce/{name}",
        MESSAGE_ID=message_id,
        RECIPIENT=to,
        SENDER=SENDER,
        SUBJECT=f"Invitation: {TITLE}",
        **more,
    )


async def invitation_row(ctx, to: str) -> OutboxMessage:  # type: ignore[no-untyped-def]
    async with ctx.db.session() as s:
        return (
            await s.execute(
                select(OutboxMessage).where(
                    OutboxMessage.address == to, OutboxMessage.channel == "email"
                )
            )
        ).scalar_one()


@pytest.mark.parametrize("name", sorted(BOUNCES))
async def test_a_bounce_fails_the_row_with_the_reason_and_the_report_lists_it(
    database_url: str, tmp_path: Path, name: str
) -> None:
    async with world(database_url, tmp_path) as (ctx, clock):
        await invited_meeting(ctx)
        row = await invitation_row(ctx, EXTRA)
        assert row.state == outbox.SENT and row.external_id
        # The Message-ID in the bounce is the one the invitation really carried.
        assert sent_mail(tmp_path / "mail", EXTRA)["Message-ID"] == row.external_id
        raw = fixture(name, row.external_id)
        outcome = await handle(ctx, raw)
        assert outcome is not None
        assert (outcome.disposition, outcome.kind) == (Disposition.HANDLED, "bounce")
        reason = BOUNCES[name].format(to=EXTRA)
        assert str(outcome.params["reason"]).startswith(reason)
        line = t("da", outcome.summary_key, **outcome.params)
        assert f"besked {row.id} til {EXTRA} kunne ikke leveres ({reason}" in line
        failed = await invitation_row(ctx, EXTRA)
        assert failed.state == outbox.FAILED
        assert (failed.last_error or "").startswith(f"bounce: {reason}")
        # Only that row: the other invitations stay sent.
        async with ctx.db.session() as s:
            states = (
                await s.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                )
            ).all()
        assert dict(states) == {outbox.SENT: 6, outbox.FAILED: 1}

        # The same bounce again (or another one for it) leaves the row as it is.
        before = await snapshot(ctx.db)
        again = await handle(ctx, raw)
        assert again is not None
        assert (again.disposition, again.summary_key) == (
            Disposition.IGNORED,
            "inbound_bounce.summary.already",
        )
        assert await snapshot(ctx.db) == before

        # The secretariat's daily failure report lists it, with the server's reason.
        clock.set(NOW + timedelta(minutes=5))
        async with ctx.db.transaction() as s:
            assert await plan_failure_reports(s, ctx) == 1
        await drain(ctx)
        report = sent_mail(tmp_path / "mail", SECRETARIAT)
        text = report.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert EXTRA in text and reason[:40] in text
        assert f"{row.id}" in text


async def test_dsns_that_are_not_about_our_messages_or_not_failures_change_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        await invited_meeting(ctx)
        row = await invitation_row(ctx, EXTRA)
        assert row.id is not None and row.external_id
        domain = SENDER.rpartition("@")[2]
        forged = f"<aarshjul.{row.id}.{'0' * 16}@{domain}>"  # the right row, a wrong hash
        other = await invitation_row(ctx, "m02@example.dk")
        cases = (
            ("postfix_user_unknown.eml", "<CAF=abc123@mail.gmail.com>", "not_ours"),
            ("exchange_ndr.eml", forged, "not_ours"),
            # A hash of another row's key under this row's number is not this row either.
            (
                "original_message_id_field.eml",
                f"<aarshjul.{row.id}.{digest_of(other.key)}@{domain}>",
                "not_ours",
            ),
            ("delayed.eml", row.external_id, "not_failure"),
        )
        before = await snapshot(ctx.db)
        for name, mid, reason in cases:
            outcome = await handle(ctx, fixture(name, mid))
            assert outcome is not None, name
            assert (outcome.disposition, outcome.kind) == (Disposition.IGNORED, "bounce"), name
            assert outcome.summary_key == f"inbound_bounce.summary.{reason}", name
            for lang in ("da", "en"):
                assert t(lang, outcome.summary_key, **outcome.params)
        assert await snapshot(ctx.db) == before


def test_our_message_id_is_recognised_with_the_hash_of_the_rows_key() -> None:
    """The DSN reader and bot.delivery.email.message_id agree on the hash."""
    key = "meeting-msg:3/s0/request/email/a@example.dk"
    message = Message(row_id=42, key=key, address="a@example.dk", subject="s", text="t")
    written = message_id(message, SENDER)
    assert written == f"<aarshjul.42.{digest_of(key)}@example.dk>"


async def test_fail_bounced_follows_the_outbox_state_rules(db: Database) -> None:
    """pending (after a reclaim), sending and sent become failed; failed and skipped rows
    stay as they are; a key that does not match changes nothing."""
    now = NOW
    planned = [
        PlannedNotification(
            key=f"k/{state}",
            group_key=f"k/{state}",
            kind=Kind.NOTICE,
            source="test",
            council_id=None,
            person_id=None,
            channel="email",
            address=f"{state}@example.dk",
            language="da",
            message="notice",
            params={},
            due_at=now,
            expires_at=None,
        )
        for state in outbox.STATES
    ]
    async with db.transaction() as s:
        await outbox.enqueue(s, planned, now=now)
        for state in outbox.STATES:
            await s.execute(
                OutboxMessage.__table__.update()
                .where(OutboxMessage.__table__.c.key == f"k/{state}")
                .values(state=state, last_error="before")
            )
    async with db.transaction() as s:
        ids = {r.key: r.id for r in (await s.execute(select(OutboxMessage))).scalars()}
        results = {
            state: await outbox.fail_bounced(
                s, ids[f"k/{state}"], key=f"k/{state}", reason="bounce: 5.1.1", now=now
            )
            for state in outbox.STATES
        }
        assert not await outbox.fail_bounced(s, ids["k/sent"], key="k/pending", reason="x", now=now)
    assert results == {
        "pending": True,
        "sending": True,
        "sent": True,
        "failed": False,
        "skipped": False,
    }
    async with db.session() as s:
        rows = {
            r.key: (r.state, r.last_error)
            for r in (await s.execute(select(OutboxMessage))).scalars()
        }
    assert rows == {
        "k/pending": ("failed", "bounce: 5.1.1"),
        "k/sending": ("failed", "bounce: 5.1.1"),
        "k/sent": ("failed", "bounce: 5.1.1"),
        "k/failed": ("failed", "before"),
        "k/skipped": ("skipped", "before"),
    }


@pytest.mark.parametrize("name", ["outlook_ooo_da.eml", "sieve_vacation.eml"])
async def test_an_auto_reply_is_seen_and_gets_no_answer(
    database_url: str, tmp_path: Path, name: str
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        await invited_meeting(ctx)
        row = await invitation_row(ctx, "m02@example.dk")
        assert row.external_id
        raw = fixture(name, row.external_id, to="m02@example.dk", RECIPIENT_NAME="Medlem 02")
        async with ctx.db.session() as s:
            rows_before = await s.scalar(select(func.count()).select_from(OutboxMessage))
        outcome = await handle(ctx, raw)
        assert outcome is not None
        assert (outcome.disposition, outcome.kind) == (Disposition.IGNORED, "auto_reply")
        assert "besvares ikke" in t("da", outcome.summary_key, **outcome.params)
        async with ctx.db.session() as s:
            rows_after = await s.scalar(select(func.count()).select_from(OutboxMessage))
            pending = await s.scalar(
                select(func.count()).where(col(OutboxMessage.state) == outbox.PENDING)
            )
        assert rows_after == rows_before and pending == 0
        # The invitation it answered is not touched either.
        assert (await invitation_row(ctx, "m02@example.dk")).state == outbox.SENT


PLAIN = (
    "From: Bo <bo@example.dk>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    "Message-ID: <x1@example.dk>\r\n{extra}\r\nTekst.\r\n"
)


def test_a_raw_8_bit_danish_subject_still_counts() -> None:
    raw = PLAIN.format(to=SENDER, subject="Fraværende: Høring", extra="").encode("utf-8")
    why = auto_reply_reason(parse_message(raw))
    assert why is not None and why.startswith("Subject: Frav")


@pytest.mark.parametrize(
    ("subject", "extra", "why"),
    [
        ("Re: Høring", "Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-replied"),
        ("Re: Høring", "Auto-Submitted: auto-generated\r\n", "Auto-Submitted: auto-generated"),
        ("Re: Høring", "X-Autoreply: yes\r\n", "X-Autoreply: yes"),
        ("Re: Høring", "X-Autorespond: Away\r\n", "X-Autorespond: Away"),
        ("Re: Høring", "Precedence: auto_reply\r\n", "Precedence: auto_reply"),
        ("Re: Høring", "Precedence: bulk\r\n", "Precedence: bulk"),
        ("Re: Høring", "Precedence: junk\r\n", "Precedence: junk"),
        ("Automatisk svar: Høring", "", "Subject: Automatisk svar: Høring"),
        ("Automatic reply: Hearing", "", "Subject: Automatic reply: Hearing"),
        ("Out of Office: Hearing", "", "Subject: Out of Office: Hearing"),
        ("Fraværende: Høring", "", "Subject: Fraværende: Høring"),
        ("Re: Høring", "Auto-Submitted: no\r\n", None),
        ("Re: Høring", "Precedence: list\r\n", None),
        ("Re: Høring", "X-Auto-Response-Suppress: All\r\n", None),
        ("Re: Out of Office hours meeting", "", None),
    ],
)
def test_what_counts_as_an_auto_reply(subject: str, extra: str, why: str | None) -> None:
    encoded = subject if subject.isascii() else Header(subject, "utf-8").encode()
    raw = PLAIN.format(to=SENDER, subject=encoded, extra=extra).encode("ascii")
    assert auto_reply_reason(parse_message(raw)) == why


async def test_an_auto_reply_carrying_a_calendar_answer_goes_on_to_the_calendar_handler(
    database_url: str, tmp_path: Path
) -> None:
    """A room or a delegate's calendar accepts automatically: the answer still counts."""
    async with world(database_url, tmp_path) as (ctx, _):
        meeting = await invited_meeting(ctx, deliver=False)
        raw = load_fixture(
            "calendar/outlook_desktop_accept.eml",
            UID=meeting.uid,
            SEQUENCE="0",
            ORGANIZER=SENDER,
            ATTENDEE="m02@example.dk",
            ATTENDEE_NAME="Medlem 02",
            TITLE=TITLE,
        ).replace(
            b"\r\nMIME-Version: 1.0\r\n",
            b"\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n",
            1,
        )
        mail = parse_message(raw)
        assert auto_reply_reason(mail) == "Auto-Submitted: auto-generated"
        async with ctx.db.session() as s:
            assert await handle_bounce_or_auto_reply(ctx, s, mail) is None
        outcome = await handle(ctx, raw)
        assert outcome is not None and outcome.kind == "calendar_reply"


def test_the_fixtures_parse_as_the_reader_sees_them() -> None:
    raw = fixture("exchange_ndr.eml", "<aarshjul.1.0123456789abcdef@example.dk>")
    mail = parse_message(raw)
    assert mail.report_type == "delivery-status"
    assert {p.content_type for p in mail.parts} >= {
        "message/delivery-status",
        "text/rfc822-headers",
    }
    assert email.message_from_bytes(raw, policy=policy.default)["Subject"].startswith(
        "Undeliverable:"
    )


# -- through ``aarshjul mail ingest`` ------------------------------------------------------


async def test_a_bounce_and_an_out_of_office_through_mail_ingest(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, tmp_path) as (ctx, _):
        await invited_meeting(ctx)
        cli = Cli(database_url, tmp_path / "config.toml")

        def ingest(raw: bytes) -> str:
            app = build_cli(clock=CLOCK)
            result = CliRunner().invoke(app, ["mail", "ingest", "-"], env=cli.env, input=raw)
            assert result.exit_code == 0, (result.stdout, result.stderr)
            lines = result.stdout.splitlines()
            assert len(lines) == 1, lines
            return lines[0]

        row = await invitation_row(ctx, EXTRA)
        assert row.external_id
        line = await asyncio.to_thread(ingest, fixture("exchange_ndr.eml", row.external_id))
        assert line.startswith(
            f"Behandlet: Returmail: besked {row.id} til {EXTRA} kunne ikke leveres (5.1.10 "
        ), line
        assert (await invitation_row(ctx, EXTRA)).state == outbox.FAILED

        member = await invitation_row(ctx, "m02@example.dk")
        assert member.external_id
        async with ctx.db.session() as s:
            rows_before = await s.scalar(select(func.count()).select_from(OutboxMessage))
        ooo = fixture(
            "outlook_ooo_da.eml", member.external_id, to="m02@example.dk", RECIPIENT_NAME="M 02"
        )
        line = await asyncio.to_thread(ingest, ooo)
        assert line == (
            "Ignoreret: Autosvar fra m02@example.dk set (Auto-Submitted: auto-generated); "
            "det besvares ikke."
        )
        async with ctx.db.session() as s:
            assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == rows_before
        assert (await invitation_row(ctx, "m02@example.dk")).state == outbox.SENT


# -- through IMAP ----------------------------------------------------------------------------


@pytest.mark.skipif(dovecot_missing() is not None, reason=dovecot_missing() or "")
async def test_a_bounce_and_an_out_of_office_through_imap(
    database_url: str, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "dovecot") as server:
        async with world(database_url, tmp_path, **imap_env(server)) as (ctx, _):
            await invited_meeting(ctx)
            bounced = await invitation_row(ctx, EXTRA)
            member = await invitation_row(ctx, "m02@example.dk")
            assert bounced.external_id and member.external_id
            await server.append(fixture("postfix_user_unknown.eml", bounced.external_id))
            await server.append(
                fixture(
                    "outlook_ooo_da.eml",
                    member.external_id,
                    to="m02@example.dk",
                    RECIPIENT_NAME="Medlem 02",
                )
            )
            await server.append(fixture("sieve_vacation.eml", member.external_id))
            async with ctx.db.session() as s:
                rows_before = await s.scalar(select(func.count()).select_from(OutboxMessage))
            outcomes = await ImapReader(ctx).run_once()
            assert [(o.kind, o.disposition) for o in outcomes] == [
                ("bounce", Disposition.HANDLED),
                ("auto_reply", Disposition.IGNORED),
                ("auto_reply", Disposition.IGNORED),
            ]
            assert await server.count("INBOX") == 0 and await server.count("done") == 3
            failed = await invitation_row(ctx, EXTRA)
            assert failed.state == outbox.FAILED and "5.1.1" in (failed.last_error or "")
            # The auto-replies got no answer: not one outbox row more.
            async with ctx.db.session() as s:
                assert (
                    await s.scalar(select(func.count()).select_from(OutboxMessage)) == rows_before
                )


# -- an auto-reply to a hearing e-mail: claimed before the hearing-reply handler ----------


def hearing_auto_reply(w: World, subject: str, extra: str) -> bytes:
    """Anne's mailbox answering her hearing invitation by itself: From her address, to her
    reply token, In-Reply-To the invitation; the body even starts like a position."""
    return (
        f"From: Anne Andersen <anne@example.dk>\r\nTo: {w.reply_to}\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        f"Message-ID: <ooo-{digest_of(subject)}@example.dk>\r\n"
        f"In-Reply-To: {w.invitation_id}\r\nReferences: {w.invitation_id}\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Støtter du mig ikke? Jeg er på ferie til 1. december.\r\n"
    ).encode()


@pytest.fixture
async def hearing_world(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> AsyncIterator[World]:
    """The hearing tests' world: a hearing opened, invitations with reply tokens sent."""
    async for w in _world(database_url, tmp_path, smtp, 'reply_address = "svar@example.dk"'):
        yield w


@pytest.mark.parametrize(
    ("subject", "extra"),
    [
        (
            "Automatisk svar: Høring",
            "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        ),
        ("Fraværende: Høring", ""),
        ("Re: Høring", "X-Autoreply: yes\r\n"),
    ],
)
async def test_an_auto_reply_to_a_hearing_invitation_records_nothing_and_gets_no_receipt(
    hearing_world: World, subject: str, extra: str
) -> None:
    line = await hearing_world.ingest(hearing_auto_reply(hearing_world, subject, extra))
    assert line.startswith("Ignoreret: Autosvar fra anne@example.dk set ("), line
    assert await hearing_world.answers() == []
    await hearing_world.drain()
    assert hearing_world.smtp.messages == []  # no receipt, no note: no mail loop


def dsn(status_fields: str, headers: str = "") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: x@example.dk\r\nSubject: Returned\r\n"
        f"Message-ID: <r1@mx.example.org>\r\n{headers}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nReturned.\r\n"
        f"--b\r\nContent-Type: message/delivery-status\r\n\r\n{status_fields}\r\n--b--\r\n"
    ).encode()


def test_the_status_report_is_read_per_recipient() -> None:
    ours = "<aarshjul.7.0123456789abcdef@example.dk>"
    report = read_report(
        parse_message(
            dsn(
                "Reporting-MTA: dns; mx.example.org\r\n\r\n"
                "Final-Recipient: rfc822; other@example.org\r\n"
                "Action: failed\r\nStatus: 5.1.1\r\n\r\n"
                "Final-Recipient: rfc822;<A@Example.dk>\r\nAction: failed\r\nStatus: 5.2.1\r\n"
                "Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled\r\n",
                headers=f"X-Original-Message-ID: {ours}\r\n",
            )
        )
    )
    assert report.our_ids == ((7, "0123456789abcdef"),)
    assert report.failed
    assert report.reason_for("a@example.dk") == "5.2.1 550 5.2.1 Mailbox disabled"
    assert report.reason_for("nobody@example.dk") == "5.1.1"
    # No Action field: the status class decides; no per-message block is fine too.
    transient = read_report(
        parse_message(dsn("Final-Recipient: rfc822; a@example.dk\r\nStatus: 4.2.2\r\n"))
    )
    assert not transient.failed and transient.recipients[0].final_recipient == "a@example.dk"
    permanent = read_report(
        parse_message(dsn("Final-Recipient: rfc822; a@example.dk\r\nStatus: 5.2.2\r\n"))
    )
    assert permanent.failed and permanent.our_ids == ()
