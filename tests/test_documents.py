"""The documents a secretariat files: the compiled hearing answer as .docx (the CLI's
``hearing export --format docx`` and the closing message in Slack and e-mail), read
back with python-docx."""

from __future__ import annotations

import email
import io
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

import docx
from sqlmodel import select

from bot.runner import drain
from bot.services.hearing_answers import AnswerInput, record_answer
from bot.services.hearing_export import export_hearing
from bot.services.hearing_lifecycle import HearingDraft, close_hearing, open_hearing
from bot.services.hearings import Actor, register_absence
from storage.models import Person
from tests.cli_runner import Cli
from tests.servers import SlackStandIn, SmtpStandIn
from tests.slack_world import CONFIG, MEMBERS
from tests.test_agenda import CPH, world

ANNE = (
    "Vi støtter planen.\nMen ungeindsatsen i Ærø og Ølstykke skal styrkes – især for"
    " ÆØÅ-gruppen.\n\tSe bilag 2."
)
BO = "Gør indsigelse: målene for 2028 er for lave; “de langtidsledige” glemmes. æøå"


def paragraphs(content: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(content)).paragraphs]


def facts(content: bytes) -> dict[str, str]:
    """The label–value table under the title."""
    table = docx.Document(io.BytesIO(content)).tables[0]
    return {row.cells[0].text: row.cells[1].text for row in table.rows}


async def _people(ctx, *emails: str) -> list[Person]:
    async with ctx.db.session() as s:
        found = {
            p.email: p
            for p in (await s.execute(select(Person).where(Person.email.in_(emails)))).scalars()
        }
    return [found[e] for e in emails]


async def test_the_hearing_docx_holds_every_answer_exactly_and_goes_with_the_closing(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn, slack: SlackStandIn
) -> None:
    async with world(database_url, tmp_path, smtp, slack) as (ctx, clock):
        async with ctx.db.transaction() as s:
            opened = await open_hearing(
                s,
                ctx,
                Actor("test"),
                HearingDraft(
                    council_key="lbr-test",
                    title="Beskæftigelsesplan 2028 – høring",
                    deadline=date(2027, 3, 19),
                    subject="employment_plan",
                    document_url="https://example.dk/plan-2028.pdf",
                ),
            )
        hid = opened.hearing.id or 0
        anne, bo, rita = await _people(ctx, "anne@example.dk", "bo@example.dk", "rita@example.dk")
        async with ctx.db.transaction() as s:
            await record_answer(s, ctx, hid, anne, AnswerInput("support_with_remarks", ANNE))
        # Bo is away; Rita stands in and answers for his seat, after the deadline.
        async with ctx.db.transaction() as s:
            await register_absence(
                s, ctx, bo, date(2027, 3, 1), date(2027, 3, 31), rita, actor="test"
            )
        clock.set(datetime(2027, 3, 22, 10, 0, tzinfo=CPH).astimezone(UTC))
        async with ctx.db.transaction() as s:
            await record_answer(s, ctx, hid, rita, AnswerInput("object", BO, behalf="organisation"))
        async with ctx.db.session() as s:
            content = await export_hearing(s, ctx, hid, "docx", "da")
        assert isinstance(content, bytes)
        text = paragraphs(content)
        # Every answer's text exactly, as one paragraph each, Danish letters intact.
        assert ANNE in text and BO in text
        joined = "\n".join(text)
        assert "LBR Ærøskøbing" in joined
        assert "Høringssvar: Beskæftigelsesplan 2028 – høring" in joined
        assert facts(content) == {
            "Råd": "LBR Ærøskøbing",
            "Høring": "Beskæftigelsesplan 2028 – høring",
            "I høring": "Beskæftigelsesplan",
            "Dokument": "https://example.dk/plan-2028.pdf",
            "Høringsfrist": "fredag den 19. marts 2027",
            "Svar": "2 af 2 (heraf 1 for sent)",
        }
        assert "Gør indsigelse (1)" in joined and "Støtter med bemærkninger (1)" in joined
        # Each answer under the member's name and organisation, in its position's group,
        # followed by its text.
        assert text.index("Støtter med bemærkninger (1)") < text.index("Anne Andersen (DA)")
        assert text.index("Anne Andersen (DA)") < text.index(ANNE)
        assert text.index("Gør indsigelse (1)") < text.index("Bo Berg (LO)") < text.index(BO)
        assert any("FOR SENT" in p and "afgivet af suppleant Rita Region" in p for p in text)
        assert any("på organisationens vegne" in p for p in text)
        # Who did not answer: nobody else is heard in this council but the two.
        assert "Har ikke svaret (0)" in joined
        document = docx.Document(io.BytesIO(content))
        assert document.sections[0].header.paragraphs[0].text == "LBR Ærøskøbing"
        assert "PAGE" in document.sections[0].footer._element.xml
        # The closing message carries it: attached to the e-mail, shared in Slack.
        await drain(ctx, worker_id="test")
        smtp.messages.clear()
        slack.calls.clear()
        slack.uploads.files.clear()
        async with ctx.db.transaction() as s:
            await close_hearing(s, ctx, Actor("test"), hid)
        report = await drain(ctx, worker_id="test")
        assert report.failed == 0
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        (mail,) = [m for m in mails if m["To"] == "lbr@example.dk"]
        (file,) = list(mail.iter_attachments())
        assert file.get_filename() == f"hoeringssvar-{hid}.docx"
        assert file.get_content_type().endswith("wordprocessingml.document")
        assert ANNE in paragraphs(file.get_content()) and BO in paragraphs(file.get_content())
        # Each Slack post (the channel's, the secretary's DM) has both files in its thread,
        # shared in one call: the Markdown and the Word document.
        posts = slack.calls_to("chat.postMessage")
        assert len(posts) == 2
        for post in posts:
            files = [f for f in slack.uploads.shared() if f.shared[0][1] == post.answer["ts"]]
            assert [f.filename for f in files] == [
                f"hoeringssvar-{hid}.md",
                f"hoeringssvar-{hid}.docx",
            ]
            assert BO in paragraphs(files[1].content or b"")
        assert len(slack.calls_to("files.completeUploadExternal")) == 2


def test_hearing_export_docx_on_the_command_line(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(folder=(tmp_path / "mail").as_posix()), encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config)
    cli.ok("init")
    cli.ok("members", "import", str(tmp_path / "members.csv"))
    cli.ok(
        "hearing", "open", "--council", "lbr-test", "--deadline", "2026-12-18",
        "--title", "Resultatrevision – Ærø", "--yes",
    )  # fmt: skip
    out = tmp_path / "svar.docx"
    assert cli.ok("hearing", "export", "1", "--format", "docx", "--out", str(out)) == ""
    text = "\n".join(paragraphs(out.read_bytes()))
    assert "Høringssvar: Resultatrevision – Ærø" in text and "Har ikke svaret (4)" in text
    # Who did not answer: each by name and organisation, after the heading.
    missing = paragraphs(out.read_bytes())
    after = missing[missing.index("Har ikke svaret (4)") + 1 :]
    assert after[:4] == [
        "Anne Andersen (DA)", "Bo Berg (LO)", "Carl Clausen (KL)", "Dorte Dahl (DH)",
    ]  # fmt: skip
    # Without --out the bytes go to stdout (a pipe here), the same document.
    result = cli("hearing", "export", "1", "--format", "docx")
    assert result.exit_code == 0
    assert paragraphs(result.stdout_bytes) == paragraphs(out.read_bytes())
    # --out works for the text formats too; a bad format or folder is one line.
    md = tmp_path / "svar.md"
    cli.ok("hearing", "export", "1", "--format", "md", "--out", str(md))
    assert md.read_text(encoding="utf-8").startswith("# Høringssvar: Resultatrevision – Ærø")
    cli.refused("hearing", "export", "1", "--format", "pdf", says=("md, csv eller docx",))
    missing = tmp_path / "nowhere" / "svar.docx"
    cli.refused(
        "hearing", "export", "1", "--format", "docx", "--out", str(missing), says=(str(missing),)
    )
    assert not missing.exists()
