"""Signed cookies: the session after sign-in and the short-lived pre-sign-in cookie.

A cookie is ``base64url(JSON).base64url(HMAC-SHA256)`` under the key from
``AARSHJUL_WEB_SECRET`` (the same on every replica). It holds the person's id, a
CSRF token for the page's forms and its expiry; nothing secret. ``HttpOnly``,
``SameSite=Lax``, and ``Secure`` when the site is served over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SESSION_COOKIE = "aarshjul_session"
#: Before sign-in: the CSRF token of the sign-in form and the OpenID state and nonce.
PRE_COOKIE = "aarshjul_signin"
PRE_MINUTES = 15


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks cookie values; a key of its own per purpose."""

    def __init__(self, secret: bytes | None, *, published: bool = False) -> None:
        if not secret:
            # Sessions then last until the process ends and work on this replica only:
            # worth a warning once the pages are published (a public_url, Slack sign-in).
            (log.warning if published else log.info)(
                "AARSHJUL_WEB_SECRET is not set: web sign-ins last until the bot restarts"
            )
            secret = secrets.token_bytes(32)
        self._secret = secret

    def _mac(self, purpose: str, body: bytes) -> bytes:
        key = hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(key, body, hashlib.sha256).digest()

    def sign(self, purpose: str, data: dict[str, Any]) -> str:
        body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(body)}.{_b64(self._mac(purpose, body))}"

    def check(self, purpose: str, value: str | None, now: datetime) -> dict[str, Any] | None:
        """The data, or None for a missing, forged, malformed or expired value."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        body_text, mac_text = value.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or float(data.get("exp", 0)) < now.timestamp():
            return None
        return data


@dataclass(frozen=True)
class WebSession:
    person_id: int
    csrf: str
    expires: datetime


def new_session(person_id: int, now: datetime, hours: int) -> WebSession:
    return WebSession(person_id, secrets.token_urlsafe(24), now + timedelta(hours=hours))


def set_session(
    response: web.StreamResponse,
    signer: Signer,
    session: WebSession,
    *,
    now: datetime,
    secure: bool,
) -> None:
    value = signer.sign(
        SESSION_COOKIE,
        {"pid": session.person_id, "csrf": session.csrf, "exp": session.expires.timestamp()},
    )
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max(60, int((session.expires - now).total_seconds())),
        httponly=True,
        secure=secure,
        samesite="Lax",
        path="/",
    )


def read_session(request: web.Request, signer: Signer, now: datetime) -> WebSession | None:
    data = signer.check(SESSION_COOKIE, request.cookies.get(SESSION_COOKIE), now)
    if data is None or not isinstance(data.get("pid"), int):
        return None
    return WebSession(
        int(data["pid"]), str(data.get("csrf", "")), datetime.fromtimestamp(float(data["exp"]), UTC)
    )


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), (given or "").encode())
