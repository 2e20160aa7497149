"""The bot's web pages (issue 15): the region's overview, a council's page, signing in.

Server-rendered HTML from Jinja2 templates in ``bot/templates/web`` (no front-end
build). :mod:`.session` signs the cookies, :mod:`.access` decides what a person may
see, :mod:`.signin` signs people in (Sign in with Slack, or a one-time link by
e-mail), :mod:`.pages` serves the pages. Without a session a page shows the sign-in,
never data; a share link shows one region's overview read-only.
"""

from bot.config import Config


def public_base_url(config: Config) -> str:
    """Where people reach the pages: ``[web] public_url``, else the HTTP server's address."""
    if config.settings.web.public_url:
        return config.settings.web.public_url.rstrip("/")
    server = config.settings.server
    return f"http://{server.host}:{server.port}"
