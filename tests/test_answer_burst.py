"""200 members of a 206-member council answer within two seconds (both databases).

Signed view submissions to the bot's real HTTP endpoint, started evenly over 2 s
from a client without a connection limit. Each must be acknowledged within
Slack's 3 s, and what was acknowledged must be what is stored: every answer
once, one receipt each, and no error in the log.
"""

from __future__ import annotations

import logging
import statistics
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from storage.models import Council, HearingAnswer, Membership
from tests.burst import (
    add_members,
    answer_body,
    open_test_hearing,
    post_all,
    receipt_addresses,
)
from tests.servers import SlackStandIn
from tests.slack_world import slack_world

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2027, 3, 1, 9, 0, tzinfo=CPH).astimezone(UTC)
#: lbr-test has 5 people (a chair, three members, a secretary); 201 more make 206.
EXTRA = 201
ANSWERING = 200


async def test_two_hundred_answers_within_two_seconds_are_all_acked_and_stored_once(
    database_url: str, tmp_path: Path, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with slack_world(database_url, tmp_path, START, slack) as w:
        users = await add_members(w, EXTRA)
        hearing_id = await open_test_hearing(w, "Beskæftigelsesplan 2028", date(2027, 3, 19))
        async with w.ctx.db.session() as s:
            council_size = await s.scalar(
                select(func.count())
                .select_from(Membership)
                .join(Council, col(Council.id) == Membership.council_id)
                .where(Council.key == "lbr-test")
            )
        assert council_size == 206
        answering = users[:ANSWERING]
        bodies = [answer_body(w, u, hearing_id, f"Svar fra {u}") for u in answering]
        posted = await post_all(w.url, bodies, spread=2.0)
        took = sorted(p.seconds for p in posted)
        q = statistics.quantiles(took, n=100)
        print(
            f"\n{database_url.split(':')[0]}: {ANSWERING} answers acked "
            f"p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms"
        )
        assert all(p.status == 200 for p in posted)
        assert [p for p in posted if not p.acked_clean] == []
        assert took[-1] < 3.0, took[-10:]
        async with w.ctx.db.session() as s:
            stored = (
                await s.execute(
                    select(HearingAnswer.person_id, HearingAnswer.version).where(
                        HearingAnswer.hearing_id == hearing_id
                    )
                )
            ).all()
        assert len(stored) == ANSWERING and {v for _, v in stored} == {1}
        assert await receipt_addresses(w, hearing_id) == sorted(answering)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert sum("hearing-answer" in r.getMessage() for r in caplog.records) == ANSWERING
