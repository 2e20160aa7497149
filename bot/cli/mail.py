"""``aarshjul mail ingest [FILE]``: one inbound message from a file or standard input.

An MTA can pipe mail to it (as Mailman, RT and Discourse's receiver are run); it takes
the path the IMAP reader takes, so a message read both ways is handled once.
"""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from bot.cli.common import CliState, fail, run
from bot.i18n import t, user_error
from scheduler.errors import InputError

if TYPE_CHECKING:
    from bot.services.app import AppContext

#: How much of a message too big to handle is kept to read its Message-ID.
HEADER_BYTES = 64 * 1024
#: sysexits.h EX_TEMPFAIL: the database is unreachable or a handler failed, so nothing
#: was recorded; a mail server that piped the message keeps it and delivers it again
#: later (Postfix's pipe and local, Exim, sendmail) instead of bouncing it to the sender.
EX_TEMPFAIL = 75


def register(app: typer.Typer, state: CliState) -> None:
    lang = state.language
    group = typer.Typer(help=t(lang, "cli.help.mail"), no_args_is_help=True)
    app.add_typer(group, name="mail")

    @group.command("ingest", help=t(lang, "cli.help.mail_ingest"))
    def ingest_command(
        file: Annotated[
            Path,
            typer.Argument(help=t(lang, "cli.help.mail_file"), show_default=False, metavar="FILE"),
        ] = Path("-"),
    ) -> None:
        async def body(ctx: "AppContext") -> int:
            from bot.services.inbound.message import Disposition
            from bot.services.inbound.pipeline import (
                handle_raw,
                line_text,
                purge_raw,
                refuse_unread,
            )
            from storage.db import explain, unavailable

            limit = ctx.config.settings.inbound.max_bytes
            data, size = _read(file, limit)
            try:
                if len(data) > limit:
                    header = _header(data)
                    outcome = await refuse_unread(ctx, header=header, size=size, source="file")
                else:
                    outcome = await handle_raw(ctx, data, "file")
                await purge_raw(ctx)
            except Exception as exc:
                if not unavailable(exc):
                    raise
                why = explain(exc, ctx.config.settings.database.url)
                fail(t(ctx.language, "db.unreachable", why=why), ctx.language, EX_TEMPFAIL)
            if outcome.kind == "error":  # a handler failed; nothing was recorded
                error = str(outcome.params.get("error", ""))
                typer.echo(t(ctx.language, "inbound.ingest.retry", error=error))
                return EX_TEMPFAIL
            typer.echo(line_text(outcome, ctx.language))
            return 1 if outcome.disposition is Disposition.FAILED else 0

        run(state, body, unavailable_code=EX_TEMPFAIL)


def _read(file: Path, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` + 1 bytes of the message, and its size (at least that)."""
    name = str(file)
    try:
        if name == "-":
            return _bounded(sys.stdin.buffer, limit)
        with file.open("rb") as stream:
            data, size = _bounded(stream, limit)
            if file.is_file():
                size = max(size, file.stat().st_size)
            return data, size
    except OSError as exc:
        raise user_error(
            InputError, "inbound.ingest.cannot_read", file=name, why=exc.strerror or str(exc)
        ) from None


def _bounded(stream: BinaryIO, limit: int) -> tuple[bytes, int]:
    data = stream.read(limit + 1)
    size = len(data)
    if size > limit:  # count the rest without keeping it
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
    return data, size


def _header(data: bytes) -> bytes:
    head = data[:HEADER_BYTES]
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = head.find(separator)
        if found != -1:
            return head[: found + len(separator)]
    return head
