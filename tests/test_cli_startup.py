"""The CLI starts without the runtime it does not use (issue 12, point 17).

Each command runs as a whole process, as a person runs it, and reports which
modules it loaded: ``--help`` must not load Slack, aiohttp, Alembic or SQLAlchemy;
``cycle show`` needs the database but neither Slack, aiohttp nor Alembic. The timing
figures are in ``benchmarks/cli_startup.py``; these tests pin the cause, which does
not depend on the machine's load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import holidays
import pytest

from tests.cli_runner import Cli
from tests.conftest import REPO

#: Runs the console script's entry point, then prints the top-level packages loaded
#: and the garbage collector's state (on again, with the start-up frozen).
PROBE = """
import gc, json, sys
from bot.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
modules = sorted({m.split(".")[0] for m in sys.modules})
found = {"modules": modules, "gc": gc.isenabled(), "frozen": gc.get_freeze_count()}
print("\\n@@probe " + json.dumps(found))
sys.exit(code)
"""

HELP_MUST_NOT_LOAD = {"slack_bolt", "slack_sdk", "aiohttp", "alembic", "sqlalchemy", "sqlmodel"}
SHOW_MUST_NOT_LOAD = {"slack_bolt", "slack_sdk", "aiohttp", "alembic", "icalendar"}


def python(
    code: str, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter on this source tree; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done


def loaded_by(args: list[str], cwd: Path, **env: str) -> tuple[str, set[str], dict[str, Any]]:
    """Run ``aarshjul ARGS`` in a fresh interpreter: its output, the packages it loaded
    and the garbage collector's state at the end."""
    done = python(PROBE, *args, cwd=cwd, **env)
    output, _, probe = done.stdout.rpartition("\n@@probe ")
    found = json.loads(probe)
    return output, set(found.pop("modules")), found


@pytest.mark.parametrize("args", [["--help"], ["cycle", "--help"], ["seminar", "create", "--help"]])
def test_help_loads_neither_slack_nor_aiohttp_nor_alembic_nor_sqlalchemy(
    args: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    output, modules, collector = loaded_by(args, tmp_path, AARSHJUL_CONFIG=str(config))
    assert "Usage:" in output
    assert modules & HELP_MUST_NOT_LOAD == set()
    assert collector["gc"] is True  # main() turns it off for start-up only


def test_cycle_show_loads_neither_slack_nor_aiohttp_nor_alembic(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(REPO / "config.toml", config)
    url = f"sqlite+aiosqlite:///{tmp_path / 'aarshjul.db'}"
    Cli(url, config).ok("init")
    output, modules, collector = loaded_by(
        ["cycle", "show", "--council", "lbr-gribskov", "--year", "2027"],
        tmp_path,
        AARSHJUL_CONFIG=str(config),
        DATABASE_URL=url,
    )
    assert "Kommunalbestyrelsen vedtager beskæftigelsesplanen" in output  # the stored year
    assert "sqlalchemy" in modules
    assert modules & SHOW_MUST_NOT_LOAD == set()
    # The collector is on again for the command's work, with the start-up frozen.
    assert collector["gc"] is True
    assert collector["frozen"] > 10_000


def test_migration_head_without_alembic_is_alembics_head() -> None:
    from storage.db import _alembic_head, migration_head

    migration_head.cache_clear()
    assert migration_head() == _alembic_head() != ""


async def test_a_database_behind_the_newest_migration_is_refused(database_url: str) -> None:
    """``check_schema`` reads the revision without Alembic: older, newer, none all refused."""
    from sqlalchemy import text

    from storage.db import Database, DatabaseError, migration_head

    database = Database(database_url)
    try:
        await database.upgrade()
        await database.check_schema()
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        with pytest.raises(DatabaseError) as info:
            await database.check_schema()
        assert info.value.key == "db.not_initialised"
        assert info.value.params == {"current": "0001", "head": migration_head()}
    finally:
        await database.dispose()


def test_danish_holidays_load_alone_and_are_the_packages_own() -> None:
    """Dating a day loads only the Danish module of ``holidays``, not all ~280 countries,
    and gives exactly what ``holidays.Denmark`` gives, 2000-2100, in both languages."""
    probe = """
import json, sys
from datetime import date
from scheduler.workdays import _public_holidays, public_holiday_name
public_holiday_name(date(2027, 3, 25), "da")
days = {lang: {str(y): {d.isoformat(): n for d, n in _public_holidays(y, lang).items()}
               for y in range(2000, 2101)} for lang in ("da", "en_US")}
print(json.dumps({"countries": "holidays.countries" in sys.modules, "days": days}))
"""
    done = python(probe)
    found = json.loads(done.stdout)
    assert found["countries"] is False
    for language, years in found["days"].items():
        for year, days in years.items():
            theirs = holidays.Denmark(years=int(year), language=language)
            assert days == {d.isoformat(): n for d, n in theirs.items()}, (language, year)
    assert found["days"]["da"]["2027"]["2027-03-25"] == "Skærtorsdag"


def test_alembic_loaded_after_logging_is_configured_adds_no_start_up_lines() -> None:
    """``aarshjul run`` configures logging first and imports Alembic when it upgrades the
    schema: the plugin set-up Alembic logs on import stays out of the run's log."""
    probe = (
        "from bot.observability import configure_logging\n"
        "configure_logging('INFO', 'text')\n"
        "import alembic.command\n"
        "import logging\n"
        "logging.getLogger('alembic.runtime.migration').info('still shown')\n"
    )
    done = python(probe)
    log = done.stdout + done.stderr
    assert "still shown" in log
    assert "setup plugin" not in log
