"""Recommendations (*indstillinger*) through the command line and the services, on both
databases: create → agree → send → answer, the reminder and the escalation delivered
to a real SMTP server, the audit trail, refusals, bad input and races under the lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.config import load_config
from bot.i18n import error_text
from bot.runner import drain
from bot.services.app import AppContext, open_app
from bot.services.hearings import Actor
from bot.services.recommendations import recommendations_for_agenda
from bot.services.recommendations.agreeing import agree_at_meeting, cast_vote, open_vote
from bot.services.recommendations.drafting import RecommendationDraft, create_recommendation
from bot.services.recommendations.sending import answer_recommendation, send_recommendation
from scheduler.clock import FixedClock
from scheduler.errors import InputError, PermissionDenied
from storage.models import AuditLog, OutboxMessage, Person
from storage.recommendations import Recommendation
from tests.cli_runner import CLOCK, Cli
from tests.conftest import snapshot_url
from tests.servers import SmtpStandIn

CPH = ZoneInfo("Europe/Copenhagen")
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

[results.measures.ledighed]
name_da = "Ledighed"
name_en = "Unemployment"
unit = "pct."
higher_is_better = false

[[councils]]
key = "rbr-test"
kind = "RBR"
name = "RBR Test"
secretariat_email = "rbr@example.dk"

[[councils]]
key = "lbr-test"
kind = "LBR"
name = "LBR Test"
region = "rbr-test"
secretariat_email = "lbr@example.dk"

[[councils]]
key = "lbr-other"
kind = "LBR"
name = "LBR Andet"
region = "rbr-test"
"""
MEMBERS = """council,name,email,organisation,role
lbr-test,Anne Andersen,anne@example.dk,DA,chair
lbr-test,Bo Berg,bo@example.dk,LO,member
lbr-test,Sofie Sekretær,sofie@example.dk,Jobcenter,secretary
lbr-other,Sara Sørensen,sara@example.dk,Jobcenter,secretary
rbr-test,Rita Regional,rita@example.dk,Beskæftigelsesregionen,secretary
"""
CREATE = (
    "recommendation", "create", "--from", "lbr-test", "--to", "rbr-test",
    "--title", "Særligt fokus på langtidsledige", "--text", "Jobcentret halter efter klyngen.",
)  # fmt: skip


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


def setup_cli(database_url: str, tmp_path: Path, port: int = 2525) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(port=port), encoding="utf-8")
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config, SLACK_BOT_TOKEN=None)
    cli.ok("init")
    cli.ok("members", "import", str(tmp_path / "members.csv"))
    return cli


async def ok(cli: Cli, *args: str) -> str:
    """Run a command in a thread: it runs its own event loop, while this one serves SMTP."""
    return await asyncio.to_thread(cli.ok, *args)


async def asetup(database_url: str, tmp_path: Path, port: int = 2525) -> Cli:
    return await asyncio.to_thread(setup_cli, database_url, tmp_path, port)


@asynccontextmanager
async def app_at(cli: Cli, at: datetime) -> AsyncIterator[AppContext]:
    config = load_config(environ={k: v for k, v in cli.env.items() if v}, cwd=cli.config.parent)
    async with open_app(config, FixedClock(at)) as ctx:
        yield ctx


def parsed(mail: object) -> Message:
    return message_from_bytes(mail.data, policy=policy.default)  # type: ignore[attr-defined]


def ours(smtp: SmtpStandIn) -> list[Message]:
    """The mails about recommendations (the cycle's own reminders go out too)."""
    found = [parsed(m) for m in smtp.messages]
    return [m for m in found if "ndstilling" in str(m["Subject"])]


def body_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    return ""


async def actions(ctx: AppContext) -> list[tuple[str, str]]:
    async with ctx.db.session() as s:
        rows = (
            await s.execute(
                select(AuditLog)
                .where(AuditLog.entity == "recommendation")
                .order_by(col(AuditLog.id))
            )
        ).scalars()
        return [(a.action, a.actor) for a in rows]


async def test_lbr_to_rbr_create_agree_send_remind_escalate_answer(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    cli = await asetup(database_url, tmp_path, smtp.port)
    # CLOCK: Monday 23 November 2026, 09:00 in Copenhagen.
    assert (
        await ok(cli, *CREATE, "--about-results", "lbr-test:ledighed", "--by", "sofie")
    ).strip() == "1"
    shown = await ok(cli, "recommendation", "show", "1")
    assert "Indstilling 1: Særligt fokus på langtidsledige" in shown
    assert "Fra LBR Test til RBR Test" in shown and "Status: udkast" in shown
    assert "Om resultaterne: LBR Test, mål ledighed" in shown
    out = await ok(cli, "recommendation", "agree", "1", "--meeting", "2026-11-19", "--by", "sofie")
    assert "vedtaget på mødet torsdag den 19. november 2026" in out
    out = await ok(cli, "recommendation", "send", "1", "--by", "sofie")
    assert "sendt til RBR Test" in out and "20 arbejdsdage" in out

    async with app_at(cli, CLOCK.now()) as ctx:
        assert (await drain(ctx, worker_id="t")).failed == 0
    sent = {str(m["To"]): m for m in ours(smtp)}
    # The RBR's secretariat address and its secretary, each once.
    assert sorted(sent) == ["rbr@example.dk", "rita@example.dk"] and len(ours(smtp)) == 2
    mail = sent["rbr@example.dk"]
    assert mail["Subject"] == "Indstilling fra LBR Test: Særligt fokus på langtidsledige"
    assert "Jobcentret halter efter klyngen." in body_of(mail)
    assert "lbr@example.dk" in str(mail["Reply-To"])

    # Unanswered: 20 working days after Monday 23 November is Monday 21 December.
    async with app_at(cli, local(2026, 12, 21, 7, 59)) as ctx:
        await drain(ctx, worker_id="t")
    assert len(ours(smtp)) == 2
    async with app_at(cli, local(2026, 12, 21, 8, 0)) as ctx:
        await drain(ctx, worker_id="t")
    reminders = ours(smtp)[2:]
    assert sorted(m["To"] for m in reminders) == ["rbr@example.dk", "rita@example.dk"]
    assert all(m["Subject"].startswith("Påmindelse: indstilling fra LBR Test") for m in reminders)
    assert "ikke besvaret efter 20 arbejdsdage" in body_of(reminders[0])
    # Five working days later (24–27 December closed): Wednesday 30 December, the chair
    # and the sending secretariat hear of it.
    async with app_at(cli, local(2026, 12, 29, 16, 0)) as ctx:
        await drain(ctx, worker_id="t")
    assert len(ours(smtp)) == 4
    async with app_at(cli, local(2026, 12, 30, 8, 0)) as ctx:
        await drain(ctx, worker_id="t")
    escalations = ours(smtp)[4:]
    assert sorted(m["To"] for m in escalations) == [
        "anne@example.dk",
        "lbr@example.dk",
        "sofie@example.dk",
    ]
    assert all("Ubesvaret indstilling" in m["Subject"] for m in escalations)

    out = await ok(cli, "recommendation", "answer", "1", "--text", "RBR tager det op i januar.")
    assert "Svaret på indstilling 1 er gemt" in out
    async with app_at(cli, local(2026, 12, 30, 9, 0)) as ctx:
        await drain(ctx, worker_id="t")
        answered = ours(smtp)[7:]
        assert sorted(m["To"] for m in answered) == ["lbr@example.dk", "sofie@example.dk"]
        assert "RBR tager det op i januar." in body_of(answered[0])
        trail = await actions(ctx)
    assert [a for a, _ in trail] == [
        "recommendation.created",
        "recommendation.agreed",
        "recommendation.sent",
        "recommendation.answered",
    ]
    assert trail[0][1] == "sofie"
    listed = await ok(cli, "recommendation", "list", "--council", "rbr-test", "--json")
    assert '"state": "answered"' in listed and '"to": "rbr-test"' in listed


async def test_answering_withdraws_the_reminder_and_the_escalation(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    cli = await asetup(database_url, tmp_path, smtp.port)
    await ok(cli, *CREATE)
    await ok(cli, "recommendation", "agree", "1", "--meeting", "2026-11-23")
    await ok(cli, "recommendation", "send", "1")
    await ok(cli, "recommendation", "answer", "1", "--text", "Modtaget.")
    async with app_at(cli, local(2027, 1, 15, 9, 0)) as ctx:
        await drain(ctx, worker_id="t")
        async with ctx.db.session() as s:
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage).where(OutboxMessage.source == "recommendation:1")
                    )
                )
                .scalars()
                .all()
            )
    assert len(rows) == 5  # two reminders, three escalations
    assert {(r.state, r.last_error) for r in rows} == {("skipped", "withdrawn: answered")}
    subjects = [str(m["Subject"]) for m in ours(smtp)]
    assert subjects and not any("Påmindelse" in s or "Ubesvaret" in s for s in subjects)


async def test_to_an_outside_address_and_from_an_rbr_to_the_minister(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    cli = await asetup(database_url, tmp_path, smtp.port)
    await ok(
        cli,
        "recommendation", "create", "--from", "lbr-test",
        "--to", "Kommunalbestyrelsen@Gribskov.dk", "--title", "Ændringer i beskæftigelsesplanen",
        "--text", "Efter høringen indstiller rådet …",
    )  # fmt: skip
    await ok(
        cli,
        "recommendation", "create", "--from", "rbr-test", "--to", "minister@bm.dk",
        "--title", "Mål for 2028", "--text", "Regionen anbefaler …",
    )  # fmt: skip
    for n in ("1", "2"):
        await ok(cli, "recommendation", "agree", n, "--meeting", "2026-11-20")
        await ok(cli, "recommendation", "send", n)
    async with app_at(cli, CLOCK.now()) as ctx:
        await drain(ctx, worker_id="t")
        to = sorted(str(m["To"]) for m in ours(smtp))
        assert to == ["kommunalbestyrelsen@gribskov.dk", "minister@bm.dk"]
        # Only the command line records an outside receiver's answer.
        async with ctx.db.session() as s:
            sofie = await s.scalar(select(Person).where(Person.email == "sofie@example.dk"))
        with pytest.raises(PermissionDenied):
            await answer_recommendation(ctx, Actor("slack:USOFIE01", sofie), 1, "Tak")
    await ok(
        cli, "recommendation", "answer", "1", "--text", "Kommunalbestyrelsen følger indstillingen."
    )


def test_bad_input_is_one_line_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    cli = setup_cli(database_url, tmp_path)
    base = ("recommendation", "create", "--title", "T", "--text", "Tekst")
    cli.refused(*base, "--from", "lbr-nope", "--to", "rbr-test", says=("ukendt råd 'lbr-nope'",))
    cli.refused(*base, "--from", "lbr-test", "--to", "rbr-nope", says=("ukendt råd 'rbr-nope'",))
    cli.refused(*base, "--from", "lbr-test", "--to", "a@b", says=("'a@b' er ikke en gyldig",))
    cli.refused(
        *base, "--from", "lbr-test", "--to", "lbr-other",
        says=("LBR Test kan indstille til sit eget RBR (rbr-test)",),
    )  # fmt: skip
    cli.refused(
        "recommendation", "create", "--from", "lbr-test", "--to", "rbr-test",
        "--title", "x" * 201, "--text", "Tekst", says=("'title' har 201 tegn; højst 200",),
    )  # fmt: skip
    cli.refused(
        *base, "--from", "lbr-test", "--to", "rbr-test", "--about-results", "ledighed",
        says=("'ledighed' er ikke RÅD:MÅL",),
    )  # fmt: skip
    cli.refused(
        *base, "--from", "lbr-test", "--to", "rbr-test", "--about-results", "rbr-test:ledighed",
        says=("RBR Test er ikke et LBR",),
    )  # fmt: skip
    cli.refused(
        *base, "--from", "lbr-test", "--to", "rbr-test", "--about-results", "lbr-test:nope",
        says=("målet 'nope' står ikke i [results.measures]; kendte mål: ledighed",),
    )  # fmt: skip
    cli.refused(
        "recommendation", "create", "--from", "lbr-test", "--to", "rbr-test", "--title", "T",
        "--text", "x" * 3001, says=("'text' har 3001 tegn; højst 3000",),
    )  # fmt: skip
    cli.ok(*CREATE)
    cli.refused("recommendation", "send", "1", says=("ikke vedtaget endnu",))
    cli.refused("recommendation", "answer", "1", "--text", "x", says=("ikke sendt endnu",))
    cli.refused(
        "recommendation", "agree", "1", "--meeting", "2026-11-30",
        says=("mødet 2026-11-30 har ikke fundet sted",),
    )  # fmt: skip
    cli.refused("recommendation", "agree", "1", "--meeting", "30-11-2026", says=("'30-11-2026'",))
    cli.refused("recommendation", "show", "42", says=("ingen indstilling med id 42",))
    cli.refused("recommendation", "send", "x1", says=("'x1' er ikke et indstillings-id",))
    result = cli("recommendation", "send", "1")
    assert result.stderr.count("\n") == 1  # one line


async def test_an_outsider_or_a_member_cannot_create_agree_or_send(
    database_url: str, tmp_path: Path
) -> None:
    cli = await asetup(database_url, tmp_path)
    await ok(cli, *CREATE)
    before = snapshot_url(database_url)
    async with app_at(cli, CLOCK.now()) as ctx:
        async with ctx.db.session() as s:
            people = {p.email.split("@")[0]: p for p in (await s.execute(select(Person))).scalars()}
        bo = Actor("slack:UBO", people["bo"])  # a member of the sending council
        sara = Actor("slack:USARA", people["sara"])  # another LBR's secretary
        rita = Actor("slack:URITA", people["rita"])  # the receiver's secretary
        for who in (bo, sara, rita):
            with pytest.raises(PermissionDenied) as info:
                await agree_at_meeting(ctx, who, 1, date(2026, 11, 20))
            assert "kun sekretariatet for LBR Test" in error_text(info.value, "da")
        with pytest.raises(PermissionDenied):
            await create_recommendation(
                ctx, bo, RecommendationDraft("lbr-test", "rbr-test", "T", "Tekst")
            )
        await agree_at_meeting(ctx, Actor("cli"), 1, date(2026, 11, 20))
        for who in (bo, sara, rita):
            with pytest.raises(PermissionDenied):
                await send_recommendation(ctx, who, 1)
        async with ctx.db.session() as s:
            rec = await s.get(Recommendation, 1)
            refusals = (
                (
                    await s.execute(
                        select(AuditLog).where(AuditLog.action == "recommendation.refused")
                    )
                )
                .scalars()
                .all()
            )
        assert rec is not None and rec.state == "agreed" and rec.sent_at is None
        # Every refusal is audited: who, which verb, why.
        assert [(a.actor, a.details.count('"verb": "agree"')) for a in refusals[:3]] == [
            ("slack:UBO", 1),
            ("slack:USARA", 1),
            ("slack:URITA", 1),
        ]
        assert len(refusals) == 7
        assert all("not_secretary" in a.details for a in refusals)
        # The secretary of the receiving council (not the sender's) answers.
        await send_recommendation(ctx, Actor("slack:USOFIE", people["sofie"]), 1)
        with pytest.raises(PermissionDenied):
            await answer_recommendation(ctx, Actor("slack:USOFIE", people["sofie"]), 1, "Svar")
        await answer_recommendation(ctx, rita, 1, "Svar fra regionen")
    after = snapshot_url(database_url)
    assert after["recommendation_vote"] == before["recommendation_vote"]


async def test_two_agreements_at_once_one_wins(database_url: str, tmp_path: Path) -> None:
    cli = await asetup(database_url, tmp_path)
    await ok(cli, *CREATE)
    async with app_at(cli, CLOCK.now()) as ctx:
        results = await asyncio.gather(
            *(agree_at_meeting(ctx, Actor(f"cli:{n}"), 1, date(2026, 11, 20)) for n in range(4)),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 3
        assert all(
            isinstance(e, InputError) and e.key == "recommend.error.already_agreed" for e in lost
        )
        assert [a for a, _ in await actions(ctx)].count("recommendation.agreed") == 1


async def test_agree_racing_a_send_never_sends_a_draft(database_url: str, tmp_path: Path) -> None:
    cli = await asetup(database_url, tmp_path)
    async with app_at(cli, CLOCK.now()) as ctx:
        outcomes = set()
        for n in range(6):
            step = await create_recommendation(
                ctx, Actor("cli"), RecommendationDraft("lbr-test", "rbr-test", f"T{n}", "Tekst")
            )
            rec_id = step.recommendation.id or 0
            agree = agree_at_meeting(ctx, Actor("cli"), rec_id, date(2026, 11, 20))
            send = send_recommendation(ctx, Actor("cli"), rec_id)
            first, second = (send, agree) if n % 2 else (agree, send)
            results = await asyncio.gather(first, second, return_exceptions=True)
            async with ctx.db.session() as s:
                rec = await s.get(Recommendation, rec_id)
                queued = (
                    (
                        await s.execute(
                            select(OutboxMessage).where(
                                OutboxMessage.source == f"recommendation-msg:{rec_id}"
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            assert rec is not None and rec.agreed_at is not None
            failed = [r for r in results if isinstance(r, BaseException)]
            if rec.state == "sent":
                assert not failed and rec.sent_at is not None and rec.sent_at >= rec.agreed_at
                assert len(queued) == 2
            else:
                assert rec.state == "agreed" and not queued
                assert [getattr(e, "key", "") for e in failed] == ["recommend.error.not_agreed"]
            outcomes.add(rec.state)
        # Both orders happened: the lock made each consistent.
        assert outcomes == {"sent", "agreed"}


async def test_the_agenda_lists_what_was_sent_or_answered_since_the_last_meeting(
    database_url: str, tmp_path: Path
) -> None:
    cli = await asetup(database_url, tmp_path)
    await ok(cli, *CREATE)  # 1: sent and answered in the window
    await ok(cli, *CREATE[:-4], "--title", "Udkast", "--text", "Ikke sendt")  # 2: stays a draft
    await ok(cli, "recommendation", "agree", "1", "--meeting", "2026-11-20")
    await ok(cli, "recommendation", "send", "1")
    await ok(cli, "recommendation", "answer", "1", "--text", "Svar")
    async with app_at(cli, CLOCK.now()) as ctx, ctx.db.session() as s:
        lbr = await s.scalar(select(Recommendation.from_council_id).limit(1))
        assert lbr is not None
        found = await recommendations_for_agenda(
            s, lbr, local(2026, 11, 1, 0, 0), local(2026, 12, 1, 0, 0)
        )
        rbr_rec = await s.get(Recommendation, 1)
        assert rbr_rec is not None and rbr_rec.to_council_id is not None
        received = await recommendations_for_agenda(
            s, rbr_rec.to_council_id, local(2026, 11, 1, 0, 0), local(2026, 12, 1, 0, 0)
        )
        before = await recommendations_for_agenda(
            s, lbr, local(2026, 10, 1, 0, 0), local(2026, 11, 1, 0, 0)
        )
    assert [(r.id, r.state, r.direction, r.to_key) for r in found] == [
        (1, "answered", "sent", "rbr-test")
    ]
    assert found[0].sent_at == CLOCK.now() and found[0].answered_at == CLOCK.now()
    assert [(r.id, r.direction, r.from_key) for r in received] == [(1, "received", "lbr-test")]
    assert before == []


async def test_votes_at_once_agree_exactly_once(database_url: str, tmp_path: Path) -> None:
    cli = await asetup(database_url, tmp_path)
    await ok(cli, *CREATE)
    await ok(cli, *CREATE)
    await ok(cli, *CREATE)
    async with app_at(cli, CLOCK.now()) as ctx:
        async with ctx.db.session() as s:
            people = {p.email.split("@")[0]: p for p in (await s.execute(select(Person))).scalars()}
        # Two voting seats (Anne, the chair, and Bo); the quorum is every seat.
        for rec_id in (1, 2):
            _, seats = await open_vote(ctx, Actor("cli"), rec_id)
            assert seats == 2
        results = await asyncio.gather(
            cast_vote(ctx, people["anne"], "slack:UANNE", 1, "yes"),
            cast_vote(ctx, people["bo"], "slack:UBO", 1, "yes"),
        )
        assert sorted(r.yes for r in results) == [1, 2]
        assert [r.agreed for r in results].count(True) == 1
        # The last vote racing an agreement at a meeting: one of them agrees it.
        await cast_vote(ctx, people["anne"], "slack:UANNE", 2, "yes")
        raced = await asyncio.gather(
            cast_vote(ctx, people["bo"], "slack:UBO", 2, "yes"),
            agree_at_meeting(ctx, Actor("cli"), 2, date(2026, 11, 20)),
            return_exceptions=True,
        )
        failed = [r for r in raced if isinstance(r, BaseException)]
        assert len(failed) == 1 and getattr(failed[0], "key", "") == (
            "recommend.error.already_agreed"
        )
        # A no that puts the quorum out of reach: the vote is lost, the draft stays.
        await open_vote(ctx, Actor("cli"), 3)
        lost = await cast_vote(ctx, people["bo"], "slack:UBO", 3, "no")
        assert (lost.lost, lost.agreed, lost.step.recommendation.state) == (True, False, "draft")
        again = await cast_vote(ctx, people["anne"], "slack:UANNE", 3, "no")
        assert not again.lost  # told once
        async with ctx.db.session() as s:
            told = (
                (
                    await s.execute(
                        select(OutboxMessage.address).where(
                            col(OutboxMessage.key).startswith("recommendation-msg:3/vote_lost/")
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert sorted(told) == ["lbr@example.dk", "sofie@example.dk"]
        async with ctx.db.session() as s:
            agreed = (
                (
                    await s.execute(
                        select(AuditLog).where(AuditLog.action == "recommendation.agreed")
                    )
                )
                .scalars()
                .all()
            )
            notices = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            col(OutboxMessage.key).startswith("recommendation-msg:1/agreed/")
                        )
                    )
                )
                .scalars()
                .all()
            )
            votes_sent = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            col(OutboxMessage.key).startswith("recommendation-msg:1/vote/")
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert sorted(a.entity_id for a in agreed) == ["1", "2"]
        # The sending secretariat (its address and its secretary) hears of it once each.
        assert sorted(n.address for n in notices) == ["lbr@example.dk", "sofie@example.dk"]
        # The ballots still waiting were withdrawn by the agreement.
        assert {(v.address, v.state) for v in votes_sent} == {
            ("anne@example.dk", "skipped"),
            ("bo@example.dk", "skipped"),
        }


async def test_answer_days_from_the_configuration_time_the_reminder_and_the_escalation(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        CONFIG.format(port=2525) + "\n[recommendations]\nanswer_days = 3\nescalate_days = 2\n",
        encoding="utf-8",
    )
    (tmp_path / "members.csv").write_text(MEMBERS, encoding="utf-8")
    cli = Cli(database_url, config, SLACK_BOT_TOKEN=None)
    await ok(cli, "init")
    await ok(cli, "members", "import", str(tmp_path / "members.csv"))
    await ok(cli, *CREATE)
    await ok(cli, "recommendation", "agree", "1", "--meeting", "2026-11-20")
    assert "3 arbejdsdage" in await ok(cli, "recommendation", "send", "1")
    async with app_at(cli, CLOCK.now()) as ctx, ctx.db.session() as s:
        query = select(OutboxMessage).where(OutboxMessage.source == "recommendation:1")
        rows = (await s.execute(query)).scalars().all()
    # Sent Monday 23 November: reminded Thursday 26th, escalated Monday 30th, at 08:00.
    assert sorted({r.due_at.replace(tzinfo=UTC) for r in rows}) == [
        local(2026, 11, 26, 8, 0),
        local(2026, 11, 30, 8, 0),
    ]
    assert len(rows) == 5  # two reminders, three escalations


def test_agree_without_a_meeting_puts_it_to_the_councils_vote(
    database_url: str, tmp_path: Path
) -> None:
    cli = setup_cli(database_url, tmp_path)
    cli.ok(*CREATE)
    # Anne (the chair) and Bo hold the voting seats; the quorum is every seat.
    out = cli.ok("recommendation", "agree", "1")
    assert "sendt til afstemning blandt 2 medlemmer" in out and "2 ja-stemmer" in out
    assert "Status: udkast" in cli.ok("recommendation", "show", "1")  # not agreed by that
    cli.refused("recommendation", "send", "1", says=("ikke vedtaget endnu",))
    # Asking again sends no second ballot.
    ballots = snapshot_url(database_url)["outbox"]
    assert ballots and "afstemning" in cli.ok("recommendation", "agree", "1")
    assert snapshot_url(database_url)["outbox"] == ballots
