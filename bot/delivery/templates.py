"""E-mail bodies from Jinja2 templates: one plain-text and one HTML layout.

The words come from the catalogue (in the reader's language); the templates
only lay them out. HTML autoescapes every value, so a title or a name can never
become markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )


@dataclass(frozen=True)
class EmailBody:
    """What a mail says: the text (paragraphs by line), facts, details, and the footer."""

    subject: str
    text: str
    language: str = "da"
    facts: list[str] = field(default_factory=list)
    details: str = ""
    footer: str = ""


#: A Slack emoji code (``:white_check_mark:``): a word between colons with a letter in
#: it, so times such as 09:00:00 stay.
_EMOJI = re.compile(r":(?=[a-z0-9_+-]*[a-z])[a-z0-9_+-]+:[ \t]?")


def plain_words(text: str) -> str:
    """Slack's markup taken out of a catalogue text for e-mail: bold stars and emoji codes
    (an e-mail client shows ``:white_check_mark:`` as it is)."""
    return _EMOJI.sub("", text.replace("*", ""))


def render_email(body: EmailBody) -> tuple[str, str]:
    """The plain-text and the HTML alternative."""
    env = _environment()
    text = plain_words(body.text)
    values = {
        "subject": plain_words(body.subject),
        "text": text,
        "paragraphs": [p for p in text.split("\n") if p.strip()],
        "facts": [plain_words(f) for f in body.facts],
        "details": body.details,
        "footer": plain_words(body.footer),
        "language": body.language,
    }
    text = env.get_template("email.txt.j2").render(values)
    page = env.get_template("email.html.j2").render(values)
    return text.strip() + "\n", page
