"""A recommendation from an LBR to its RBR through Slack: signed requests to the bot's
real HTTP endpoint, the Web API answered by the loopback stand-in, both databases.

The form, the members' vote (a button each, counted under the row lock), the sending to
the RBR's channel and secretariat, the reminder and the escalation from the outbox
worker on an injected clock, the answer, the refusals and the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlmodel import col, select

from bot.handlers.recommend import CREATE_VIEW
from bot.services.hearings import Actor
from bot.services.members import import_members
from bot.services.recommendations.drafting import RecommendationDraft, create_recommendation
from bot.services.recommendations.render import VOTE_BUTTON
from storage.models import AuditLog, Council, OutboxMessage
from storage.recommendations import Recommendation, RecommendationVote
from tests.conftest import snapshot
from tests.servers import SlackStandIn
from tests.slack_world import SlackWorld, slack_world

CPH = ZoneInfo("Europe/Copenhagen")
#: Monday 1 March 2027, 09:00 in Copenhagen.
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
RBR_MEMBERS = """council,name,email,organisation,role,slack_id
rbr-test,Rita Regional,rita@example.dk,Beskæftigelsesregionen,secretary,URITA001
rbr-test,Rolf Rådsmedlem,rolf@example.dk,DA,member,UROLF001
"""


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH).astimezone(UTC)  # type: ignore[misc]


def create_values(sender: str, to: str, title: str, text: str, about: str = "") -> dict:
    def typed(value: str) -> dict:
        return {"type": "plain_text_input", "value": value or None}

    return {
        "from": {"from": {"type": "static_select", "selected_option": {"value": sender}}},
        "to": {"to": typed(to)},
        "title": {"title": typed(title)},
        "text": {"text": typed(text)},
        "about": {"about": typed(about)},
    }


async def with_the_region(w: SlackWorld, slack: SlackStandIn) -> None:
    """The RBR gets a secretary, a member and a channel (the shared world has none)."""
    slack.users.update({"URITA001": {"email": "rita@example.dk", "locale": "da-DK"}})
    async with w.ctx.db.transaction() as s:
        report = await import_members(s, RBR_MEMBERS.encode(), now=w.clock.now(), actor="test")
        assert report.rejected == 0
        rbr = await s.scalar(select(Council).where(Council.key == "rbr-test"))
        assert rbr is not None
        rbr.slack_channel = "rbr-test"
        s.add(rbr)


async def said(w: SlackWorld, user: str, text: str) -> str:
    """Run ``/recommend text`` as ``user``; what the bot answered (ephemeral)."""
    status, _, took, name = await w.command(user, "/recommend", text)
    assert status == 200 and took < 3
    return str((await w.response(name)).get("text", ""))


async def vote(w: SlackWorld, user: str, rec_id: int, choice: str) -> str:
    payload = w.button(user, f"{VOTE_BUTTON}_{choice}", f"{rec_id}:{choice}")
    status, _, took = await w.interact(payload)
    assert status == 200 and took < 3
    name = payload["response_url"].rsplit("/", 1)[1]
    return str((await w.response(name)).get("text", ""))


def valid_blocks(slack: SlackStandIn) -> None:
    """Every message posted so far passes slack_sdk's checks of Slack's block rules."""
    for call in slack.posted():
        raw = call.args.get("blocks")
        for block in json.loads(raw) if isinstance(raw, str) else raw or []:
            parsed = Block.parse(block)
            assert parsed is not None
            parsed.validate_json()


def posts_to(slack: SlackStandIn, channel: str) -> list[str]:
    return [
        json.dumps(p.args.get("blocks"), ensure_ascii=False) + str(p.args.get("text"))
        for p in slack.posted()
        if p.args["channel"] == channel
    ]


async def test_an_lbr_recommendation_to_its_rbr_end_to_end(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        await with_the_region(w, slack)
        # The secretary opens the form and submits it.
        status, _, took, _ = await w.command("USOFIE01", "/recommend", "create")
        assert status == 200 and took < 3
        view = (await w.api_call("views.open")).args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["callback_id"] == CREATE_VIEW
        View(**view).validate_json()  # Slack's own rules for a modal
        values = create_values(
            "lbr-test",
            "rbr-test",
            "Særligt fokus på unge ledige",
            "Jobcentret ligger 20 % over klyngen.\nRådet indstiller særligt fokus.",
        )
        submitted = w.submission("USOFIE01", CREATE_VIEW, values)
        status, body, took = await w.interact(submitted)
        assert (status, json.loads(body)) == (200, {"response_action": "clear"}) and took < 3
        # Slack re-sends the same submission: still one draft.
        assert (await w.interact(submitted, retry=1))[0] == 200
        async with w.ctx.db.session() as s:
            recs = (await s.execute(select(Recommendation))).scalars().all()
        assert [(r.id, r.state, r.created_by) for r in recs] == [(1, "draft", "slack:USOFIE01")]

        # Sending before the council agreed is refused.
        assert "ikke vedtaget endnu" in await said(w, "USOFIE01", "send 1")
        # The secretary puts it to the vote: each of the four voting seats gets buttons.
        text = await said(w, "USOFIE01", "agree 1")
        assert "afstemning blandt 4 medlemmer" in text and "4 ja-stemmer" in text
        await w.drain()
        dms = {c.args["users"] for c in slack.calls_to("conversations.open")}
        assert dms == {"UANNE001", "UBO00001", "UCARL001", "UDORTE01"}
        valid_blocks(slack)
        ballot = posts_to(slack, "DBO00001")
        assert len(ballot) == 1 and f"{VOTE_BUTTON}_yes" in ballot[0]
        assert "Særligt fokus på unge ledige" in ballot[0] and "20 % over klyngen" in ballot[0]

        # An outsider's vote and the secretary's are refused; a member may change theirs.
        assert "kun medlemmerne og formanden for LBR Test" in await vote(w, "UOLE0001", 1, "yes")
        assert "kun medlemmerne" in await vote(w, "USOFIE01", 1, "yes")
        assert "1 ja, 0 nej af 4" in await vote(w, "UANNE001", 1, "yes")
        assert "1 ja, 1 nej af 4" in await vote(w, "UBO00001", 1, "no")
        assert "2 ja, 0 nej af 4" in await vote(w, "UBO00001", 1, "yes")
        assert "3 ja, 0 nej af 4" in await vote(w, "UCARL001", 1, "yes")
        assert "Din stemme vedtog indstilling 1" in await vote(w, "UDORTE01", 1, "yes")
        assert "allerede vedtaget" in await vote(w, "UDORTE01", 1, "no")
        async with w.ctx.db.session() as s:
            rec = await s.get(Recommendation, 1)
            votes = (await s.execute(select(RecommendationVote))).scalars().all()
        assert rec is not None and (rec.state, rec.agreed_how) == ("agreed", "vote")
        assert sorted(v.vote for v in votes) == ["yes"] * 4

        # A member and an outsider cannot send it; the secretary can.
        assert "kun sekretariatet for LBR Test kan sende" in await said(w, "UBO00001", "send 1")
        assert "kun sekretariatet for LBR Test kan sende" in await said(w, "USARA001", "send 1")
        text = await said(w, "USOFIE01", "send 1")
        assert "sendt til RBR Test" in text
        await w.drain()
        rbr_posts = posts_to(slack, "#rbr-test")
        assert len(rbr_posts) == 1 and "Indstilling fra LBR Test til RBR Test" in rbr_posts[0]
        assert "Rådet indstiller særligt fokus." in rbr_posts[0]
        assert len(posts_to(slack, "DRITA001")) == 1  # the RBR's secretary, by DM

        # Unanswered for 20 working days (Easter closes 25, 26 and 29 March): the
        # reminder to the RBR's secretariat at 08:00 on Thursday 1 April.
        w.clock.set(local(2027, 4, 1, 7, 59))
        await w.drain()
        assert len(posts_to(slack, "DRITA001")) == 1
        w.clock.set(local(2027, 4, 1, 8, 0))
        await w.drain()
        reminded = posts_to(slack, "DRITA001")
        assert len(reminded) == 2 and "ikke besvaret efter 20 arbejdsdage" in reminded[1]
        # Five working days later (Thursday 8 April) the sender's chair hears of it.
        w.clock.set(local(2027, 4, 7, 16, 0))
        await w.drain()
        assert not [p for p in posts_to(slack, "DANNE001") if "stadig ikke besvaret" in p]
        w.clock.set(local(2027, 4, 8, 8, 0))
        await w.drain()
        chair = [p for p in posts_to(slack, "DANNE001") if "stadig ikke besvaret" in p]
        assert len(chair) == 1

        # Only the receiving secretariat answers; then the sender's channel has the answer.
        assert "kun sekretariatet for RBR Test" in await said(w, "USOFIE01", "answer 1 Tak")
        text = await said(w, "URITA001", "answer 1 RBR tager det op på mødet i maj.")
        assert "Svaret på indstilling 1 er gemt" in text
        await w.drain()
        lbr_posts = [p for p in posts_to(slack, "#lbr-test") if "har svaret" in p]
        assert len(lbr_posts) == 1 and "RBR tager det op på mødet i maj." in lbr_posts[0]
        valid_blocks(slack)  # the sent message, the reminder, the escalation, the answer
        assert "besvaret" in await said(w, "UBO00001", "show 1")
        assert "(besvaret)" in await said(w, "URITA001", "list")
        assert "ikke se indstilling 1" in await said(w, "USARA001", "show 1")

        async with w.ctx.db.session() as s:
            trail = (
                (
                    await s.execute(
                        select(AuditLog)
                        .where(AuditLog.entity == "recommendation")
                        .order_by(col(AuditLog.id))
                    )
                )
                .scalars()
                .all()
            )
            left = (
                (
                    await s.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.source == "recommendation:1",
                            OutboxMessage.state == "pending",
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert [a.action for a in trail] == [
            "recommendation.created",
            "recommendation.vote_opened",
            "recommendation.refused",  # Ole votes
            "recommendation.refused",  # Sofie votes
            "recommendation.voted",
            "recommendation.voted",
            "recommendation.voted",  # Bo changes his vote
            "recommendation.voted",
            "recommendation.voted",
            "recommendation.agreed",
            "recommendation.refused",  # Bo sends
            "recommendation.refused",  # Sara sends
            "recommendation.sent",
            "recommendation.refused",  # Sofie answers
            "recommendation.answered",
        ]
        assert trail[9].actor == "slack:UDORTE01" and '"yes": 4' in trail[9].details
        assert not left


async def test_bad_form_input_goes_back_under_its_field_and_stores_nothing(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    async with slack_world(database_url, tmp_path, START, slack) as w:
        before = await snapshot(w.ctx.db)
        cases = [
            (create_values("lbr-test", "rbr-nope", "T", "Tekst"), "to", "ukendt råd 'rbr-nope'"),
            (create_values("lbr-test", "x@y", "T", "Tekst"), "to", "'x@y' er ikke en gyldig"),
            (create_values("lbr-test", "rbr-test", "T" * 201, "Tekst"), "title", "201 tegn"),
            (create_values("lbr-test", "rbr-test", "T", ""), "text", "mangler sin tekst"),
            (create_values("lbr-test", "rbr-test", "T", "x", "nope"), "about", "RÅD:MÅL"),
            (create_values("lbr-other", "rbr-test", "T", "x"), "from", "kun sekretariatet"),
        ]
        for values, field, words in cases:
            status, body, took = await w.interact(w.submission("USOFIE01", CREATE_VIEW, values))
            answer = json.loads(body)
            assert status == 200 and took < 3 and answer["response_action"] == "errors"
            assert list(answer["errors"]) == [field] and words in answer["errors"][field], answer
        after = await snapshot(w.ctx.db)
        # Only the refusal of rights is written (to the audit log); nothing else changed.
        assert {k: v for k, v in after.items() if k != "audit_log"} == {
            k: v for k, v in before.items() if k != "audit_log"
        }
        assert len(after["audit_log"]) == len(before["audit_log"]) + 1
        # A member cannot even open the form (audited too).
        assert "ikke sekretær for noget råd" in await said(w, "UBO00001", "create")
        async with w.ctx.db.session() as s:
            refused = (
                (
                    await s.execute(
                        select(AuditLog).where(AuditLog.action == "recommendation.refused")
                    )
                )
                .scalars()
                .all()
            )
        assert [(a.actor, '"verb": "create"' in a.details) for a in refused] == [
            ("slack:USOFIE01", True),
            ("slack:UBO00001", True),
        ]
        assert "`/recommend nope` kendes ikke" in await said(w, "USOFIE01", "nope")
        assert "/recommend show 12" in await said(w, "USOFIE01", "show")
        # Agreed at a meeting, from Slack; a date in the future is refused.
        await create_recommendation(
            w.ctx, Actor("cli"), RecommendationDraft("lbr-test", "Kb@Gribskov.dk", "T", "Tekst")
        )
        assert "har ikke fundet sted" in await said(w, "USOFIE01", "agree 1 2027-03-02")
        text = await said(w, "USOFIE01", "agree 1 2027-02-25")
        assert "vedtaget på mødet torsdag den 25. februar 2027" in text
        # An English-speaking secretary reads English.
        slack.users["USOFIE01"]["locale"] = "en-GB"
        w.deps.locales.pop("USOFIE01", None)
        assert "already agreed" in await said(w, "USOFIE01", "agree 1 2027-02-25")
