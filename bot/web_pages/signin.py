"""Signing in: Sign in with Slack (OpenID Connect) and a one-time link by e-mail.

Slack: the browser goes to Slack's authorisation page with a ``state`` and a ``nonce``
kept in a signed pre-sign-in cookie; Slack sends it back with a code, which the bot
trades for a token (``openid.connect.token``) and the person's identity
(``openid.connect.userInfo``), both through the Web API base URL of the
configuration. The person is found by Slack user id, else by a verified e-mail.

E-mail: a person known by their address gets a link valid for ``[web] link_minutes``
(15), used once: redeeming it is one conditional UPDATE, so two clicks at once open
one session. The answer to the form never says whether the address is known.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import t
from bot.services.app import AppContext
from scheduler.planner import Kind, PlannedNotification
from storage import outbox
from storage.models import Membership, Person
from storage.web import SignInLink

log = logging.getLogger(__name__)

#: At most this many unused links per person at a time (a form cannot flood a mailbox).
MAX_OPEN_LINKS = 3


def safe_next(path: str | None) -> str:
    """A path on this site to go to after sign-in; anything else goes to the start page."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(c) < 0x21 for c in path) or len(path) > 200:
        return "/"
    return path


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def person_by_email(session: AsyncSession, email: str) -> Person | None:
    wanted = email.strip().lower()
    if not wanted or "@" not in wanted or len(wanted) > 254:
        return None
    return (await session.exec(select(Person).where(Person.email == wanted))).first()


async def _has_seat(session: AsyncSession, person_id: int) -> bool:
    found = await session.execute(
        select(Membership.id).where(Membership.person_id == person_id).limit(1)
    )
    return found.first() is not None


async def request_link(
    ctx: AppContext, email: str, next_path: str, *, base_url: str, language: str
) -> bool:
    """Queue a sign-in link to ``email`` if it is a member's; True when one was queued.

    The caller shows the same page either way.
    """
    now = ctx.clock.now()
    minutes = ctx.config.settings.web.link_minutes
    async with ctx.db.transaction() as session:
        person = await person_by_email(session, email)
        if person is None or person.id is None or not await _has_seat(session, person.id):
            log.info("sign-in link not sent: %s is not a member", "unknown address")
            return False
        open_links = (
            await session.execute(
                select(func.count())
                .select_from(SignInLink)
                .where(
                    SignInLink.person_id == person.id,
                    col(SignInLink.used_at).is_(None),
                    col(SignInLink.expires_at) > now,
                )
            )
        ).scalar_one()
        if open_links >= MAX_OPEN_LINKS:
            log.info("sign-in link not sent: person %s has %s open links", person.id, open_links)
            return False
        token = secrets.token_urlsafe(32)
        link = SignInLink(
            token_hash=_hash(token),
            person_id=person.id,
            next_path=safe_next(next_path),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        session.add(link)
        await session.flush()
        lang = person.language or language
        url = f"{base_url}/signin/link?token={token}"
        key = f"signin:{link.id}/email/{person.id}"
        await outbox.enqueue(
            session,
            [
                PlannedNotification(
                    key=key,
                    group_key=key,
                    kind=Kind.NOTICE,
                    source=f"signin:{link.id}",
                    council_id=None,
                    person_id=person.id,
                    channel="email",
                    address=person.email,
                    language=lang,
                    message="notice.signin",
                    params={
                        "subject": t(lang, "web.mail.subject"),
                        "text": t(
                            lang, "web.mail.text", name=person.name, url=url, minutes=minutes
                        ),
                    },
                    due_at=now,
                    expires_at=link.expires_at,
                    quiet=False,
                )
            ],
            now=now,
        )
    return True


async def redeem_link(ctx: AppContext, token: str) -> tuple[int, str] | None:
    """(person id, where to go) for a valid, unused link, which is used up; else None."""
    if not token or len(token) > 100:
        return None
    now = ctx.clock.now()
    digest = _hash(token)
    async with ctx.db.transaction() as session:
        used = await session.execute(
            update(SignInLink)
            .where(
                col(SignInLink.token_hash) == digest,
                col(SignInLink.used_at).is_(None),
                col(SignInLink.expires_at) > now,
            )
            .values(used_at=now)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = (
            await session.execute(
                select(SignInLink.person_id, SignInLink.next_path).where(
                    SignInLink.token_hash == digest
                )
            )
        ).one()
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class SlackSignIn:
    """The app's OpenID Connect settings; None fields mean Sign in with Slack is off."""

    client_id: str
    client_secret: str
    authorize_url: str
    api_url: str

    def authorize(self, redirect_uri: str, state: str, nonce: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "scope": "openid email profile",
                "client_id": self.client_id,
                "state": state,
                "nonce": nonce,
                "redirect_uri": redirect_uri,
            }
        )
        return f"{self.authorize_url}?{query}"

    async def identify(self, code: str, redirect_uri: str, nonce: str) -> dict[str, Any] | None:
        """The person's Slack identity (user id, e-mail, name) for ``code``, or None."""
        client = AsyncWebClient(base_url=self.api_url)
        try:
            token = await client.openid_connect_token(
                client_id=self.client_id,
                client_secret=self.client_secret,
                code=code,
                redirect_uri=redirect_uri,
            )
            access = str(token.get("access_token") or "")
            id_token = str(token.get("id_token") or "")
            if not access or not _nonce_ok(id_token, nonce):
                log.warning("Sign in with Slack: no token, or the nonce did not match")
                return None
            info = await AsyncWebClient(
                token=access, base_url=self.api_url
            ).openid_connect_userInfo()
        except SlackApiError as exc:
            log.warning("Sign in with Slack refused: %s", exc.response.get("error"))
            return None
        except Exception as exc:  # a network error is a failed sign-in, not a 500
            log.warning("Sign in with Slack failed: %s: %s", type(exc).__name__, exc)
            return None
        return dict(info.data) if isinstance(info.data, dict) else None


def _nonce_ok(id_token: str, nonce: str) -> bool:
    """The id_token came straight from Slack over the token call; its nonce must be ours
    (Slack always sends an id_token with the nonce it was given: without one, no sign-in)."""
    if not id_token or not nonce:
        return False
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return False
    return isinstance(claims, dict) and claims.get("nonce") == nonce


async def person_for_slack(session: AsyncSession, info: dict[str, Any]) -> Person | None:
    """The person behind a Slack identity: by user id, else by a verified e-mail."""
    user_id = str(info.get("https://slack.com/user_id") or info.get("sub") or "")
    if user_id:
        found = (await session.exec(select(Person).where(Person.slack_id == user_id))).first()
        if found is not None:
            return found
    if info.get("email") and info.get("email_verified", True):
        return await person_by_email(session, str(info["email"]))
    return None


def now_plus(now: datetime, minutes: int) -> float:
    return (now + timedelta(minutes=minutes)).timestamp()
