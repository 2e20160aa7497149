"""The Slack channel: posts to council channels and DMs members through the Web API.

Slack limits ``chat.postMessage`` to about one message per second per channel,
and answers 429 with ``Retry-After`` when a limit is hit; slack_sdk's default
retry handlers only cover connection errors, so this module paces posts itself,
pauses every call for the server-given time after a 429, and retries 5xx
answers and timeouts with exponential backoff and jitter. Errors that another
try cannot fix (``channel_not_found``, ``user_not_found`` …) are permanent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.base import (
    Attachment,
    DeliveryError,
    Message,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from bot.slack_text import UnescapedText, require_blocks

log = logging.getLogger(__name__)

#: Slack error codes worth another try; every other error (``channel_not_found``,
#: ``user_not_found``, ``not_in_channel``, ``invalid_auth`` …) fails the row at once.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

Sleep = Callable[[float], Awaitable[None]]
#: A row's progress once its post is out and its file is not: ``posted:CHANNEL:TS``.
POSTED = "posted:"


def _posted(progress: str | None) -> tuple[str, str] | None:
    """The channel id and ts of a post an earlier attempt made, from the row's progress."""
    if not progress or not progress.startswith(POSTED):
        return None
    channel, _, ts = progress.removeprefix(POSTED).partition(":")
    return (channel, ts) if channel and ts else None


class SlackChannel:
    """Delivers :class:`Message` values to Slack.

    Args:
        token: the bot token (``xoxb-…``).
        api_url: the Web API base URL (``SLACK_API_URL``; GovSlack, tests).
        per_channel_interval: seconds between two posts to the same channel.
        max_inline_wait: a ``Retry-After`` up to this long is waited out here;
            a longer one goes back to the outbox as the row's next due time.
        dm_channels: user id → DM channel id, known from earlier runs.
    """

    name = "slack"

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        per_channel_interval: float = 1.0,
        max_inline_wait: float = 30.0,
        attempts: int = 3,
        timeout: float = 10.0,
        dm_channels: dict[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._timeout = timeout
        self._interval = per_channel_interval
        self._max_inline_wait = max_inline_wait
        self._attempts = attempts
        self._sleep = sleep
        self._monotonic = monotonic
        self._paused_until = 0.0
        self._next_post: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self.dm_channels: dict[str, str] = dict(dm_channels or {})
        #: Row key → channel id of posts not yet asked for their permalink.
        self.posted_in: dict[str, str] = {}
        #: DM channels opened since the worker last saved them.
        self.new_dm_channels: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            # One HTTP session with keep-alive for all calls; slack_sdk would
            # otherwise open a connection per call.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
            self._client = AsyncWebClient(
                token=self._token,
                base_url=self._api_url,
                session=self._session,
                timeout=int(self._timeout),
                retry_handlers=[],
            )
        return self._client

    async def send(self, message: Message) -> str:
        # The last moment to catch a renderer that went around the escaping point.
        try:
            require_blocks(message.text, message.blocks)
        except UnescapedText as exc:
            raise PermanentDeliveryError(f"unescaped text (a bug): {exc}") from exc
        done = _posted(message.progress)
        if done is None:
            where, ts = await self._post(message)
        else:
            where, ts = done  # the summary went out on an earlier attempt
        if message.files:
            try:
                await self._share_files(message.files, where, ts)
            except DeliveryError as exc:
                # The post is out: the next attempt only shares the file.
                exc.progress = f"{POSTED}{where}:{ts}"
                raise
        return ts

    async def _post(self, message: Message) -> tuple[str, str]:
        """chat.postMessage, paced per channel; the channel's id and the message's ts."""
        channel = message.address
        if message.direct:
            channel = await self._dm_channel(message.address)
        lock = self._channel_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._next_post.get(channel, 0.0) - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            response = await self._call(
                "chat.postMessage",
                channel=channel,
                text=message.text,
                blocks=message.blocks or None,
                unfurl_links=False,
            )
            self._next_post[channel] = self._monotonic() + self._interval
        if response.get("channel") and not message.direct:
            self.posted_in[message.key] = str(response["channel"])
            while len(self.posted_in) > 1000:  # only announcements ask; forget the rest
                self.posted_in.pop(next(iter(self.posted_in)))
        return str(response.get("channel") or channel), str(response.get("ts") or "")

    async def _share_files(
        self, files: tuple[Attachment, ...], channel: str, thread_ts: str
    ) -> None:
        """Slack's external upload: ask for an upload URL per file, POST the bytes there,
        then share them all at once in the thread of ``thread_ts`` (``files.upload`` is
        retired), so a retry never shares one of them twice."""
        shared = []
        for file in files:
            got = await self._call(
                "files.getUploadURLExternal",
                form=True,
                filename=file.filename,
                length=len(file.content),
            )
            url, file_id = str(got.get("upload_url") or ""), str(got.get("file_id") or "")
            if not url or not file_id:
                raise PermanentDeliveryError("files.getUploadURLExternal gave no upload_url")
            await self._upload(url, file.content)
            shared.append({"id": file_id, "title": file.title})
        await self._call(
            "files.completeUploadExternal",
            form=True,
            files=json.dumps(shared),
            channel_id=channel,
            thread_ts=thread_ts or None,
        )

    async def _upload(self, url: str, content: bytes) -> None:
        """The bytes to the URL Slack gave (no token: the URL is the permission)."""
        self._web()
        assert self._session is not None
        try:
            async with self._session.post(url, data=content) as response:
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TemporaryDeliveryError(f"file upload: {type(exc).__name__}: {exc}") from None
        if status >= 500 or status == 429:
            raise TemporaryDeliveryError(f"file upload: HTTP {status}")
        if status != 200:
            raise PermanentDeliveryError(f"file upload: HTTP {status}")

    async def permalink(self, key: str, ts: str) -> str | None:
        """The link to a message this channel posted (for messages that refer to it)."""
        channel = self.posted_in.pop(key, None)
        if not channel or not ts:
            return None
        response = await self._call("chat.getPermalink", channel=channel, message_ts=ts)
        return str(response.get("permalink") or "") or None

    async def _dm_channel(self, user: str) -> str:
        known = self.dm_channels.get(user)
        if known:
            return known
        response = await self._call("conversations.open", users=user)
        channel = str((response.get("channel") or {}).get("id") or "")
        if not channel:
            raise PermanentDeliveryError(f"conversations.open gave no channel for {user}")
        self.dm_channels[user] = channel
        self.new_dm_channels[user] = channel
        return channel

    async def _call(self, method: str, *, form: bool = False, **args: Any) -> Any:
        """One Web API call with Slack's rate limits and transient errors handled.

        ``form`` sends the arguments form-encoded (the file methods take no JSON body).
        """
        args = {k: v for k, v in args.items() if v is not None}
        body = {"data": args} if form else {"json": args}
        backoff = 0.5
        for attempt in range(1, self._attempts + 1):
            pause = self._paused_until - self._monotonic()
            if pause > 0:
                await self._sleep(pause)
            last = attempt == self._attempts
            try:
                response = await self._web().api_call(method, **body)
                return response.data if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                data = exc.response.data if isinstance(exc.response.data, dict) else {}
                error = data.get("error") or f"HTTP {status}"
                if status == 429:
                    retry_after = _retry_after(exc.response.headers)
                    log.info("slack rate limited on %s: waiting %.0f s", method, retry_after)
                    self._paused_until = max(self._paused_until, self._monotonic() + retry_after)
                    if retry_after > self._max_inline_wait or last:
                        raise TemporaryDeliveryError(
                            f"{method}: ratelimited (Retry-After {retry_after:g} s)",
                            retry_after=retry_after,
                        ) from None
                    continue
                if status >= 500 or error in TRANSIENT_ERRORS:
                    if last:
                        raise TemporaryDeliveryError(f"{method}: {error}") from None
                    await self._sleep(backoff * (0.5 + random.random()))
                    backoff *= 2
                    continue
                # Any other error: another try would meet the same answer.
                raise PermanentDeliveryError(f"{method}: {error}") from None
            except (TimeoutError, aiohttp.ClientError, SlackClientError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if last:
                    raise TemporaryDeliveryError(f"{method}: {reason}") from None
                await self._sleep(backoff * (0.5 + random.random()))
                backoff *= 2
        raise TemporaryDeliveryError(f"{method}: gave up")  # pragma: no cover

    async def check(self) -> str:
        """Ask Slack who the token is (``auth.test``), so a bad token stops start-up.

        Returns:
            The bot's user id.

        Raises:
            PermanentDeliveryError: Slack refused the token.
            TemporaryDeliveryError: Slack could not be reached; delivery will retry.
        """
        response = await self._call("auth.test")
        return str(response.get("user_id") or "")

    async def end_batch(self) -> None:
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._client = None


def _retry_after(headers: Any) -> float:
    raw = None
    if headers:
        raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
