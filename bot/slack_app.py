"""The Slack app: one Bolt ``AsyncApp``, reached over HTTP or Socket Mode.

The transports are adapters around one dispatch: ``POST /slack/events`` on the
bot's aiohttp server (signature checked by Bolt with ``SLACK_SIGNING_SECRET``)
or a Socket Mode connection when ``SLACK_APP_TOKEN`` is set. Handlers live in
``bot/handlers/``, one module per command or surface; what they share (the
application, who a Slack user is, in which language to answer, how to wake
the outbox) is the :class:`SlackDeps` built here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select

from bot.observability import log_event
from bot.services.app import AppContext
from bot.slack_http import SlackEdge, response_url_allowed
from bot.slack_text import require_blocks
from storage.models import Person

log = logging.getLogger("aarshjul.slack")
#: Seconds a Web API call made while Slack waits for our answer may take.
LOOKUP_TIMEOUT = 2.0


@dataclass
class SlackDeps:
    """What every handler needs; built once per process."""

    ctx: AppContext
    client: AsyncWebClient
    #: Called after a use case queued messages: the outbox sends them now.
    wake: Callable[[], None] = lambda: None
    locales: dict[str, str] = field(default_factory=dict)
    #: Slack users with no person behind them (checked recently): not asked again.
    strangers: set[str] = field(default_factory=set)
    #: Background work started after an ack; kept so it is not garbage-collected.
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def person(self, user_id: str, *, lookup: bool = True) -> Person | None:
        """The person behind a Slack user: by ``slack_id``, else by e-mail (then remembered)."""
        async with self.ctx.db.session() as session:
            found = await session.scalar(select(Person).where(Person.slack_id == user_id))
        if found is not None or not lookup or user_id in self.strangers:
            return found
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                info = await self.client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, TimeoutError, OSError) as exc:
            log_event(log, "users-info-failed", logging.WARNING, user=user_id, error=str(exc))
            return None
        user = info.get("user") or {}
        if user.get("locale"):
            self.locales[user_id] = str(user["locale"])
        email = str((user.get("profile") or {}).get("email") or "").strip().lower()
        if not email:
            self.strangers.add(user_id)
            return None
        async with self.ctx.db.transaction() as session:
            found = await session.scalar(select(Person).where(Person.email == email))
            if found is None:
                self.strangers.add(user_id)
                return None
            found.slack_id = user_id
            found.updated_at = self.ctx.clock.now()
            session.add(found)
        log_event(log, "slack-user-matched", user=user_id, person=found.id, by="email")
        return found

    async def learn_locale(self, user_id: str, person: Person | None = None) -> None:
        """Ask Slack once per process for the user's locale, unless their language is set.

        Only where nothing waits on it: never before a modal opens (its trigger
        dies after 3 seconds) nor before an ack.
        """
        if user_id in self.locales or (person is not None and person.language):
            return
        self.locales[user_id] = ""  # asked (one question per user, even if it fails)
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                info = await self.client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, TimeoutError, OSError) as exc:
            log_event(log, "users-info-failed", logging.WARNING, user=user_id, error=str(exc))
            return
        self.locales[user_id] = str((info.get("user") or {}).get("locale") or "")

    def language(self, user_id: str, person: Person | None = None) -> str:
        """The reader's language: their own choice, else their Slack locale, else the default."""
        if person is not None and person.language in ("da", "en"):
            return person.language
        locale = self.locales.get(user_id, "")
        if locale.lower().startswith("en"):
            return "en"
        if locale:
            return "da"
        return self.ctx.language

    def background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


async def match_people_by_email(deps: SlackDeps, council_ids: list[int] | None = None) -> int:
    """Give people without a ``slack_id`` theirs, through ``users.lookupByEmail``.

    Run before a hearing's messages are planned, so members who never typed a
    command still get DMs rather than e-mail.
    """
    from storage.models import Membership

    async with deps.ctx.db.session() as session:
        query = select(Person).where(col(Person.slack_id).is_(None))
        if council_ids:
            query = query.where(
                col(Person.id).in_(
                    select(Membership.person_id).where(col(Membership.council_id).in_(council_ids))
                )
            )
        people = list((await session.execute(query)).scalars())
    matched = 0
    for person in people:
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT * 2):
                found = await deps.client.users_lookupByEmail(email=person.email)
        except (SlackApiError, TimeoutError, OSError):
            continue
        user_id = str((found.get("user") or {}).get("id") or "")
        if not user_id:
            continue
        async with deps.ctx.db.transaction() as session:
            row = await session.get(Person, person.id)
            if row is not None and row.slack_id is None:
                row.slack_id = user_id
                session.add(row)
                matched += 1
    return matched


def build_slack_app(
    ctx: AppContext, *, bot_user_id: str | None = None, wake: Callable[[], None] | None = None
) -> tuple[AsyncApp, SlackDeps]:
    """The Bolt app with every handler registered, and its shared dependencies."""
    from bot.handlers import register_all

    secrets = ctx.config.secrets
    token = secrets.slack_bot_token.get_secret_value() if secrets.slack_bot_token else ""
    signing = (
        secrets.slack_signing_secret.get_secret_value() if secrets.slack_signing_secret else None
    )
    api_url = ctx.config.settings.slack.api_url
    client = AsyncWebClient(token=token, base_url=api_url, timeout=30)
    # users.lookupByEmail is Tier 3 (about 50 a minute): wait out a 429's Retry-After.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))

    async def authorize(**_: Any) -> AuthorizeResult:
        # One workspace, one bot token: no auth.test per request (it would delay the ack).
        return AuthorizeResult(
            enterprise_id=None, team_id=None, bot_token=token, bot_user_id=bot_user_id
        )

    app = AsyncApp(
        # Bolt's own client gets the token from ``authorize`` per request.
        client=AsyncWebClient(base_url=api_url, timeout=30),
        authorize=authorize,
        signing_secret=signing,
        request_verification_enabled=signing is not None,
        raise_error_for_unhandled_request=False,
        process_before_response=False,
        url_verification_enabled=True,
        ssl_check_enabled=True,
        ignoring_self_events_enabled=True,
    )
    deps = SlackDeps(ctx=ctx, client=client, wake=wake or (lambda: None))
    app.aarshjul_edge = SlackEdge(signing)  # type: ignore[attr-defined]
    _guard_response_url(app, deps, api_url)
    register_all(app, deps)
    return app, deps


def http_route(app: AsyncApp) -> Callable[[web.Request], Any]:
    """The aiohttp view for ``POST /slack/events``: verified first, then handed to Bolt
    (see :mod:`bot.slack_http`)."""
    edge: SlackEdge = getattr(app, "aarshjul_edge", None) or SlackEdge(None)
    return edge.route(app)


def _guard_response_url(app: AsyncApp, deps: SlackDeps, api_url: str) -> None:
    """Answer only to Slack's own ``response_url``s; any other goes through the Web API.

    A request is verified before Bolt sees it, but a ``response_url`` is still a URL
    taken from a body: one that is not ``https://hooks.slack.com/…`` (or, in tests, the
    configured Web API's host) is never called. The reply goes as an ephemeral message
    through ``chat.postEphemeral`` instead, when the channel and user are known.
    """

    @app.middleware
    async def guard(context: Any, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        url = context.get("response_url")
        if url and response_url_allowed(url, api_url):
            context["respond"] = checked_respond(context.respond)
        elif url:
            log_event(log, "response-url-refused", logging.WARNING, host=_host_of(url))
            channel = context.get("channel_id")
            user = context.get("user_id")

            async def respond(text: str = "", blocks: Any = None, **_: Any) -> None:
                if not channel or not user:
                    return
                await deps.client.chat_postEphemeral(
                    channel=channel, user=user, text=text, blocks=blocks
                )

            context["response_url"] = None
            context["respond"] = checked_respond(respond)
        return await next()


def checked_respond(respond: Callable[..., Any]) -> Callable[..., Any]:
    """``respond`` that refuses a text or block that did not go through the escaping point
    (:mod:`bot.slack_text`): a bug, caught before Slack shows a stray mention."""

    async def send(text: str = "", blocks: Any = None, **kwargs: Any) -> Any:
        require_blocks(text, blocks)
        return await respond(text=text, blocks=blocks, **kwargs)

    return send


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "-"
    except ValueError:
        return "-"
