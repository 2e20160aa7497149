"""The domain core: the annual-cycle engine, working-day calendar and clock.

Nothing in this package does I/O or reads the clock on its own; callers pass in
templates, calendars and a :class:`~scheduler.clock.Clock`.
"""
