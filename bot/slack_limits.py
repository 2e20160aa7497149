"""Keeping a Slack message inside Slack's limits without losing content silently.

Slack refuses a message with more than 50 blocks or a section text over 3,000
characters (``invalid_blocks``), and one whose blocks hold more than about 12,000
characters of text in all (``msg_blocks_too_long``; see tests/slack_rules.py for
the sources). A renderer that may meet long content splits it into sections
(:func:`fit_sections`) and, past the budget, ends with a visible "…" and a pointer
to where the rest is; a list of names is cut the same way (:func:`names_within`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks import chunks, section
from bot.slack_text import SlackText, escape, join, slack_t

#: Our budget for the text of all blocks of one message, under Slack's 12,000.
BLOCKS_TEXT_BUDGET = 11000
#: Our most blocks in one message (Slack: 50), leaving room for a button or context.
MAX_BLOCKS = 45
#: A message's fallback ``text`` (notifications, screen readers): the blocks carry the rest.
FALLBACK_TEXT = 3000


def names_within(lang: str, names: Sequence[str], budget: int) -> SlackText:
    """Escaped names joined by ", ", at most ``budget`` characters: past it,
    "… og 12 mere" says how many were left out."""
    shown: list[SlackText] = []
    used = 0
    for i, name in enumerate(names):
        piece = escape(name)
        after = len(names) - i - 1
        reserve = len(slack_t(lang, "slack.more_names", count=after)) + 1 if after else 0
        if used + len(piece) + reserve > budget:
            rest = slack_t(lang, "slack.more_names", count=len(names) - i)
            return join(" ", [join(", ", shown), rest]) if shown else rest
        shown.append(piece)
        used += len(piece) + 2
    return join(", ", shown)


def fit_sections(
    text: SlackText, lang: str, where: str, *, budget: int = BLOCKS_TEXT_BUDGET
) -> list[dict[str, Any]]:
    """``text`` as section blocks that fit one message; what does not fit is replaced
    by "… (the rest: ``where``)", so a reader knows there is more and where."""
    pieces = chunks(text)
    blocks: list[dict[str, Any]] = []
    used = 0
    more = slack_t(lang, "slack.cut", where=where)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        room = budget - used - (0 if last else len(more) + 1)
        if len(piece) > room or (not last and len(blocks) >= MAX_BLOCKS - 1):
            head = piece.cut(max(0, min(room, 2900 - len(more) - 1)))
            blocks.append(section(join("\n", [head, more]) if head else more))
            return blocks
        blocks.append(section(piece))
        used += len(piece)
    return blocks


def fallback(text: SlackText) -> SlackText:
    """A message's fallback text, cut with "…" to :data:`FALLBACK_TEXT`."""
    if len(text) <= FALLBACK_TEXT:
        return text
    return join("", [text.cut(FALLBACK_TEXT - 1), escape("…")])
