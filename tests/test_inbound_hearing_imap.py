"""Hearing answers by e-mail read from a real IMAP mailbox (Dovecot on loopback).

The replies are put into the secretariat's mailbox with IMAP APPEND, as its mail server
would; the reader hands each to the same pipeline ``mail ingest`` uses, then moves it
to ``done``. See tests/test_inbound_hearing.py for the same replies through a file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.inbound.imap import ImapReader, ImapSettings
from bot.services.inbound.message import Disposition
from tests.imap_server import Dovecot, dovecot_missing
from tests.servers import SmtpStandIn
from tests.test_inbound_hearing import World, _body, _subject, _world

pytestmark = pytest.mark.skipif(dovecot_missing() is not None, reason=dovecot_missing() or "")


@pytest.fixture
async def world(database_url: str, tmp_path: Path, smtp: SmtpStandIn) -> AsyncIterator[World]:
    async for w in _world(database_url, tmp_path, smtp, 'reply_address = "svar@example.dk"'):
        yield w


def _settings(server: Dovecot) -> ImapSettings:
    return ImapSettings(
        host=server.host,
        port=server.port,
        tls="none",
        username=server.user,
        password=server.password,
        folder="INBOX",
        done_folder="done",
        failed_folder="failed",
        poll_seconds=60.0,
        max_bytes=25 * 1024 * 1024,
    )


async def test_replies_appended_to_the_mailbox_are_recorded_or_refused(
    world: World, tmp_path: Path
) -> None:
    with Dovecot(tmp_path / "dovecot") as server:
        await server.append(world.mail("outlook_da_pdf.eml", "imap1@outlook.example"))
        forged = {"from": "anne@evil.example"}
        await server.append(world.mail("gmail_da.eml", "imap2@evil.example", **forged))
        # The same reply delivered twice (an MTA's retry): handled once.
        await server.append(world.mail("outlook_da_pdf.eml", "imap1@outlook.example"))
        outcomes = await ImapReader(world.ctx, _settings(server)).run_once()
        assert [(o.kind, o.summary_key) for o in outcomes] == [
            ("hearing_reply", "inbound_hearing.summary.recorded"),
            ("hearing_reply", "inbound_hearing.summary.other_sender"),
            ("duplicate", outcomes[2].summary_key),
        ]
        assert all(o.disposition is Disposition.HANDLED for o in outcomes)
        assert await server.count("INBOX") == 0 and await server.count("done") == 3
    [answer] = await world.answers()
    assert (answer.position, answer.version) == ("support_with_remarks", 1)
    await world.drain()
    [receipt] = world.to("anne@example.dk")
    assert "> Vi bakker op om planen" in _body(receipt)
    assert world.to("anne@evil.example") == []
    [note] = world.to("lbr@example.dk")
    assert _subject(note).startswith("Høringssvar pr. e-mail ikke registreret")
    md = await world.run("hearing", "export", "1", "--format", "md")
    assert "Vedhæftet: DA-notat om planen.pdf" in md
