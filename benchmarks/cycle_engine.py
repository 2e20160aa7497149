"""How fast the cycle engine dates a national year, against a bare-library baseline.

Prints figures, asserts nothing. Workload: the default template for 95 councils
(91 LBR, 4 RBR, as the Danish system had) for every year 2000–2100. Baseline in the
same run: the least any engine must do for those dates with the ``holidays``
package alone: find each event's raw date's previous working day by direct lookups.

    python benchmarks/cycle_engine.py
"""

from __future__ import annotations

import platform
import time
import tracemalloc
from datetime import date, timedelta

import holidays

from scheduler.cycle import compute_cycle
from scheduler.model import CouncilKind
from scheduler.template import load_template
from scheduler.workdays import WorkingCalendar

YEARS = range(2000, 2101)
COUNCILS = [CouncilKind.LBR] * 91 + [CouncilKind.RBR] * 4


def engine_run() -> int:
    template = load_template("default")
    calendar = WorkingCalendar()
    count = 0
    for year in YEARS:
        for kind in COUNCILS:
            count += len(compute_cycle(template, year, calendar, kind=kind))
    return count


def baseline_run(events_per_council: dict[CouncilKind, int]) -> int:
    closed = {(6, 5), (12, 24), (12, 31)}
    count = 0
    for year in YEARS:
        public = holidays.Denmark(years=year)
        for kind in COUNCILS:
            for i in range(events_per_council[kind]):
                day = date(year, 1 + i % 12, 15)
                while day.weekday() >= 5 or day in public or (day.month, day.day) in closed:
                    day -= timedelta(days=1)
                count += 1
    return count


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    template = load_template("default")
    per_kind = {k: sum(1 for e in template.events.values() if e.applies(k)) for k in CouncilKind}
    engine_run()  # warm the holiday cache as a long-running process would have it
    events, engine_s = timed(engine_run)
    tracemalloc.start()  # measured in a separate run: tracing slows everything down
    engine_run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    base_events, base_s = timed(baseline_run, per_kind)
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}"
    )
    print(f"workload: {len(COUNCILS)} councils x {len(YEARS)} years = {events} dated events")
    print(
        f"engine:   {engine_s:.2f} s  ({events / engine_s:,.0f} events/s), "
        f"peak traced memory {peak / 1e6:.1f} MB"
    )
    print(
        f"baseline: {base_s:.2f} s  ({base_events / base_s:,.0f} events/s, holidays lookups only)"
    )
    print(f"ratio engine/baseline throughput: {(events / engine_s) / (base_events / base_s):.2f}")
    _, one_s = timed(
        lambda: sum(len(compute_cycle(template, 2027, WorkingCalendar(), kind=k)) for k in COUNCILS)
    )
    print(f"one national year (what `aarshjul init` computes per year): {one_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
