"""What every use case needs, assembled once: configuration, database, clock, template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from bot.config import Config
from scheduler.clock import Clock, local_today
from scheduler.template import CycleTemplate, load_template
from scheduler.workdays import WorkingCalendar
from storage.db import Database


@dataclass
class AppContext:
    """The assembled application; build it with :func:`open_app`."""

    config: Config
    db: Database
    clock: Clock
    template: CycleTemplate
    calendar: WorkingCalendar

    @property
    def language(self) -> str:
        return self.config.settings.general.language.value

    @property
    def tz(self) -> ZoneInfo:
        return self.config.settings.general.tz

    def today(self) -> date:
        return local_today(self.clock, self.tz)


@asynccontextmanager
async def open_app(config: Config, clock: Clock) -> AsyncIterator[AppContext]:
    """Load the template and open the database; close it again on exit.

    The template is parsed before the database is touched, so a broken template
    stops start-up without changing anything.
    """
    template = load_template(config.settings.general.template)
    calendar = config.settings.calendar.working_calendar()
    database = config.settings.database
    db = Database(
        database.url, pool_size=database.pool_size, pool_timeout=database.pool_timeout_seconds
    )
    try:
        yield AppContext(config=config, db=db, clock=clock, template=template, calendar=calendar)
    finally:
        await db.dispose()
