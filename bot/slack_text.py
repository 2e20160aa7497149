"""The one escaping point for everything the bot posts to Slack.

Slack reads message text as mrkdwn: ``<!channel>``, ``<@U…>`` and ``<https://…|label>``
in a typed name or title would ping the whole channel or show a disguised link. So
text for Slack is a :class:`SlackText`, and only this module makes one:

- :func:`escape` turns any user text into SlackText (``&``, ``<``, ``>`` as entities);
- :func:`slack_t` renders a catalogue message, escaping every parameter that is not
  already SlackText (names, titles, organisations, answers, numbers alike);
- :func:`link` makes ``<url|label>`` from a checked URL and an escaped label;
- :func:`join` joins SlackText pieces.

The Block Kit builders (:mod:`bot.blocks`) and the Slack delivery channel accept only
SlackText, and :func:`require_blocks` checks a whole message at the last moment, so a
renderer that forgets to escape fails loudly in tests instead of leaking a mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.i18n import t


class SlackText(str):
    """mrkdwn that is safe to post: its user parts are escaped. Made only here."""

    __slots__ = ()

    def cut(self, limit: int) -> SlackText:
        """At most ``limit`` characters, never ending inside an entity like ``&lt;``."""
        if len(self) <= limit:
            return self
        head = str.__getitem__(self, slice(0, limit))
        amp = head.rfind("&")
        if amp != -1 and ";" not in head[amp:]:
            head = head[:amp]
        return SlackText(head)


class UnescapedText(TypeError):
    """A plain ``str`` reached a Slack message where only SlackText may go (a bug)."""


def escape(text: object) -> SlackText:
    """User text (or anything) as SlackText: ``&``, ``<`` and ``>`` become entities."""
    if isinstance(text, SlackText):
        return text
    value = "" if text is None else str(text)
    return SlackText(value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def slack_t(language: str, key: str, /, **params: Any) -> SlackText:
    """A catalogue message for Slack: every parameter is escaped unless it is SlackText
    already (a link or a fragment built here). The catalogue's own mrkdwn (``*bold*``,
    ``:emoji:``) is ours and stays."""
    safe = {k: v if isinstance(v, SlackText) else escape(v) for k, v in params.items()}
    return SlackText(t(language, key, **safe))


def trusted(text: str) -> SlackText:
    """Text the bot wrote itself with no user part (a catalogue text without
    parameters, a fixed separator). Never pass user input here."""
    return SlackText(text)


_URL = re.compile(r"https?://[^\s<>|]+")


def link(url: str, label: object) -> SlackText:
    """``<url|label>``; a URL that could break out of the link is shown as text instead."""
    if not _URL.fullmatch(url or ""):
        return escape(url)
    return SlackText(f"<{url}|{escape(label)}>")


def join(separator: str, parts: Iterable[SlackText]) -> SlackText:
    """SlackText pieces joined by a separator the bot chose."""
    pieces = list(parts)
    for piece in pieces:
        _require(piece, "a piece to join")
    return SlackText(escape(separator).join(pieces))


def bold(text: SlackText) -> SlackText:
    """``*text*``: a heading the bot writes around escaped text."""
    _require(text, "bold()")
    return SlackText(f"*{text}*")


def unbold(text: SlackText) -> SlackText:
    """The same text without ``*`` (a notification's fallback text): still escaped."""
    return SlackText(str.replace(text, "*", ""))


def _require(value: object, where: str) -> None:
    if not isinstance(value, SlackText):
        raise UnescapedText(f"{where} is a plain str, not SlackText: {str(value)[:60]!r}")


def require_blocks(text: object, blocks: Sequence[Mapping[str, Any]] | None) -> None:
    """Check a whole message: its text and every mrkdwn or plain_text object in its
    blocks must be SlackText.

    Raises:
        UnescapedText: something was built around the escaping point.
    """
    if text:
        _require(text, "the message text")
    for block in blocks or ():
        _walk(block, "a block")


def _walk(node: Any, where: str) -> None:
    if isinstance(node, Mapping):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            _require(node["text"], f"{where}'s {node['type']} text")
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                _walk(value, f"{where}.{key}")
    elif isinstance(node, list | tuple):
        for item in node:
            _walk(item, where)
