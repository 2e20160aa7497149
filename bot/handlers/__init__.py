"""Slack handlers, one module per surface: /hearing, /cycle, App Home.

Each module's ``register`` adds its listeners to the Bolt app and returns the
slash commands it answers; :func:`register_all` collects them so a test can
hold them against ``slack-manifest.yml``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handlers import cycle, hearing, home
from bot.slack_app import SlackDeps


def register_all(app: AsyncApp, deps: SlackDeps) -> list[str]:
    commands: list[str] = []
    for module in (hearing, cycle, home):
        commands += module.register(app, deps)
    app_commands = getattr(app, "aarshjul_commands", [])
    app_commands.extend(commands)
    app.aarshjul_commands = app_commands  # type: ignore[attr-defined]
    return commands
