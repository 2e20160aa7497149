"""``aarshjul agenda …`` in-process and ``/agenda`` through the bot's real HTTP endpoint
with signed requests: the same use cases, the same refusals, nothing changed by one."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
from sqlmodel import col, select

from bot.services.hearings import Actor
from bot.services.meetings import MeetingDraft, create_meeting, parse_local
from storage.models import AgendaItem, OutboxMessage
from tests.cli_runner import Cli
from tests.conftest import snapshot
from tests.servers import SlackStandIn
from tests.slack_world import CONFIG, MEMBERS, slack_world

CPH = ZoneInfo("Europe/Copenhagen")


def cli_for(database_url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(folder=(tmp_path / "mail").as_posix()), encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    cli.ok("members", "import", str(tmp_path / "members.csv"))
    return cli


def test_agenda_commands_end_to_end(database_url: str, tmp_path: Path) -> None:
    cli = cli_for(database_url, tmp_path)
    # No meeting yet: the region's remark waits for the council's next meeting.
    said = cli.ok(
        "agenda", "add", "--council", "lbr-test", "--title", "Regionens råd: unge ledige",
        "--text", "Fokus på de 18-29-årige i Ærø.",
    )  # fmt: skip
    assert "næste møde" in said
    meeting = cli.ok(
        "seminar", "create", "--council", "lbr-test", "--title", "Rådsmøde december",
        "--start", "2026-12-07 14:00", "--end", "2026-12-07 16:00", "--yes",
    ).strip()  # fmt: skip
    for title in ("Godkendelse af referat", "Eventuelt"):
        out = cli.ok("agenda", "add", "--meeting", meeting, "--title", title)
        assert f"på dagsordenen for møde {meeting}: {title}" in out
    shown = json.loads(cli.ok("agenda", "show", "--meeting", meeting, "--json"))
    items = shown["items"]
    assert items[0]["kind"] == "remark" and items[0]["label"] == "Regionens bemærkning (RBR Test)"
    assert [i["title"] for i in items][-2:] == ["Godkendelse af referat", "Eventuelt"]
    n = len(items)
    # Move the minutes first, drop "Eventuelt"; show lists the new order, numbered.
    cli.ok("agenda", "move", "--meeting", meeting, "--item", str(n - 1), "--to", "1")
    assert "taget af" in cli.ok("agenda", "drop", "--meeting", meeting, "--item", str(n))
    text = cli.ok("agenda", "show", "--meeting", meeting)
    assert "1. Godkendelse af referat" in text and "2. Regionens råd: unge ledige" in text
    assert "Eventuelt" not in text and "Ikke sendt endnu." in text
    # The document holds the same items in the same order.
    out = tmp_path / "dagsorden.docx"
    cli.ok("agenda", "export", "--meeting", meeting, "--out", str(out))
    headings = [
        p.text for p in docx.Document(io.BytesIO(out.read_bytes())).paragraphs
        if p.style.name == "Heading 1"
    ]  # fmt: skip
    listed = json.loads(cli.ok("agenda", "show", "--meeting", meeting, "--json"))["items"]
    assert headings == [f"{i['number']}. {i['title']}" for i in listed]
    # Send: one row per invitee (e-mail; the Slack ones too with a bot token), then nothing.
    sent = cli.ok("agenda", "send", "--meeting", meeting)
    assert "lagt i udbakken til 4 modtagere" in sent
    assert "allerede sendt" in cli.ok("agenda", "send", "--meeting", meeting)
    # Bad input: one line, nothing changed.
    cli.refused("agenda", "show", "--meeting", "99", says=("der er intet møde 99",))
    cli.refused("agenda", "show", "--meeting", "x", says=("'x' er ikke et mødenummer",))
    cli.refused(
        "agenda", "move", "--meeting", meeting, "--item", "9", "--to", "1",
        says=(f"møde {meeting} har intet punkt 9",),
    )  # fmt: skip
    cli.refused("agenda", "drop", "--meeting", meeting, "--item", "0", says=("intet punkt 0",))
    cli.refused(
        "agenda", "add", "--council", "lbr-test", "--meeting", meeting, "--title", "X",
        says=("angiv enten --council eller --meeting",),
    )  # fmt: skip
    cli.refused("agenda", "add", "--council", "lbr-nope", "--title", "X", says=("lbr-nope",))
    cli.refused("agenda", "add", "--meeting", meeting, "--title", "A\u202eB", says=("U+202E",))
    result = cli.refused(
        "agenda", "add", "--meeting", meeting, "--title", " ", says=("mangler en titel",)
    )
    assert len(result.stderr.strip().splitlines()) == 1


async def test_agenda_in_slack(database_url: str, tmp_path: Path, slack: SlackStandIn) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=CPH).astimezone(UTC)
    async with slack_world(database_url, tmp_path, start, slack) as w:
        async with w.ctx.db.transaction() as s:
            view = await create_meeting(
                s,
                w.ctx,
                Actor("test"),
                MeetingDraft(
                    council_keys=("lbr-test",),
                    title="Rådsmøde",
                    start=parse_local("2026-12-07 14:00", w.ctx, "--start"),
                    end=parse_local("2026-12-07 16:00", w.ctx, "--end"),
                ),
            )
        mid = view.meeting.id
        status, _, took, name = await w.command(
            "USOFIE01", "/agenda", f"add {mid} Budget & <mål> 2027 | Forslaget ligger i bilag 1."
        )
        assert status == 200 and took < 3
        assert (
            f"på dagsordenen for møde {mid}: Budget &amp; &lt;mål&gt; 2027"
            in (await w.response(name))["text"]
        )
        _, _, _, name = await w.command("UANNE001", "/agenda", f"show {mid}")  # a member reads
        shown = await w.response(name)
        body = json.dumps(shown["blocks"], ensure_ascii=False)
        assert "Budget &amp; &lt;mål&gt; 2027" in body and "Forslaget ligger i bilag 1." in body
        # Another council's secretary: a refusal naming the council, nothing changed.
        before = await snapshot(w.ctx.db)
        for text in (f"drop {mid} 1", f"move {mid} 1 1", f"send {mid}", "add lbr-test Hej"):
            _, _, _, name = await w.command("USARA001", "/agenda", text, channel="lbr-other")
            said = (await w.response(name))["text"]
            assert "LBR Test" in said and "sekretariat" in said, said
        _, _, _, name = await w.command("USOFIE01", "/agenda", f"drop {mid} 9")
        assert "intet punkt 9" in (await w.response(name))["text"]
        _, _, _, name = await w.command("USOFIE01", "/agenda", "show 404")
        assert "/seminar list" in (await w.response(name))["text"]
        assert await snapshot(w.ctx.db) == before
        # The secretary sends it: rows for the invitees, at once.
        _, _, _, name = await w.command("USOFIE01", "/agenda", f"send {mid}")
        assert "lagt i udbakken" in (await w.response(name))["text"]
        async with w.ctx.db.session() as s:
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            col(OutboxMessage.source) == f"agenda-msg:{mid}"
                        )
                    )
                )
                .scalars()
                .all()
            )
            items = (await s.execute(select(AgendaItem))).scalars().all()
        assert rows and all(not r.quiet for r in rows)
        assert [i.title for i in items] == ["Budget & <mål> 2027"]
        _, _, _, name = await w.command("USOFIE01", "/agenda", "")
        assert "/agenda show" in (await w.response(name))["text"]


async def test_the_region_adds_its_remark_with_slash_agenda(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    from bot.services.agendas.items import open_agenda
    from tests.test_recommend_slack import with_the_region

    start = datetime(2026, 11, 23, 9, 0, tzinfo=CPH).astimezone(UTC)
    async with slack_world(database_url, tmp_path, start, slack) as w:
        await with_the_region(w, slack)
        # A member of the LBR (not its secretary, not the region's) is refused.
        before = await snapshot(w.ctx.db)
        _, _, _, name = await w.command("UBO00001", "/agenda", "add lbr-test Råd | Tekst")
        assert "sekretariat" in (await w.response(name))["text"]
        assert await snapshot(w.ctx.db) == before
        # The RBR's secretary: kept for the LBR's next meeting, none planned yet.
        status, _, took, name = await w.command(
            "URITA001", "/agenda", "add lbr-test Regionens råd om unge | Fokus på de 18-29-årige."
        )
        assert status == 200 and took < 3
        assert "næste møde" in (await w.response(name))["text"]
        async with w.ctx.db.session() as s:
            (item,) = (await s.execute(select(AgendaItem))).scalars().all()
        assert (item.kind, item.meeting_id, item.title, item.text) == (
            "remark",
            None,
            "Regionens råd om unge",
            "Fokus på de 18-29-årige.",
        )
        async with w.ctx.db.transaction() as s:
            view = await create_meeting(
                s,
                w.ctx,
                Actor("test"),
                MeetingDraft(
                    council_keys=("lbr-test",),
                    title="Rådsmøde",
                    start=parse_local("2026-12-07 14:00", w.ctx, "--start"),
                    end=parse_local("2026-12-07 16:00", w.ctx, "--end"),
                ),
            )
            agenda = await open_agenda(s, w.ctx, Actor("test"), view.meeting.id or 0)
        assert [(i.kind, i.title) for i in agenda.items][:1] == [
            ("remark", "Regionens råd om unge")
        ]
