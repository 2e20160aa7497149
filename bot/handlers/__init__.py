"""Slack handlers, one module per surface: /hearing, /cycle, App Home.

Each module's ``register`` adds its listeners to the Bolt app and returns the
slash commands it answers; :func:`register_all` collects them so a test can
hold them against ``slack-manifest.yml``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers import agenda as agenda_handler
from bot.handlers import cycle, hearing, hearing_answer, hearing_open, home, seminar
from bot.handlers import recommend as recommend_handler
from bot.slack_app import SlackDeps
from bot.slack_text import slack_t

log = logging.getLogger("aarshjul.slack")


def register_all(app: AsyncApp, deps: SlackDeps) -> list[str]:
    commands: list[str] = []

    @app.error
    async def unexpected(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
        """A bug or an outage (not a user's mistake): logged, and the user told to retry."""
        log.error("slack handler failed: %r", error, exc_info=error)
        if respond is not None and body.get("response_url"):
            user = body.get("user_id") or (body.get("user") or {}).get("id") or ""
            lang = deps.language(str(user))
            await respond(text=slack_t(lang, "slack.unexpected"), response_type="ephemeral")

    for module in (hearing, hearing_answer, hearing_open, cycle, seminar, home, agenda_handler):
        commands += module.register(app, deps)
    commands += recommend_handler.register(app, deps)
    app_commands = getattr(app, "aarshjul_commands", [])
    app_commands.extend(commands)
    app.aarshjul_commands = app_commands  # type: ignore[attr-defined]
    return commands
