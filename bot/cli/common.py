"""What every CLI command shares: loading config, running a use case, printing, failing."""

from __future__ import annotations

import asyncio
import gc
import getpass
import json
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from bot.config import Config, load_config
from bot.i18n import error_text, t, user_error
from bot.text import read_bounded
from scheduler.clock import Clock, SystemClock
from scheduler.errors import AarshjulError, InputError

if TYPE_CHECKING:
    # The database stack is imported by the commands that use it, when they run
    # (``run`` below), so ``aarshjul --help`` starts without SQLAlchemy.
    from bot.services.app import AppContext
    from bot.services.hearing_lists import Page


@dataclass
class CliState:
    """Built once per process; tests build their own with a fixed clock."""

    clock: Clock = field(default_factory=SystemClock)
    language: str = "da"
    #: Loaded once at start-up when it could be; otherwise each command loads it and
    #: reports what is wrong with it.
    config: Config | None = None
    #: ``-v``: errors a person can cause show their traceback too.
    debug: bool = False


def try_load_config() -> Config | None:
    """The configuration, or None if it is broken (the command will say why)."""
    try:
        return load_config()
    except AarshjulError:
        return None


def settle_start_up() -> None:
    """Turn the cyclic garbage collector back on once the heavy imports are done.

    :func:`bot.cli.main` turns it off while the command line starts: loading the
    database stack creates hundreds of thousands of long-lived objects (modules,
    classes, SQLAlchemy's and pydantic's machinery) that every full collection would
    walk again, about a fifth of a short command's time. ``gc.freeze()`` moves what is
    loaded so far out of the collector's sight for good (it lives as long as the
    process), so the command's own garbage is still collected and cheaply. Without
    ``main`` (tests build the app themselves) the collector is on and this does nothing.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def actor(by: str | None = None) -> str:
    """Who is acting, for the audit log: ``--by`` or the operating-system user."""
    if by and by.strip():
        return by.strip()[:200]
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # getpass raises various errors without a user database
        return "cli"


def fail(message: str, language: str, code: int = 1) -> NoReturn:
    typer.echo(f"{t(language, 'cli.error')}: {message}", err=True)
    raise typer.Exit(code)


def run(
    state: CliState,
    body: Callable[[AppContext], Awaitable[int | None]],
    *,
    require_schema: bool = True,
    unavailable_code: int = 1,
) -> None:
    """Load the configuration, open the app, run ``body``; turn our errors into exit 1
    (an unreachable database into ``unavailable_code``: ``mail ingest`` says 75, so the
    mail server that piped the message keeps it and tries again)."""
    from sqlalchemy.exc import DBAPIError

    from bot.services.app import open_app
    from storage.db import explain

    settle_start_up()
    try:
        config: Config = state.config or load_config()
    except AarshjulError as exc:
        fail(error_text(exc, state.language, "cli"), state.language)
    language = config.settings.general.language.value

    async def go() -> int | None:
        async with open_app(config, state.clock) as app:
            if require_schema:
                await app.db.check_schema()
            return await body(app)

    try:
        code = asyncio.run(go())
    except AarshjulError as exc:
        _trace_if_debug(state)
        gone = exc.key == "db.unreachable"
        fail(error_text(exc, language, "cli"), language, unavailable_code if gone else 1)
    except (DBAPIError, OSError) as exc:
        # The database went away mid-command (or refused us): one line, no traceback.
        _trace_if_debug(state)
        fail(
            t(language, "db.unreachable", why=explain(exc, config.settings.database.url)),
            language,
            unavailable_code,
        )
    if code:
        raise typer.Exit(code)


def read_import(file: Path, max_mb: float, language: str) -> bytes:
    """The bytes of a file to import, bounded: a regular file larger than ``max_mb`` is
    refused before it is read; ``-``, a pipe or a device is read through the same bound.

    Raises:
        InputError: too large, or it cannot be read (one line naming the file).
    """
    limit = int(max_mb * 1024 * 1024)
    name = str(file)
    try:
        if name == "-":
            data = read_bounded(sys.stdin.buffer, limit)
        else:
            if file.is_file() and file.stat().st_size > limit:
                raise user_error(InputError, "members.too_big", file=name, limit=_mb(max_mb))
            with file.open("rb") as stream:
                data = read_bounded(stream, limit)
    except OSError as exc:
        raise user_error(
            InputError, "members.cannot_read", file=name, why=exc.strerror or str(exc)
        ) from None
    if data is None:
        raise user_error(InputError, "members.too_big", file=name, limit=_mb(max_mb))
    return data


def _mb(value: float) -> str:
    return f"{value:g}"


def debugging(state: CliState) -> bool:
    """``-v`` on the command line or ``AARSHJUL_DEBUG=1``: tracebacks are shown."""
    return state.debug or os.environ.get("AARSHJUL_DEBUG", "") not in ("", "0")


def _trace_if_debug(state: CliState) -> None:
    if debugging(state):
        traceback.print_exc(file=sys.stderr)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Plain aligned columns: readable in a terminal, greppable in a script."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    typer.echo(line(headers))
    typer.echo(line(["-" * w for w in widths]))
    for row in rows:
        typer.echo(line(row))


def write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write_output(data: str | bytes, out: Path | None) -> None:
    """A command's document: to ``out`` when given (text as UTF-8), else to stdout
    (bytes, such as a .docx, to its binary stream).

    Raises:
        InputError: ``out`` cannot be written (one line naming the file and why).
    """
    if out is None:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_stdout(data)
        return
    try:
        out.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    except OSError as exc:
        raise user_error(
            InputError, "documents.error.cannot_write", file=str(out), why=exc.strerror or str(exc)
        ) from None


#: Rows fetched per query when a list command is asked for ``--all``.
ALL_CHUNK = 500


async def paged_rows(
    fetch: Callable[[int, int], Awaitable[Page[Any]]], page: int, every: bool, language: str
) -> list[Any]:
    """The rows a list command prints: one page of :data:`PAGE_SIZE`, or ``--all``.

    Both are SQL pages (``fetch(offset, limit)``), so a big table is never read at once;
    when a single page has more after it, a hint (on stderr, so ``--json`` output stays
    a plain list) says how to see the rest.
    """
    from bot.services.hearing_lists import PAGE_SIZE

    if every:
        rows: list[Any] = []
        offset: int | None = 0
        while offset is not None:
            chunk = await fetch(offset, ALL_CHUNK)
            rows += chunk.rows
            offset = chunk.next_offset
        return rows
    number = max(page, 1)
    result = await fetch((number - 1) * PAGE_SIZE, PAGE_SIZE)
    if result.next_offset is not None:
        first = result.offset + 1
        hint = t(
            language,
            "cli.more",
            first=first,
            last=result.offset + len(result.rows),
            next=number + 1,
        )
        typer.echo(hint, err=True)
    return result.rows


@dataclass(frozen=True)
class ListOptions:
    """The options of a list command (``--council``, ``--json``, ``--page``, ``--all``).

    Built once per language, so ``hearing list`` and ``seminar list`` offer the same
    flags with the same help.
    """

    council: Any
    json: Any
    page: Any
    every: Any


def list_options(language: str) -> ListOptions:
    """The Typer options of a list command, their help in ``language``."""
    return ListOptions(
        council=typer.Option("--council", help=t(language, "cli.help.council")),
        json=typer.Option("--json", help=t(language, "cli.help.json")),
        page=typer.Option("--page", min=1, help=t(language, "cli.help.page")),
        every=typer.Option("--all", help=t(language, "cli.help.all")),
    )


def go_ahead(warnings: Sequence[str], *, yes: bool, language: str, question: str) -> bool:
    """Print each warning on stderr; at a terminal ask ``question`` unless ``--yes``.
    In a script (no terminal) the warnings are printed and the command goes ahead,
    as ``hearing open`` does. False when the person at the terminal said no."""
    for warning in warnings:
        typer.echo(f"{t(language, 'hearing.warn.label')}: {warning}", err=True)
    if not warnings or yes or not at_terminal():
        return True
    return typer.confirm(question, err=True)


def at_terminal() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()
