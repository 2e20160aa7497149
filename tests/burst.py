"""Many people at once against the bot's real HTTP endpoint: shared by the race and
burst tests and by ``benchmarks/slack_ack.py``.

A council grows to a realistic size (:func:`add_members`), a hearing is opened
through the service (:func:`open_test_hearing`), and answer submissions are
posted concurrently, each signed as Slack signs it, on a client without a
connection limit (aiohttp's default of 100 would queue the burst in the client,
not in the bot).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import aiohttp
from sqlmodel import col, select

from bot.blocks import ANSWER_VIEW
from bot.services.hearing_lifecycle import HearingDraft, open_hearing_once
from bot.services.hearings import Actor
from bot.services.members import import_members
from storage.models import OutboxMessage
from tests.slack_world import SlackWorld, answer_values, sign


async def add_members(w: SlackWorld, count: int, council: str = "lbr-test") -> list[str]:
    """``count`` more members of ``council``, each in Slack; returns their user ids."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["council", "name", "email", "organisation", "role", "slack_id"])
    users = []
    for i in range(count):
        user = f"UBURST{i:04d}"
        email = f"medlem{i:04d}@example.dk"
        writer.writerow([council, f"Medlem {i:04d}", email, "LO", "member", user])
        w.slack.users[user] = {"email": email, "locale": "da-DK"}
        users.append(user)
    async with w.ctx.db.transaction() as s:
        report = await import_members(s, out.getvalue().encode(), now=w.clock.now(), actor="test")
        assert report.rejected == 0, [line.text for line in report.lines]
    return users


async def open_test_hearing(w: SlackWorld, title: str, deadline: date) -> int:
    """A hearing of lbr-test for all its members, opened as the secretariat would."""
    result = await open_hearing_once(
        w.ctx, Actor("test"), HearingDraft(council_key="lbr-test", title=title, deadline=deadline)
    )
    assert result.created and result.hearing.id is not None
    return result.hearing.id


async def receipt_addresses(w: SlackWorld, hearing_id: int) -> list[str]:
    """The Slack users a receipt for an answer to this hearing is queued for, sorted."""
    async with w.ctx.db.session() as s:
        rows = await s.execute(
            select(OutboxMessage.address).where(
                OutboxMessage.source == f"hearing-msg:{hearing_id}",
                col(OutboxMessage.key).contains("/receipt-"),
            )
        )
        return sorted(rows.scalars())


def answer_body(w: SlackWorld, user: str, hearing_id: int, remarks: str) -> bytes:
    """The answer modal's view_submission, as Slack posts it."""
    payload = w.submission(
        user,
        ANSWER_VIEW,
        answer_values("support_with_remarks", remarks),
        private_metadata=json.dumps({"hearing_id": hearing_id}),
    )
    return w.interaction_body(payload)


@dataclass(frozen=True)
class Posted:
    """One request's outcome: HTTP status, the body (the ack), seconds to the answer."""

    status: int
    body: str
    seconds: float

    @property
    def acked_clean(self) -> bool:
        """Acknowledged with no errors put back into the modal: the member saw "gemt"."""
        if self.status != 200:
            return False
        return not self.body or "errors" not in json.loads(self.body)


async def post_signed(http: aiohttp.ClientSession, url: str, body: bytes) -> Posted:
    ts = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, ts),
    }
    started = time.perf_counter()
    async with http.post(url, data=body, headers=headers) as response:
        text = await response.text()
        return Posted(response.status, text, time.perf_counter() - started)


async def post_all(url: str, bodies: Sequence[bytes], *, spread: float = 0.0) -> list[Posted]:
    """Post every body at once (or started evenly over ``spread`` seconds)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one(i: int, body: bytes) -> Posted:
            if spread:
                await asyncio.sleep(spread * i / len(bodies))
            return await post_signed(http, url, body)

        return list(await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies))))
