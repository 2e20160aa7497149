"""``aarshjul cycle wheel``: the council's year drawn as a wheel, PNG or SVG."""
# No "from __future__ import annotations": Typer evaluates these closures' annotations.

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import CliState, run
from bot.i18n import t, user_error
from scheduler.errors import InputError

if TYPE_CHECKING:
    from bot.services.app import AppContext

FORMATS = {".png": "png", ".svg": "svg"}


def image_format(out: Path | None) -> str:
    """The format ``out``'s extension names (PNG without a file).

    Raises:
        InputError: neither .png nor .svg.
    """
    if out is None:
        return "png"
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise user_error(InputError, "wheel.cli.bad_out", path=str(out))
    return fmt


def register(group: typer.Typer, state: CliState) -> None:
    """``wheel`` in the ``cycle`` group."""
    lang = state.language

    @group.command("wheel", help=t(lang, "wheel.help.wheel"))
    def wheel(
        council: Annotated[str, typer.Option("--council", help=t(lang, "cli.help.council"))],
        year: Annotated[int | None, typer.Option("--year", help=t(lang, "cli.help.year"))] = None,
        out: Annotated[Path | None, typer.Option("--out", help=t(lang, "wheel.help.out"))] = None,
    ) -> None:
        async def body(ctx: "AppContext") -> None:
            from bot.services.wheel.year import council_wheel

            fmt = image_format(out)
            if out is None and sys.stdout.isatty():
                # A PNG on a terminal is noise: say what to do instead.
                raise user_error(InputError, "wheel.cli.terminal")
            drawn = await council_wheel(ctx, council, year, fmt=fmt)
            if out is None:
                sys.stdout.flush()
                sys.stdout.buffer.write(drawn.image)
                sys.stdout.buffer.flush()
                return
            try:
                out.write_bytes(drawn.image)
            except OSError as exc:
                raise user_error(
                    InputError, "wheel.cli.cannot_write", path=str(out), why=exc.strerror or exc
                ) from None
            typer.echo(
                t(
                    ctx.language,
                    "wheel.cli.written",
                    council=drawn.council.name,
                    year=drawn.year,
                    path=str(out),
                    size=max(1, round(len(drawn.image) / 1024)),
                )
            )

        run(state, body)
