"""The one escaping point for Slack: what it makes, and what it refuses."""

from __future__ import annotations

import pytest

from bot.slack_text import (
    SlackText,
    UnescapedText,
    escape,
    join,
    link,
    require_blocks,
    slack_t,
)

HOSTILE = "<!channel> <@U0ADMIN01> <https://evil.example|klik> & co"


def test_escape_makes_mentions_and_links_text() -> None:
    safe = escape(HOSTILE)
    assert isinstance(safe, SlackText)
    assert "<" not in safe and ">" not in safe
    assert safe == "&lt;!channel&gt; &lt;@U0ADMIN01&gt; &lt;https://evil.example|klik&gt; &amp; co"
    assert escape(safe) is safe  # never twice
    assert escape(None) == "" and escape(12) == "12"


def test_slack_t_escapes_every_parameter_that_is_not_slack_text() -> None:
    text = slack_t("da", "slack.error", message=HOSTILE)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    ours = link("https://example.dk/plan.pdf", "Dokument <1>")
    assert ours == "<https://example.dk/plan.pdf|Dokument &lt;1&gt;>"
    assert slack_t("da", "slack.error", message=ours).endswith(ours)


def test_a_url_that_could_break_out_of_a_link_is_text() -> None:
    for url in ("javascript:alert(1)", "https://x.dk/|<!channel>", "https://a b", ""):
        assert "<" not in link(url, "x").replace("&lt;", "")


def test_cut_never_ends_inside_an_entity() -> None:
    assert escape("ab<cd").cut(4) == "ab"
    assert escape("ab<cd").cut(6) == "ab&lt;"
    assert escape("abc").cut(10) == "abc"


def test_require_blocks_refuses_a_plain_str_anywhere() -> None:
    good = [{"type": "section", "text": {"type": "mrkdwn", "text": escape("x")}}]
    require_blocks(escape("fallback"), good)
    with pytest.raises(UnescapedText, match="message text"):
        require_blocks("raw", good)
    bad = [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "raw"}}],
        }
    ]
    with pytest.raises(UnescapedText, match="plain_text"):
        require_blocks(escape("x"), bad)
    with pytest.raises(UnescapedText):
        join(", ", [escape("a"), "b"])  # type: ignore[list-item]
    assert join(", ", [escape("a<"), escape("b")]) == "a&lt;, b"
