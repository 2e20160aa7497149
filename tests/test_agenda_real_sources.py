"""The next LBR meeting's agenda built the real way (issue 14's acceptance), on both
databases: the deviation comes from ``results import`` (and its check) of the Jobindsats
fixture, the recommendation from ``recommendation create → agree → send``, the region's
remark from ``agenda add --council``; the agenda shown, exported and sent holds them in
the same order, and the .docx that reaches the SMTP server says so too."""

from __future__ import annotations

import asyncio
import email
import io
import json
from email import policy
from pathlib import Path

import docx

from bot.runner import drain
from bot.services.app import AppContext
from tests.cli_runner import Cli
from tests.servers import SmtpStandIn
from tests.test_results import DRIFTER, fixture_csv, world

__all__ = ["world"]  # the fixture, shared with tests/test_results.py

REMARK = "Regionen anbefaler en skriftlig aftale om de unge ledige – æøå."


def headings(content: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(content))
    return [p.text for p in document.paragraphs if p.style.name == "Heading 1"]


async def run(cli: Cli, *args: str) -> str:
    return await asyncio.to_thread(cli.ok, *args)


async def test_the_agenda_holds_what_import_check_and_send_made(
    world: tuple[Cli, AppContext], tmp_path: Path, smtp: SmtpStandIn
) -> None:
    cli, ctx = world
    # The RBR's secretariat enters its remark before the LBR has a next meeting.
    said = await run(
        cli, "agenda", "add", "--council", DRIFTER,
        "--title", "Regionens råd om ledigheden", "--text", REMARK,
    )  # fmt: skip
    assert "næste møde" in said
    # The deviation: imported and checked, not inserted.
    data = tmp_path / "jobindsats.csv"
    data.write_bytes(fixture_csv())
    assert "1 nye, 0 ophørt" in await run(cli, "results", "import", str(data))
    # The recommendation: created, agreed and sent through the command line.
    create = (
        "recommendation", "create", "--from", DRIFTER, "--to", "rbr-test",
        "--title", "Særligt fokus på ledigheden", "--text", "Rådet indstiller …",
        "--about-results", f"{DRIFTER}:ledighed",
    )  # fmt: skip
    rec = (await run(cli, *create)).strip()
    await run(cli, "recommendation", "agree", rec, "--meeting", "2026-11-19")
    assert "sendt til RBR Test" in await run(cli, "recommendation", "send", rec)
    seminar = (
        "seminar", "create", "--council", DRIFTER, "--title", "Rådsmøde december",
        "--start", "2026-12-07 14:00", "--end", "2026-12-07 16:00", "--yes",
    )  # fmt: skip
    meeting = (await run(cli, *seminar)).strip()

    shown = json.loads(await run(cli, "agenda", "show", "--meeting", meeting, "--json"))
    items = shown["items"]
    assert [i["kind"] for i in items[:3]] == ["remark", "deviation", "recommendation"], items
    remark, deviation, recommendation = items[:3]
    assert remark["title"] == "Regionens råd om ledigheden" and REMARK in remark["text"]
    assert deviation["title"] == "Resultatafvigelse: LBR Jobby 3 – Ledighed"
    assert deviation["source"] == "deviation:1" and "Siden sep. 2026" in deviation["text"]
    assert "Regionsdirektør Rikke Rask" in deviation["text"]
    assert recommendation["source"] == f"recommendation:{rec}"
    assert recommendation["title"] == "Indstilling til RBR Test: Særligt fokus på ledigheden"
    expected = [f"{i['number']}. {i['title']}" for i in items]

    out = tmp_path / "dagsorden.docx"
    await run(cli, "agenda", "export", "--meeting", meeting, "--out", str(out))
    assert headings(out.read_bytes()) == expected

    await drain(ctx)  # the recommendation, the alerts and the invitations go first
    smtp.messages.clear()
    assert "lagt i udbakken" in await run(cli, "agenda", "send", "--meeting", meeting)
    await drain(ctx)
    mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
    agendas = [m for m in mails if "Dagsorden" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in agendas) == ["anne@example.dk", "bo@example.dk"]
    for mail in agendas:
        # The meeting's invitation facts (when) with the items, in the text too.
        body = mail.get_body(("plain",)).get_content()
        assert "7. december 2026" in body and "14:00" in body
        assert all(i["title"] in body for i in items)
        (file,) = [p for p in mail.iter_attachments() if p.get_filename().endswith(".docx")]
        assert headings(file.get_content()) == expected
