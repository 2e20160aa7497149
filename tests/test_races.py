"""Two people acting on one hearing at once, through the bot's real HTTP endpoint.

Answers racing the secretary's close, a move racing a close, and one member
submitting the form twice at once, each repeated on SQLite and PostgreSQL. The
hearing's row lock (``SELECT … FOR UPDATE``; one ``BEGIN IMMEDIATE`` writer on
SQLite) decides the order; whatever the order, what people are told must match
what is stored: nobody told "gemt" is missing from the compiled answer, no answer
is stored after the close, and no closed hearing is ever moved.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.i18n import format_date, t
from bot.services.hearing_export import export_hearing
from storage import outbox
from storage.models import AuditLog, Hearing, HearingAnswer, OutboxMessage, Person
from tests.burst import (
    Posted,
    add_members,
    answer_body,
    open_test_hearing,
    post_signed,
    receipt_addresses,
)
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
#: Monday 1 March 2027, 09:00 in Copenhagen.
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
DEADLINE = date(2027, 3, 19)
MOVED_TO = date(2027, 3, 26)
ROUNDS = 20
ANSWERS = 10


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def concurrently(w: SlackWorld, bodies: list[bytes]) -> list[Posted]:
    """Post the bodies at the same moment over the world's client."""
    return list(await asyncio.gather(*(post_signed(w.http, w.url, b) for b in bodies)))


async def answered_users(w: SlackWorld, hearing_id: int) -> tuple[list[str], set[str]]:
    """The Slack ids of the stored answers (one entry per row) and of the compiled answer."""
    async with w.ctx.db.session() as s:
        stored = (
            await s.execute(
                select(Person.slack_id)
                .join(HearingAnswer, col(HearingAnswer.person_id) == Person.id)
                .where(HearingAnswer.hearing_id == hearing_id)
            )
        ).scalars()
        compiled = await export_hearing(s, w.ctx, hearing_id, "csv", "da")
        by_email = {p.email: p.slack_id for p in (await s.execute(select(Person))).scalars()}
    rows = csv.DictReader(io.StringIO(compiled))
    return [u or "" for u in stored], {
        by_email[r["email"]] or "" for r in rows if r["answered"] == "yes"
    }


async def pending_reminders(w: SlackWorld, hearing_id: int) -> int:
    async with w.ctx.db.session() as s:
        rows = await s.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.source == f"hearing:{hearing_id}",
                OutboxMessage.state == outbox.PENDING,
            )
        )
        return len(rows.all())


async def test_answers_racing_a_close_are_either_compiled_or_refused(
    database_url: str, tmp_path: Path, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        users = await add_members(w, ANSWERS)
        invited = 4 + ANSWERS  # Anne (chair), Bo, Carl, Dorte and the new members
        refused_somewhere = told_saved_somewhere = 0
        for round_ in range(ROUNDS):
            title = f"Race {round_}"
            hearing_id = await open_test_hearing(w, title, DEADLINE)
            close, name = w.command_body("USOFIE01", "/hearing", f"close {hearing_id}")
            answers = [answer_body(w, u, hearing_id, f"Svar {round_}/{u}") for u in users]
            if round_ % 4 == 3:
                # Every fourth round the close is through before the answers come: on a
                # quiet machine the close (answered after its ack) may otherwise lose
                # every race, and the refusal path would go untested.
                closed_ack = await post_signed(w.http, w.url, close)
                await w.response(name)
                posted = await concurrently(w, answers)
            else:
                # The close lands at a different place among the answers each round.
                at = round_ % (ANSWERS + 1)
                posted = await concurrently(w, [*answers[:at], close, *answers[at:]])
                closed_ack = posted.pop(at)
            assert closed_ack.status == 200
            assert all(p.status == 200 and p.seconds < 3 for p in posted)

            told_saved = {u for u, p in zip(users, posted, strict=True) if p.acked_clean}
            closed_text = t("da", "hearing.error.closed", id=hearing_id, title=title)[:150]
            for u, p in zip(users, posted, strict=True):
                if u not in told_saved:
                    assert json.loads(p.body)["errors"] == {"position": closed_text}, (u, p)
            reply = (await w.response(name))["text"]
            stored, compiled = await answered_users(w, hearing_id)
            # Nobody told "gemt" is missing; nothing was stored after the close; the
            # secretary was told the same count.
            assert sorted(stored) == sorted(told_saved), (round_, stored, told_saved)
            assert compiled == told_saved, (round_, compiled, told_saved)
            # (What follows the count says whether a running bot sends the result now.)
            assert reply.startswith(
                t(
                    "da",
                    "slack.hearing.closed",
                    id=hearing_id,
                    answered=len(told_saved),
                    invited=invited,
                    delivery="",
                ).strip()
            ), reply
            async with w.ctx.db.session() as s:
                hearing = await s.get(Hearing, hearing_id)
                assert hearing is not None and hearing.state == "closed"
            assert await receipt_addresses(w, hearing_id) == sorted(told_saved)
            assert await pending_reminders(w, hearing_id) == 0
            refused_somewhere += len(users) - len(told_saved)
            told_saved_somewhere += len(told_saved)
        # Both outcomes happened: answers were refused after a close and compiled before one.
        assert refused_somewhere > 0 and told_saved_somewhere > 0
    assert errors_in(caplog) == []


async def test_a_move_racing_a_close_never_moves_a_closed_hearing(
    database_url: str, tmp_path: Path, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        moved_first = closed_first = 0
        for round_ in range(ROUNDS):
            title = f"Flyt {round_}"
            hearing_id = await open_test_hearing(w, title, DEADLINE)
            move, move_name = w.command_body(
                "USOFIE01", "/hearing", f"move {hearing_id} {MOVED_TO.isoformat()}"
            )
            close, close_name = w.command_body("USOFIE01", "/hearing", f"close {hearing_id}")
            bodies = [move, close] if round_ % 2 else [close, move]
            assert all(p.status == 200 for p in await concurrently(w, bodies))
            move_reply = (await w.response(move_name))["text"]
            await w.response(close_name)
            async with w.ctx.db.session() as s:
                actions = list(
                    (
                        await s.execute(
                            select(AuditLog.action)
                            .where(
                                AuditLog.entity == "hearing",
                                AuditLog.entity_id == str(hearing_id),
                            )
                            .order_by(col(AuditLog.id))
                        )
                    ).scalars()
                )
                hearing = await s.get(Hearing, hearing_id)
            assert hearing is not None and hearing.state == "closed"
            assert actions[-1] == "hearing.closed", actions
            if "hearing.moved" in actions:
                moved_first += 1
                assert actions == ["hearing.opened", "hearing.moved", "hearing.closed"]
                assert hearing.deadline == MOVED_TO
                assert move_reply == t(
                    "da",
                    "hearing.move.done",
                    id=hearing_id,
                    old=format_date(DEADLINE, "da", long=True),
                    new=format_date(MOVED_TO, "da", long=True),
                )
            else:
                closed_first += 1
                assert actions == ["hearing.opened", "hearing.closed"]
                assert hearing.deadline == DEADLINE
                # The secretary is told it is closed, never that the move succeeded.
                closed_text = t("da", "hearing.error.move_closed", id=hearing_id, title=title)
                assert closed_text in move_reply, move_reply
            assert await pending_reminders(w, hearing_id) == 0
        assert moved_first + closed_first == ROUNDS
    assert errors_in(caplog) == []


@pytest.mark.parametrize("same", [True, False], ids=["same-answer", "changed-answer"])
async def test_two_first_answers_by_one_member_at_once_give_one_answer(
    database_url: str,
    tmp_path: Path,
    slack: SlackStandIn,
    caplog: pytest.LogCaptureFixture,
    same: bool,
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        for round_ in range(5):
            hearing_id = await open_test_hearing(w, f"Dobbelt {round_}", DEADLINE)
            bodies = [
                answer_body(w, "UBO00001", hearing_id, "Samme" if same else f"Udgave {i}")
                for i in range(2)
            ]
            posted = await concurrently(w, bodies)
            assert all(p.acked_clean and p.seconds < 3 for p in posted), posted
            async with w.ctx.db.session() as s:
                rows = list(
                    (
                        await s.execute(
                            select(HearingAnswer).where(HearingAnswer.hearing_id == hearing_id)
                        )
                    ).scalars()
                )
            assert len(rows) == 1
            # The second is a new version when it differs, nothing new when it is the same.
            assert rows[0].version == (1 if same else 2)
            assert rows[0].remarks in {"Samme", "Udgave 0", "Udgave 1"}
    assert errors_in(caplog) == []
