"""E-mail bodies from Jinja2 templates: one plain-text and one HTML layout.

The words come from the catalogue (in the reader's language); the templates
only lay them out. HTML autoescapes every value, so a title or a name can never
become markup.
"""

from __future__ import annotations

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


def render_email(body: EmailBody) -> tuple[str, str]:
    """The plain-text and the HTML alternative."""
    env = _environment()
    values = {
        "subject": body.subject,
        "text": body.text.replace("*", ""),
        "paragraphs": [p for p in body.text.replace("*", "").split("\n") if p.strip()],
        "facts": [f.replace("*", "") for f in body.facts],
        "details": body.details,
        "footer": body.footer,
        "language": body.language,
    }
    text = env.get_template("email.txt.j2").render(values)
    page = env.get_template("email.html.j2").render(values)
    return text.strip() + "\n", page
