"""What ``aarshjul run`` tells a person at start: where everything is, and how to stop.

A secretary who follows the README sees which configuration file was read, which
database is used (never its password), where e-mail goes, whether Slack is on (and,
if off, what is missing), the address of ``/healthz``, and that Ctrl-C stops it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Config
from bot.i18n import t


def _database(url: str) -> str:
    """The URL without its password; an SQLite file by its absolute path."""
    try:
        parsed = make_url(url)
    except Exception:  # a URL SQLAlchemy cannot parse: show only its scheme
        return url.split("://", 1)[0] + "://…"
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database or "").resolve()))
    return parsed.render_as_string(hide_password=True)


def _slack(config: Config, transport: str, mode: str, http: str, lang: str) -> str:
    secrets = config.secrets
    if transport == "socket":
        return t(lang, "run.start.slack_socket")
    if transport == "http":
        return t(lang, "run.start.slack_http", url=http + config.settings.slack.path)
    if secrets.slack_bot_token is None:
        return t(lang, "run.start.slack_off", missing="SLACK_BOT_TOKEN")
    # A bot token without a way in: messages go out, nothing comes back.
    if mode == "off":
        return t(lang, "run.start.slack_send_only_mode")
    inbound = t(lang, "run.start.slack_or", first="SLACK_APP_TOKEN", second="SLACK_SIGNING_SECRET")
    return t(lang, "run.start.slack_send_only", missing=inbound)


def _inbound(config: Config, lang: str) -> list[str]:
    """The mailbox ``aarshjul run`` reads, when ``[inbound] backend = "imap"``."""
    inbound = config.settings.inbound
    if inbound.backend != "imap":
        return []
    return [
        t(
            lang,
            "inbound.start.imap",
            host=inbound.host,
            port=inbound.port,
            tls=inbound.tls,
            folder=inbound.folder,
            done=inbound.done_folder,
            failed=inbound.failed_folder,
        )
    ]


def start_lines(config: Config, *, transport: str, mode: str, http: str) -> list[str]:
    """The start-up summary, one line each, in the configured language.

    Args:
        transport: what :func:`bot.runner.slack_mode` chose (``socket``, ``http``, ``off``).
        mode: what was asked for (``--mode``).
        http: the HTTP server's base address as bound, e.g. ``http://127.0.0.1:3000``.
    """
    settings = config.settings
    lang = settings.general.language.value
    source = config.source
    if Path(source).is_file():
        source = str(Path(source).resolve())
    email = settings.email
    if email.backend == "smtp" and email.host:
        mail = t(lang, "run.start.mail_smtp", host=email.host, port=email.port, tls=email.tls)
    else:
        mail = t(lang, "run.start.mail_files", folder=Path(email.folder).resolve())
    return [
        t(lang, "run.start.config", source=source),
        t(lang, "run.start.database", url=_database(settings.database.url)),
        mail,
        _slack(config, transport, mode, http, lang),
        *_inbound(config, lang),
        t(lang, "run.start.healthz", url=f"{http}/healthz"),
        t(lang, "run.start.stop"),
    ]
