"""What is still waiting when a hearing closes or moves, or a meeting is cancelled.

The secretary works from the CLI while no ``aarshjul run`` is running; the bot
starts later (here ``aarshjul run --drain``, in-process) and must send only what
is still true: no invitation to a closed hearing, no invitation to a cancelled
meeting, no text with a deadline that moved.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from tests.cli_runner import CLOCK, Cli
from tests.test_hearing_cli import cli_for


def _rows(url: str) -> list[tuple[str, str, str | None]]:
    async def go() -> list[tuple[str, str, str | None]]:
        db = Database(url)
        try:
            async with db.session() as session:
                result = await session.execute(
                    text("SELECT key, state, last_error FROM outbox WHERE key LIKE :p ORDER BY id"),
                    {"p": "%-msg:%"},
                )
                return [(r[0], r[1], r[2]) for r in result]
        finally:
            await db.dispose()

    return asyncio.run(go())


def _mails(folder: Path) -> list[tuple[str, str, str]]:
    """(To, Subject, plain text) of every .eml written."""
    found = []
    for path in sorted(folder.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        found.append((str(mail["To"]), str(mail["Subject"]), body.get_content() if body else ""))
    return found


#: With a bot token the hearing is also announced in the channel and DMed; the drain
#: below runs without one, so Slack rows that survive stay pending (nothing reaches Slack).
SLACK = {"SLACK_BOT_TOKEN": "xoxb-test"}


def _open(cli: Cli, **env: str) -> None:
    out = cli.ok(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18",
        "--title", "Plan 2027", **env,
    )  # fmt: skip
    assert out.strip() == "1"


def test_a_hearing_closed_before_the_bot_ran_sends_only_its_closing(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_for(database_url, tmp_path)
    _open(cli, **SLACK)
    opening = [k for k, state, _ in _rows(database_url) if state == "pending"]
    assert any("/invite/" in k for k in opening) and any("/announce/" in k for k in opening)
    cli.ok("hearing", "close", "1", **SLACK)
    cli.ok("run", "--drain")

    rows = _rows(database_url)
    for key, state, why in rows:
        if "/invite/" in key or "/announce/" in key:
            assert (state, why) == ("skipped", "withdrawn: the hearing was closed"), key
        else:
            waits = "/slack/" in key and state == "pending"  # no token for the drain
            assert "/closed/" in key and (state == "sent" or waits), (key, state)
    assert any("/closed/" in key for key, _, _ in rows)
    mails = _mails(tmp_path / "mail")
    assert mails, "the closing went out"
    for to, subject, body in mails:
        assert "svar senest" not in body.lower() and "Afgiv høringssvar" not in body, (to, subject)
    members = {"anne@example.dk", "bo@example.dk", "carl@example.dk", "dorte@example.dk"}
    assert not [m for m in mails if m[0] in members], "no member is invited to a closed hearing"


def test_a_moved_hearing_sends_the_new_deadline_only(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    _open(cli)
    cli.ok("hearing", "move", "1", "--deadline", "2027-01-08")
    cli.ok("run", "--drain")
    invitations = [m for m in _mails(tmp_path / "mail") if m[0] == "bo@example.dk"]
    assert len(invitations) == 1
    _, _, body = invitations[0]
    assert "8. januar 2027" in body and "18. december" not in body


def test_a_meeting_cancelled_before_the_bot_ran_sends_no_invitation(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_for(database_url, tmp_path)
    created = cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Planseminar",
        "--start", "2027-03-29 09:00", "--end", "2027-03-29 15:00",
    )  # fmt: skip
    meeting = created.strip()
    cli.ok("seminar", "invite", meeting)
    cli.ok("seminar", "update", meeting, "--start", "2027-03-30 09:00")
    cli.ok("seminar", "cancel", meeting)
    cli.ok("run", "--drain")
    rows = _rows(database_url)
    assert rows and all(state == "skipped" for _, state, _ in rows), rows
    # Nobody received an invitation, so nobody is told it is cancelled either.
    assert _mails(tmp_path / "mail") == []


def _claim_invitations(url: str) -> None:
    """As if a worker had claimed the invitations, then died, before the close."""

    async def go() -> None:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await session.execute(
                    text(
                        "UPDATE outbox SET state = 'sending', claimed_by = 'gone:1:dead', "
                        "lease_until = :past WHERE key LIKE '%/invite/%'"
                    ),
                    {"past": CLOCK.now() - timedelta(hours=1)},
                )
        finally:
            await db.dispose()

    asyncio.run(go())


def test_an_invitation_in_flight_at_the_close_is_not_sent_when_taken_over(
    database_url: str, tmp_path: Path
) -> None:
    cli = cli_for(database_url, tmp_path)
    _open(cli)
    _claim_invitations(database_url)
    cli.ok("hearing", "close", "1")
    cli.ok("run", "--drain")
    invites = [(s, why) for k, s, why in _rows(database_url) if "/invite/" in k]
    assert invites and all(
        (s, why) == ("skipped", "condition hearing_still_open does not hold") for s, why in invites
    ), invites
    members = {"anne@example.dk", "bo@example.dk", "carl@example.dk", "dorte@example.dk"}
    assert not [m for m in _mails(tmp_path / "mail") if m[0] in members]
