"""What the handlers share: turning errors into replies, and reading Slack payloads."""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import error_text, t
from bot.observability import log_event
from scheduler.errors import AarshjulError, PermissionDenied

log = logging.getLogger("aarshjul.slack")


def refusal(exc: AarshjulError, language: str, *, user: str, action: str) -> str:
    """The reader's text for an error; refusals are logged with who and what."""
    if isinstance(exc, PermissionDenied):
        log_event(log, "refused", logging.WARNING, user=user, action=action, why=str(exc))
    return t(language, "slack.error", message=error_text(exc, language))


def words(text: str | None) -> list[str]:
    return (text or "").split()


def selected(values: dict[str, Any], block: str) -> str | None:
    """The value of a select or radio input in a submitted view."""
    element = (values.get(block) or {}).get(block) or {}
    option = element.get("selected_option")
    if option:
        return str(option.get("value"))
    for name in ("selected_date", "selected_user", "value"):
        if element.get(name):
            return str(element[name])
    return None


def selected_users(values: dict[str, Any], block: str) -> list[str]:
    element = (values.get(block) or {}).get(block) or {}
    return [str(u) for u in element.get("selected_users") or []]


def mention_user(text: str) -> str | None:
    """``<@U123|name>`` or ``<@U123>`` → ``U123``."""
    if text.startswith("<@") and text.endswith(">"):
        return text[2:-1].split("|", 1)[0]
    return None
