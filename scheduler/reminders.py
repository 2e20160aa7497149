"""Which reminder offsets apply to an event (pure; the planner and the ICS export share it)."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.template import TemplateEvent


def reminder_offsets(
    event: TemplateEvent,
    council_offsets: Sequence[int] | None,
    default_offsets: Sequence[int],
) -> tuple[int, ...]:
    """Working days before the event at which to remind, most distant first.

    The template event's own list wins (a meeting needs other notice than a
    deadline); then the council's list from config.toml; then the global default.
    """
    chosen = event.reminders if event.reminders is not None else council_offsets
    if chosen is None:
        chosen = default_offsets
    return tuple(sorted(set(chosen), reverse=True))
