"""A hearing run end to end through Slack: signed requests to the bot's real HTTP
endpoint, the Web API answered by a loopback stand-in, both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.blocks import ANSWER_BUTTON, ANSWER_VIEW, OPEN_VIEW
from bot.services.hearing_export import export_hearing
from storage.models import AuditLog, Hearing, HearingAnswer, OutboxMessage, Person
from tests.conftest import snapshot
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, answer_values, open_values, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
#: Monday 1 March 2027, 09:00 in Copenhagen.
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
DEADLINE = "2027-03-19"  # a Friday, 18 days later
DOC = "https://example.dk/beskaeftigelsesplan-2028.pdf"


def blocks_of(call: object) -> list[dict[str, object]]:
    raw = call.args["blocks"]  # type: ignore[attr-defined]
    return json.loads(raw) if isinstance(raw, str) else raw


def view_of(call: object) -> dict[str, object]:
    raw = call.args["view"]  # type: ignore[attr-defined]
    return json.loads(raw) if isinstance(raw, str) else raw


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


async def open_by_modal(w: SlackWorld) -> Hearing:
    status, _, took, _ = await w.command("USOFIE01", "/hearing", "open")
    assert status == 200 and took < 3
    opened = await w.api_call("views.open")
    view = view_of(opened)
    assert view["callback_id"] == OPEN_VIEW
    submitted = w.submission(
        "USOFIE01",
        OPEN_VIEW,
        open_values("lbr-test", "Beskæftigelsesplan 2028", DEADLINE, document=DOC),
        private_metadata=view["private_metadata"],
    )
    status, body, took = await w.interact(submitted)
    assert status == 200 and took < 3, body
    assert json.loads(body) == {"response_action": "clear"}
    async with w.ctx.db.session() as s:
        hearing = (await s.execute(select(Hearing))).scalars().one()
    return hearing


async def answer(
    w: SlackWorld, user: str, hearing_id: int, position: str, remarks: str = "", **kw: object
) -> tuple[int, str]:
    payload = w.submission(
        user,
        ANSWER_VIEW,
        answer_values(position, remarks),
        private_metadata=json.dumps({"hearing_id": hearing_id}),
    )
    status, body, took = await w.interact(payload, **kw)  # type: ignore[arg-type]
    assert took < 3
    return status, body


async def test_a_hearing_end_to_end(database_url: str, tmp_path: Path, slack: SlackStandIn) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        hearing = await open_by_modal(w)
        assert (hearing.title, hearing.subject, hearing.document_url) == (
            "Beskæftigelsesplan 2028",
            "employment_plan",
            DOC,
        )
        assert hearing.deadline.isoformat() == DEADLINE

        # The announcement in the channel, a DM to each of the four members.
        report = await w.drain()
        assert report.failed == 0
        posts = slack.posted()
        channel_posts = [p for p in posts if p.args["channel"] == "#lbr-test"]
        assert len(channel_posts) == 1
        blocks = blocks_of(channel_posts[0])
        text = json.dumps(blocks, ensure_ascii=False)
        assert "Beskæftigelsesplan 2028" in text and DOC in text
        assert "fredag den 19. marts 2027" in text  # the deadline with its weekday
        assert ANSWER_BUTTON in text and "Afgiv høringssvar" in text
        opened_dms = {c.args["users"] for c in slack.calls_to("conversations.open")}
        assert opened_dms == {"UANNE001", "UBO00001", "UCARL001", "UDORTE01"}
        async with w.ctx.db.session() as s:
            hearing = await s.get(Hearing, hearing.id)
        assert hearing is not None and hearing.announcement_url
        assert hearing.announcement_url.startswith("https://example.slack.com/archives/")

        # Anne presses the button: the answer modal opens.
        status, _, took = await w.interact(w.button("UANNE001", ANSWER_BUTTON, str(hearing.id)))
        assert status == 200 and took < 3
        modal = await w.api_call("views.open", count=2)
        view = view_of(modal)
        assert view["callback_id"] == ANSWER_VIEW
        hint = json.dumps(view, ensure_ascii=False)
        assert "3000" in hint and "Højst 3000 tegn" in hint

        assert await answer(w, "UANNE001", hearing.id or 0, "support") == (200, "")
        assert await answer(w, "UBO00001", hearing.id or 0, "object", "Planen mangler mål.") == (
            200,
            "",
        )
        # Bo changes his answer.
        assert await answer(
            w, "UBO00001", hearing.id or 0, "support_with_remarks", "Tilføj et mål for unge."
        ) == (200, "")
        # Carl answers after the deadline, before the hearing closes itself.
        w.clock.set(local(2027, 3, 22, 7, 30))
        assert await answer(w, "UCARL001", hearing.id or 0, "no_remarks") == (200, "")

        async with w.ctx.db.session() as s:
            answers = {a.person_id: a for a in (await s.execute(select(HearingAnswer))).scalars()}
            versions = (
                (await s.execute(select(AuditLog).where(AuditLog.action == "hearing.answered")))
                .scalars()
                .all()
            )
        assert len(answers) == 3
        assert sorted(a.version for a in answers.values()) == [1, 1, 2]
        assert len(versions) == 4  # every version is kept in the audit log
        assert [a.late for a in sorted(answers.values(), key=lambda a: a.id or 0)] == [
            False,
            False,
            True,
        ]

        # Status for the secretary: who has answered and who has not.
        _, _, took, name = await w.command("USOFIE01", "/hearing", f"status {hearing.id}")
        assert took < 3
        reply = await w.response(name)
        assert reply["response_type"] == "ephemeral"
        assert "Svar: 3 af 4" in reply["text"]
        assert "Dorte Dahl: har ikke svaret" in reply["text"]

        # Close: the compiled answer goes to the channel.
        _, _, _, name = await w.command("USOFIE01", "/hearing", f"close {hearing.id}")
        assert "lukket med 3 af 4 svar" in (await w.response(name))["text"]
        await w.drain()
        closing = [
            p
            for p in slack.posted()
            if p.args["channel"] == "#lbr-test" and "lukket" in p.args.get("text", "")
        ]
        assert len(closing) == 1
        # The channel gets a summary, and every answer in a file in its thread: the
        # Markdown, and the Word document the secretariat files.
        summary = json.dumps(blocks_of(closing[0]), ensure_ascii=False)
        assert "3 af 4 har svaret" in summary and "Dorte Dahl" in summary
        [file, document] = [
            f for f in slack.uploads.shared() if f.shared[0][1] == closing[0].answer["ts"]
        ]
        assert document.filename.endswith(".docx") and (document.content or b"")[:2] == b"PK"
        compiled = (file.content or b"").decode("utf-8")
        assert "Tilføj et mål for unge." in compiled and "Planen mangler mål." not in compiled

        # The export holds exactly the expected answers.
        async with w.ctx.db.session() as s:
            md = await export_hearing(s, w.ctx, hearing.id or 0, "md", "da")
            table = await export_hearing(s, w.ctx, hearing.id or 0, "csv", "da")
        sections = md.split("\n## ")
        assert [s.splitlines()[0] for s in sections[1:]] == [
            "Støtter (1)",
            "Støtter med bemærkninger (1)",
            "Ingen bemærkninger (1)",
            "Har ikke svaret (1)",
        ]
        assert "Anne Andersen (DA)" in sections[1]
        assert "Bo Berg (LO)" in sections[2] and "> Tilføj et mål for unge." in sections[2]
        assert "Carl Clausen (KL)" in sections[3] and "FOR SENT" in sections[3]
        assert "Dorte Dahl (DH)" in sections[4]
        rows = list(csv.DictReader(io.StringIO(table)))
        got = {(r["name"], r["position"], r["late"], r["version"]) for r in rows}
        assert got == {
            ("Anne Andersen", "support", "no", "1"),
            ("Bo Berg", "support_with_remarks", "no", "2"),
            ("Carl Clausen", "no_remarks", "yes", "1"),
            ("Dorte Dahl", "", "", ""),
        }


async def test_reminders_go_only_to_those_who_have_not_answered(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        hearing = await open_by_modal(w)
        await w.drain()
        assert await answer(w, "UANNE001", hearing.id or 0, "support") == (200, "")
        async with w.ctx.db.session() as s:
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == f"hearing:{hearing.id}",
                            OutboxMessage.kind == "reminder",
                        )
                    )
                )
                .scalars()
                .all()
            )
        pending = {r.address for r in rows if r.state == "pending"}
        assert pending == {"UBO00001", "UCARL001", "UDORTE01"}
        assert {r.state for r in rows if r.address == "UANNE001"} <= {"skipped"}
        # The day before the deadline, the reminder reaches the three, not Anne.
        await w.drain()  # Anne's receipt
        slack.calls.clear()
        w.clock.set(local(2027, 3, 18, 8, 0))
        await w.drain()
        texts = [(c.args["channel"], c.args["text"]) for c in slack.posted()]
        reminded = {ch for ch, text in texts if "Vi mangler dit høringssvar" in text}
        assert reminded == {"DBO00001", "DCARL001", "DDORTE01"}
        # The escalation of the day before (still short of answers) reaches the
        # chair and the secretary, with the names of those missing.
        escalated = {ch for ch, text in texts if "Kun 1 af 4 har svaret" in text}
        assert escalated == {"DANNE001", "DSOFIE01"}
        assert texts and all(
            "Bo Berg, Carl Clausen, Dorte Dahl" in text for ch, text in texts if ch in escalated
        )
        assert len(texts) == 5, texts


async def test_acks_within_three_seconds_when_the_web_api_is_slow(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        slack.delay = 4.0  # every Web API call takes 4 s
        status, body, took, _ = await w.command("USOFIE01", "/hearing", "open")
        assert status == 200 and took < 3, (took, body)
        # The slow work goes on after the ack: the modal is opened.
        started = time.monotonic()
        await w.api_call("views.open", within=15)
        assert time.monotonic() - started > 0.5
        # A new Slack user: identifying them takes a slow users.info, after the ack.
        slack.users["UNEW0001"] = {"email": "bo@example.dk", "locale": "en-US"}
        status, _, took, name = await w.command("UNEW0001", "/hearing", "list")
        assert status == 200 and took < 3
        assert (await w.response(name, within=15))["text"]


async def test_a_resent_request_records_and_sends_nothing_twice(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        body, name = w.command_body(
            "USOFIE01", "/hearing", f"open lbr-test {DEADLINE} Resultatrevision 2026"
        )
        assert (await w.post(body))[0] == 200
        await w.response(name)
        assert (await w.post(body, retry=1))[0] == 200
        async with w.ctx.db.session() as s:
            hearings = (await s.execute(select(Hearing))).scalars().all()
        assert len(hearings) == 1
        hearing = hearings[0]
        await w.drain()
        payload = w.submission(
            "UBO00001",
            ANSWER_VIEW,
            answer_values("object", "Nej tak."),
            private_metadata=json.dumps({"hearing_id": hearing.id}),
        )
        assert (await w.interact(payload))[0] == 200
        assert (await w.interact(payload, retry=1))[0] == 200
        assert (await w.interact(payload, retry=2))[0] == 200
        await w.drain()
        async with w.ctx.db.session() as s:
            answers = (await s.execute(select(HearingAnswer))).scalars().all()
            audits = (
                (await s.execute(select(AuditLog).where(AuditLog.action == "hearing.answered")))
                .scalars()
                .all()
            )
            receipts = (
                (
                    await s.execute(
                        select(OutboxMessage).where(col(OutboxMessage.key).contains("/receipt-"))
                    )
                )
                .scalars()
                .all()
            )
        assert [a.version for a in answers] == [1]
        assert len(audits) == 1
        assert len(receipts) == 1
        channel_posts = [p for p in slack.posted() if p.args["channel"] == "#lbr-test"]
        assert len(channel_posts) == 1  # one announcement
        dms = [p for p in slack.posted() if p.args["channel"] == "DBO00001"]
        assert len(dms) == 2  # the invitation and one receipt


async def test_refusals_change_nothing(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        body, _ = w.command_body("USOFIE01", "/hearing", f"open lbr-test {DEADLINE} Plan")
        await w.post(body)
        await w.response("cmd1")
        await w.drain()
        before = await snapshot(w.ctx.db)

        # A forged signature and a stale timestamp: 401.
        forged, _ = w.command_body("USOFIE01", "/hearing", "close 1")
        assert (await w.post(forged, secret="not-the-secret"))[0] == 401
        assert (await w.post(forged, timestamp=int(time.time()) - 301))[0] == 401

        # A member of another council answers: refused in the modal.
        status, body_text = await answer(w, "UOLE0001", 1, "support")
        assert status == 200
        errors = json.loads(body_text)
        assert errors["response_action"] == "errors"
        assert "ikke blandt dem, der høres" in errors["errors"]["position"]

        # Empty and over-long answers.
        status, body_text = await answer(w, "UBO00001", 1, "object", "")
        assert "svaret er tomt" in json.loads(body_text)["errors"]["remarks"]
        status, body_text = await answer(w, "UBO00001", 1, "object", "x" * 3001)
        assert "3001 tegn" in json.loads(body_text)["errors"]["remarks"]
        _, _, _, name = await w.command("UBO00001", "/hearing", "reply 1")
        assert "svaret er tomt" in (await w.response(name))["text"]

        # A member (not the secretary) opens or closes a hearing.
        _, _, _, name = await w.command(
            "UBO00001", "/hearing", f"open lbr-test {DEADLINE} Min egen høring"
        )
        refused = await w.response(name)
        assert "kun rådets sekretariat" in refused["text"]
        assert refused["response_type"] == "ephemeral"
        _, _, _, name = await w.command("USARA001", "/hearing", "close 1")
        assert "kun rådets sekretariat" in (await w.response(name))["text"]

        # An unknown hearing id, and one that is not a number.
        _, _, _, name = await w.command("USOFIE01", "/hearing", "status 999")
        assert "ingen høring med id 999" in (await w.response(name))["text"]
        _, _, _, name = await w.command("USOFIE01", "/hearing", "close abc")
        assert "'abc' er ikke et hørings-id" in (await w.response(name))["text"]

        assert await snapshot(w.ctx.db) == before


async def test_english_locale_gets_english_replies(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        slack.users["UENGLISH"] = {"email": "ole@example.dk", "locale": "en-GB"}
        async with w.ctx.db.transaction() as s:
            ole = (
                await s.execute(select(Person).where(Person.email == "ole@example.dk"))
            ).scalar_one()
            ole.slack_id = None
            s.add(ole)
        _, _, _, name = await w.command("UENGLISH", "/hearing", "status 999")
        assert "there is no hearing with id 999" in (await w.response(name))["text"]
        _, _, _, name = await w.command("UENGLISH", "/hearing", "help")
        assert "Hearings in the annual cycle" in (await w.response(name))["text"]


async def test_acks_within_three_seconds_when_the_database_is_slow(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    """Another transaction holds the tables for 3.5 s: the command is still acknowledged
    at once, and answered once the database lets it through (on SQLite, in WAL mode,
    a reader is answered at once while another holds the writer's lock)."""
    async with slack_world(database_url, tmp_path, START, slack) as w:
        held = asyncio.Event()
        release = asyncio.Event()

        async def hold_the_database() -> None:
            async with w.ctx.db.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    await conn.exec_driver_sql("BEGIN EXCLUSIVE")
                else:
                    await conn.exec_driver_sql("BEGIN")
                    await conn.exec_driver_sql("LOCK TABLE person IN ACCESS EXCLUSIVE MODE")
                held.set()
                await release.wait()
                await conn.exec_driver_sql("ROLLBACK")

        holder = asyncio.create_task(hold_the_database())
        await held.wait()
        try:
            status, _, took, name = await w.command("USOFIE01", "/hearing", "list")
            assert status == 200 and took < 3
            if w.ctx.db.is_sqlite:
                # WAL: a reader never waits for the writer holding the lock.
                assert (await w.response(name, within=3))["text"] == "Ingen høringer."
                return
            with pytest.raises(TimeoutError):
                await w.response(name, within=0.5)  # still waiting for the database
        finally:
            release.set()
            await holder
        assert (await w.response(name))["text"] == "Ingen høringer."


async def test_a_member_without_slack_id_is_found_by_email_and_asked_by_dm(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        async with w.ctx.db.transaction() as s:
            dorte = (
                await s.execute(select(Person).where(Person.email == "dorte@example.dk"))
            ).scalar_one()
            dorte.slack_id = None
            s.add(dorte)
        _, _, _, name = await w.command(
            "USOFIE01", "/hearing", f"open lbr-test {DEADLINE} Resultatrevision 2026"
        )
        assert "Høring 1 er åbnet" in (await w.response(name))["text"]
        lookups = [c.args["email"] for c in slack.calls_to("users.lookupByEmail")]
        assert lookups == ["dorte@example.dk"]
        async with w.ctx.db.session() as s:
            found = await s.get(Person, dorte.id)
            invite = (
                await s.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.key == "hearing-msg:1/invite/slack/person:" + str(dorte.id)
                    )
                )
            ).scalar_one()
        assert found is not None and found.slack_id == "UDORTE01"  # remembered
        assert invite.address == "UDORTE01"
        await w.drain()
        assert "DDORTE01" in {p.args["channel"] for p in slack.posted()}


async def test_an_unexpected_failure_is_logged_and_the_user_told(
    database_url: str, tmp_path: Path, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:

        async def broken(*_: object, **__: object) -> None:
            raise RuntimeError("the database fell over")

        w.deps.person = broken  # type: ignore[method-assign]
        status, _, took, name = await w.command("USOFIE01", "/hearing", "list")
        assert status == 200 and took < 3
        reply = await w.response(name)
        assert reply["response_type"] == "ephemeral"
        assert "Noget gik galt hos årshjulet" in reply["text"]
        assert "the database fell over" in caplog.text


async def test_typed_text_cannot_mention_the_channel(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        _, _, _, name = await w.command(
            "USOFIE01", "/hearing", f"open lbr-test {DEADLINE} Plan <!channel> &amp; <@UBO00001>"
        )
        await w.response(name)
        await w.drain()
        announcement = next(p for p in slack.posted() if p.args["channel"] == "#lbr-test")
        text = json.dumps(blocks_of(announcement), ensure_ascii=False) + announcement.args["text"]
        assert "<!channel>" not in text and "<@UBO00001>" not in text
        assert "Plan &lt;!channel&gt; &amp; &lt;@UBO00001&gt;" in text
        async with w.ctx.db.session() as s:
            hearing = (await s.execute(select(Hearing))).scalar_one()
        # Slack sends & as &amp;; the title is stored as it was typed.
        assert hearing.title == "Plan <!channel> & <@UBO00001>"


async def test_a_known_member_with_an_english_slack_locale_is_answered_in_english(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        slack.users["UBO00001"]["locale"] = "en-US"
        _, _, _, name = await w.command("UBO00001", "/hearing", "status 999")
        assert "there is no hearing with id 999" in (await w.response(name))["text"]
        _, _, _, name = await w.command("UCARL001", "/hearing", "status 999")
        assert "der er ingen høring med id 999" in (await w.response(name))["text"]
        # Slack is asked once per user, not per command.
        _, _, _, name = await w.command("UBO00001", "/hearing", "list")
        await w.response(name)
        asked = [c.args.get("user") for c in slack.calls_to("users.info")]
        assert asked.count("UBO00001") == 1
