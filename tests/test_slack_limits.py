"""Slack messages that would pass Slack's limits lose nothing: the closing of a large
hearing posts a summary that fits and every answer as a file in its thread; long
lists end with "…" and where the rest is. The stand-in refuses what Slack refuses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.blocks import section
from bot.delivery.base import Message, PermanentDeliveryError
from bot.delivery.render import Renderer
from bot.delivery.slack import SlackChannel
from bot.i18n import t
from bot.services.hearing_answers import AnswerInput, record_answer
from bot.services.hearing_lifecycle import close_hearing
from bot.services.hearings import MODAL_POSITIONS, Actor
from bot.slack_text import trusted
from storage.models import OutboxMessage, Person
from tests.burst import add_members, open_test_hearing
from tests.servers import SlackStandIn
from tests.slack_rules import UploadedFile, message_error
from tests.slack_world import SlackWorld, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)


def remarks(i: int) -> str:
    """3,000 characters, unique to member ``i``."""
    head = f"Svar fra medlem {i:04d}: "
    return (head + "planen bør styrke indsatsen for unge ledige. " * 80)[:3000]


async def answer_all(w: SlackWorld, hearing_id: int, emails: list[str]) -> None:
    for i, email in enumerate(emails):
        async with w.ctx.db.transaction() as s:
            person = (await s.execute(select(Person).where(Person.email == email))).scalar_one()
            position = MODAL_POSITIONS[i % len(MODAL_POSITIONS)]
            await record_answer(s, w.ctx, hearing_id, person, AnswerInput(position, remarks(i)))


async def close(w: SlackWorld, hearing_id: int) -> None:
    async with w.ctx.db.transaction() as s:
        await close_hearing(s, w.ctx, Actor("test"), hearing_id)


def closing_posts(slack: SlackStandIn) -> list[dict[str, object]]:
    return [
        c.args
        for c in slack.posted()
        if c.args["channel"] == "#lbr-test" and "er lukket" in json.dumps(c.args["blocks"])
    ]


def in_channel(slack: SlackStandIn) -> list[UploadedFile]:
    """Files shared in lbr-test's channel."""
    return [f for f in slack.uploads.shared() if f.shared[0][0] == slack.channel_id("#lbr-test")]


def summary_ts(slack: SlackStandIn) -> str:
    """The ts Slack gave the closing summary in lbr-test's channel."""
    [call] = [
        c
        for c in slack.posted()
        if c.args["channel"] == "#lbr-test" and "er lukket" in json.dumps(c.args["blocks"])
    ]
    return str(call.answer["ts"])


async def test_closing_forty_long_answers_posts_a_summary_and_a_file_with_every_answer(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await add_members(w, 41)  # with Anne, Bo, Carl and Dorte: 45 heard
        hearing_id = await open_test_hearing(w, "Beskæftigelsesplan 2028", date(2027, 3, 19))
        await w.drain()
        await answer_all(w, hearing_id, [f"medlem{i:04d}@example.dk" for i in range(40)])
        await close(w, hearing_id)
        report = await w.drain()

        assert report.failed == 0
        refused = [c for c in slack.calls_to("chat.postMessage") if not c.ok]
        assert refused == []
        [summary] = closing_posts(slack)
        assert message_error(summary) is None
        text = json.dumps(summary["blocks"], ensure_ascii=False)
        assert "40 af 45 har svaret" in text
        for k, position in enumerate(MODAL_POSITIONS):
            label = t("da", f"hearing.position.{position}")
            assert f"{label} {len(range(k, 40, len(MODAL_POSITIONS)))}" in text, label
        assert "Har ikke svaret (5):" in text
        for name in ("Anne Andersen", "Bo Berg", "Carl Clausen", "Dorte Dahl", "Medlem 0040"):
            assert name in text
        assert "filen i tråden" in text

        # The channel's files (the secretary gets the same by DM), in the summary's thread:
        # the Markdown, then the Word document.
        [file, document] = in_channel(slack)
        assert document.filename.endswith(".docx")
        assert document.shared == [(slack.channel_id("#lbr-test"), summary_ts(slack))]
        assert file.shared == [(slack.channel_id("#lbr-test"), summary_ts(slack))]
        content = (file.content or b"").decode("utf-8")
        for i in range(40):
            assert remarks(i).strip() in content, i
        assert "Medlem 0040" in content and file.filename.endswith(".md")


async def test_a_retry_after_the_summary_went_out_shares_the_file_once(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        hearing_id = await open_test_hearing(w, "Plan", date(2027, 3, 19))
        await w.drain()
        await answer_all(w, hearing_id, ["anne@example.dk", "bo@example.dk"])
        await close(w, hearing_id)
        # Every try of this drain meets a server error when it shares the file
        # (three tries each for the channel and for the secretary's DM).
        slack.fail_next("files.completeUploadExternal", status=500, count=6)
        first = await w.drain()
        assert first.retried == 2 and len(closing_posts(slack)) == 1
        async with w.ctx.db.session() as s:
            row = (
                await s.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.key.contains("/closed/"),  # type: ignore[attr-defined]
                        OutboxMessage.address == "#lbr-test",
                    )
                )
            ).scalar_one()
        assert row.state == "pending" and (row.external_id or "").startswith("posted:")

        w.clock.set(w.clock.now() + timedelta(hours=2))
        second = await w.drain()
        assert second.failed == 0
        assert len(closing_posts(slack)) == 1  # the summary is not posted again
        [file, document] = in_channel(slack)
        assert document.filename.endswith(".docx")
        assert "Svar fra medlem 0001" in (file.content or b"").decode()


async def test_the_stand_in_refuses_what_slack_refuses(slack: SlackStandIn) -> None:
    def sections(n: int, size: int) -> list[dict[str, object]]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * size}}] * n

    assert message_error({"blocks": sections(50, 200)}) is None
    assert message_error({"blocks": sections(51, 10)}) == "invalid_blocks"
    assert message_error({"blocks": sections(1, 3001)}) == "invalid_blocks"
    assert message_error({"blocks": sections(5, 2500)}) == "msg_blocks_too_long"
    assert message_error({"text": "x" * 40001}) == "msg_too_long"
    channel = SlackChannel("xoxb-test", slack.base_url, per_channel_interval=0)
    try:
        blocks = [section(trusted("x" * 2500)) for _ in range(5)]
        too_long = Message(1, "k", "#c", "s", trusted("s"), blocks)
        try:
            await channel.send(too_long)
            raise AssertionError("the stand-in took a message Slack refuses")
        except PermanentDeliveryError as exc:
            assert "msg_blocks_too_long" in str(exc)
    finally:
        await channel.close()


async def test_an_escalation_with_hundreds_missing_fits_and_says_how_many_more(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await add_members(w, 300)
        hearing_id = await open_test_hearing(w, "Plan", date(2027, 3, 19))
        renderer = Renderer(w.ctx.tz, w.ctx.calendar)
        row = OutboxMessage(
            id=1,
            key="x",
            group_key="x",
            kind="escalation",
            source="t",
            channel="slack",
            address="UANNE001",
            payload=json.dumps(
                {"message": "hearing.reminder.escalation", "params": {"hearing_id": hearing_id}}
            ),
            due_at=START,
            created_at=START,
            updated_at=START,
        )
        async with w.ctx.db.session() as s:
            message = await renderer.render(s, row, START.date())
        args = {"text": message.text, "blocks": message.blocks}
        assert message_error(args) is None
        text = json.dumps(message.blocks, ensure_ascii=False)
        assert "Medlem 0000" in text and "mere" in text
        assert f"/hearing status {hearing_id}" in text


async def test_a_report_of_many_failures_fits_and_points_at_the_rest(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            for i in range(200):
                s.add(
                    OutboxMessage(
                        key=f"f{i}",
                        group_key=f"f{i}",
                        kind="reminder",
                        source="t",
                        channel="email",
                        address=f"person{i}@example.dk",
                        state="failed",
                        last_error="550 5.1.1 mailbox unavailable " + "x" * 150,
                        due_at=START,
                        created_at=START,
                        updated_at=START,
                    )
                )
        async with w.ctx.db.session() as s:
            ids = list((await s.execute(select(OutboxMessage.id))).scalars())
            row = OutboxMessage(
                id=10_000,
                key="r",
                group_key="r",
                kind="report",
                source="t",
                channel="slack",
                address="#lbr-test",
                payload=json.dumps({"message": "report", "params": {"failed_ids": ids}}),
                due_at=START,
                created_at=START,
                updated_at=START,
            )
            message = await Renderer(w.ctx.tz, w.ctx.calendar).render(s, row, START.date())
        assert message_error({"text": message.text, "blocks": message.blocks}) is None
        text = json.dumps(message.blocks, ensure_ascii=False)
        assert "aarshjul outbox status" in text.split("…")[-1]
        assert "person0@example.dk" in text
