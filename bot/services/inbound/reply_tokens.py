"""The Reply-To of a hearing e-mail to a member, and recognising it in a reply.

``[inbound] reply_address = "sekretariat@example.dk"`` gives each member's invitation
and reminders the Reply-To ``sekretariat+h12.34.<token>@example.dk``: hearing 12,
person 34, and a token that is an HMAC of the two under the database's own random key
(:mod:`storage.hearing_mail`), 120 bits in lower-case base32, so it survives an MTA
that lowercases local parts and cannot be guessed for another person or hearing.

Each of those e-mails' Message-ID is kept too (the after-sent hook below), so a reply
whose token an MTA stripped is still matched by In-Reply-To / References.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.base import Channel
from bot.services.reminders import AFTER_SENT
from storage import hearing_mail
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("aarshjul.inbound")

#: The hearing e-mails to a member that carry a token (not the announcement, the
#: chair's escalation or the closing summary).
TOKEN_MESSAGES = ("hearing.invite", "hearing.reminder")
#: 15 bytes of HMAC in base32: 24 characters, 120 bits.
_TOKEN = re.compile(r"\+h(\d{1,9})\.(\d{1,9})\.([a-z2-7]{24})@")
#: Something that looks like our token but is not well formed (cut short, edited).
_TOKEN_LIKE = re.compile(r"\+h(\d{1,9})\.")


@dataclass(frozen=True)
class TokenClaim:
    """What an address's plus part claims: a hearing, a person and the token."""

    hearing_id: int
    person_id: int
    token: str


def make_token(key: str, hearing_id: int, person_id: int) -> str:
    digest = hmac.new(
        key.encode(), f"hearing-reply:{hearing_id}:{person_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest[:15]).decode().lower()


def token_address(base: str, key: str, hearing_id: int, person_id: int) -> str:
    """``local+h<hearing>.<person>.<token>@domain`` from ``local@domain``."""
    local, _, domain = base.strip().rpartition("@")
    return f"{local}+h{hearing_id}.{person_id}.{make_token(key, hearing_id, person_id)}@{domain}"


def claims(addresses: Iterable[str]) -> tuple[list[TokenClaim], list[int]]:
    """The well-formed token claims among ``addresses``, and the hearing ids of addresses
    that look like ours but are not well formed (a wrong token)."""
    found: list[TokenClaim] = []
    broken: list[int] = []
    for address in addresses:
        address = address.lower()
        match = _TOKEN.search(address)
        if match:
            found.append(TokenClaim(int(match[1]), int(match[2]), match[3]))
            continue
        like = _TOKEN_LIKE.search(address)
        if like:
            broken.append(int(like[1]))
    return found, broken


def ours(addresses: Iterable[str], base: str) -> list[str]:
    """The addresses that are plus-addresses of ``base`` (all of them when it is unset,
    so replies to tokens given out before it was changed are still read)."""
    local, _, domain = base.strip().lower().rpartition("@")
    if not local:
        return list(addresses)
    return [
        a
        for a in addresses
        if a.lower().startswith(local + "+") and a.lower().endswith("@" + domain)
    ]


def valid(key: str, claim: TokenClaim) -> bool:
    return hmac.compare_digest(make_token(key, claim.hearing_id, claim.person_id), claim.token)


async def remember_sent(
    db: Database, row: OutboxMessage, external_id: str, channel: Channel
) -> None:
    """After-sent hook: keep the Message-ID of a hearing e-mail that went to a person."""
    if row.channel != "email" or not row.person_id or not external_id:
        return
    params = json.loads(row.payload or "{}").get("params", {})
    hearing_id = params.get("hearing_id")
    if hearing_id is None:
        return
    async with db.transaction() as session:
        await hearing_mail.note_sent(
            session,
            message_id=external_id.strip()[:255],
            hearing_id=int(hearing_id),
            person_id=row.person_id,
            outbox_id=row.id,
            now=row.sent_at or row.updated_at,
        )


async def member_reply_to(
    session: AsyncSession, row: OutboxMessage, message: str, params: dict[str, Any], base: str
) -> str | None:
    """The Reply-To for this row when it is a hearing e-mail to a person, else None."""
    if not base or row.channel != "email" or not row.person_id or message not in TOKEN_MESSAGES:
        return None
    hearing_id = params.get("hearing_id")
    key = await hearing_mail.reply_key(session) if hearing_id is not None else None
    if key is None:
        return None
    return token_address(base, key, int(hearing_id), row.person_id)


for _name in TOKEN_MESSAGES:
    AFTER_SENT[_name] = remember_sent
