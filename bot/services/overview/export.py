"""The overview as data (JSON), as a spreadsheet (CSV, every cell inert) and as text.

The web page, the CLI, App Home and the weekly e-mail all start from
:func:`overview_dict`, so they cannot disagree about a cell.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.i18n import t
from bot.services.overview.cells import Cell, CellState, RegionOverview
from bot.text import inert_cell


def cell_dict(cell: Cell | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    out: dict[str, Any] = {
        "state": cell.state.value,
        "date": cell.on.isoformat() if cell.on else None,
    }
    if cell.invited is not None:
        out["answered"] = cell.answered
        out["invited"] = cell.invited
    return out


def overview_dict(view: RegionOverview) -> dict[str, Any]:
    """Everything the overview shows, as JSON-ready data (dates ISO 8601, Copenhagen)."""
    return {
        "council": view.rbr_key,
        "name": view.rbr_name,
        "year": view.year,
        "today": view.today.isoformat(),
        "milestones": [m.key for m in view.milestones],
        "councils": [
            {
                "council": row.key,
                "name": row.name,
                "cells": {key: cell_dict(cell) for key, cell in row.cells.items()},
                "deviations": [
                    {
                        "measure": d.measure,
                        "name": d.name_da,
                        "since": d.since,
                        "deviation": d.deviation,
                    }
                    for d in row.deviations
                ],
                "recommendations": [
                    {
                        "id": r.id,
                        "title": r.title,
                        "sent": r.sent_on.isoformat() if r.sent_on else None,
                    }
                    for r in row.recommendations
                ],
            }
            for row in view.rows
        ],
        "totals": {state.value: n for state, n in view.totals().items()},
    }


def cell_text(cell: Cell | None, language: str) -> str:
    """``udført 2027-03-04 (7/9)``: the state word, the date, and the answer share."""
    if cell is None:
        return "–"
    parts = [t(language, f"overview.state.{cell.state.value}")]
    if cell.on is not None:
        parts.append(cell.on.isoformat())
    if cell.invited:
        parts.append(f"({cell.answered}/{cell.invited})")
    return " ".join(parts)


def headers(view: RegionOverview, language: str) -> list[str]:
    return [
        t(language, "overview.col.council"),
        *(t(language, f"overview.milestone.{m.key}") for m in view.milestones),
        t(language, "overview.col.deviations"),
        t(language, "overview.col.recommendations"),
    ]


def rows(view: RegionOverview, language: str) -> list[list[str]]:
    return [
        [
            row.name,
            *(cell_text(row.cells.get(m.key), language) for m in view.milestones),
            str(len(row.deviations)),
            str(len(row.recommendations)),
        ]
        for row in view.rows
    ]


def overview_csv(view: RegionOverview, language: str) -> str:
    """One header row and one row per LBR; the council key first so scripts can join on it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [inert_cell(h) for h in [t(language, "overview.col.key"), *headers(view, language)]]
    )
    for row, cells in zip(view.rows, rows(view, language), strict=True):
        writer.writerow([inert_cell(v) for v in [row.key, *cells]])
    return buffer.getvalue()


def summary_line(view: RegionOverview, language: str) -> str:
    totals = view.totals()
    return t(
        language,
        "overview.summary",
        region=view.rbr_name,
        year=view.year,
        councils=len(view.rows),
        done=totals[CellState.DONE],
        late=totals[CellState.LATE],
        open=totals[CellState.OPEN],
        coming=totals[CellState.COMING],
    )
