"""Consecutive next-fire computations per second: Sundial's time engine vs croniter and
cronsim, measured in the same run (absolute numbers on shared machines are noise).

Each library compiles once, then steps N fires: Sundial `next(compiled.fires(start))`,
croniter `get_next(datetime)`, cronsim `next(it)`. Before timing, the first fires of all
three are compared, so the table never ranks engines that disagree.

Run: .venv/bin/python bench/timing.py  (needs croniter and cronsim; src/ on the path)."""

import heapq
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from croniter import croniter  # type: ignore[import-untyped]
from cronsim import CronSim

from sundial.domain.schedules import (
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import compile_schedule

FIRES = 10_000
REPEATS = 5
CHECKED_FIRES = 2_000


@dataclass(frozen=True)
class Case:
    name: str
    rules: ScheduleRules
    crons: tuple[str, ...]  # the closest cron equivalent (merged when more than one)
    zone: str
    note: str = ""


CASES = (
    Case(
        "*/5 * * * * (UTC)",
        ScheduleRules(cron_expressions=("*/5 * * * *",)),
        ("*/5 * * * *",),
        "UTC",
    ),
    Case(
        "0 9 * * 1-5 (America/New_York)",
        ScheduleRules(cron_expressions=("0 9 * * 1-5",), timezone="America/New_York"),
        ("0 9 * * 1-5",),
        "America/New_York",
    ),
    Case(
        "2 calendars + interval (UTC)",
        ScheduleRules(
            calendars=(
                ScheduleCalendar(
                    hour=(ScheduleRange(9),),
                    minute=(ScheduleRange(30),),
                    day_of_week=(ScheduleRange(1, 5),),
                ),
                ScheduleCalendar(
                    hour=(ScheduleRange(12),), day_of_week=(ScheduleRange(0), ScheduleRange(6))
                ),
            ),
            intervals=(ScheduleInterval(every=timedelta(hours=4)),),
        ),
        ("30 9 * * 1-5", "0 12 * * 0,6", "0 */4 * * *"),
        "UTC",
        "baselines merge one iterator per cron string (heapq.merge, duplicates dropped)",
    ),
)


def _unique(stream: Iterator[datetime]) -> Iterator[datetime]:
    last = None
    for moment in stream:
        if moment != last:
            yield moment
            last = moment


def sundial_stepper(case: Case, start: datetime) -> Callable[[], datetime]:
    fires = compile_schedule(case.rules).fires(start)
    return lambda: next(fires).nominal


def croniter_stepper(case: Case, start: datetime) -> Callable[[], datetime]:
    local = start.astimezone(ZoneInfo(case.zone))
    if len(case.crons) == 1:
        iterator = croniter(case.crons[0], local)
        return lambda: iterator.get_next(datetime)
    streams = [_croniter_stream(expression, local) for expression in case.crons]
    merged = _unique(heapq.merge(*streams))
    return lambda: next(merged)


def _croniter_stream(expression: str, start: datetime) -> Iterator[datetime]:
    iterator = croniter(expression, start)
    while True:
        yield iterator.get_next(datetime)


def cronsim_stepper(case: Case, start: datetime) -> Callable[[], datetime]:
    local = start.astimezone(ZoneInfo(case.zone))
    if len(case.crons) == 1:
        iterator = CronSim(case.crons[0], local)
        return lambda: next(iterator)
    merged = _unique(heapq.merge(*(CronSim(expression, local) for expression in case.crons)))
    return lambda: next(merged)


ENGINES: dict[str, Callable[[Case, datetime], Callable[[], datetime]]] = {
    "sundial": sundial_stepper,
    "croniter": croniter_stepper,
    "cronsim": cronsim_stepper,
}


def check_agreement(case: Case, start: datetime) -> None:
    results = {}
    for name, make in ENGINES.items():
        step = make(case, start)
        results[name] = [step().astimezone(UTC) for _ in range(CHECKED_FIRES)]
    for name, fires in results.items():
        if fires != results["sundial"]:
            first = next(
                i for i, (a, b) in enumerate(zip(fires, results["sundial"], strict=True)) if a != b
            )
            raise SystemExit(f"{case.name}: {name} disagrees with sundial at fire {first}")


def seconds_for(
    make: Callable[[Case, datetime], Callable[[], datetime]], case: Case, start: datetime
) -> float:
    step = make(case, start)  # compile outside the timed loop
    began = time.perf_counter()
    for _ in range(FIRES):
        step()
    return time.perf_counter() - began


def rates_for(case: Case, start: datetime) -> dict[str, float]:
    """Fires per second per engine; runs interleave so all engines share the machine's mood."""
    best = dict.fromkeys(ENGINES, math.inf)
    for _ in range(REPEATS):
        for name, make in ENGINES.items():
            best[name] = min(best[name], seconds_for(make, case, start))
    return {name: FIRES / seconds for name, seconds in best.items()}


def main() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for case in CASES:
        check_agreement(case, start)
        rates = rates_for(case, start)
        rows.append((case, rates))
    header = (
        f"{'case':34} {'sundial/s':>11} {'croniter/s':>11} {'cronsim/s':>11} "
        f"{'vs croniter':>12} {'vs cronsim':>11}"
    )
    print(f"{FIRES} consecutive fires per run, best of {REPEATS} interleaved runs per engine.")
    print("Sundial's per-zone day cache is process-wide, warm as in a running service.\n")
    print(header)
    print("-" * len(header))
    ratios_croniter, ratios_cronsim = [], []
    for case, rates in rows:
        over_croniter = rates["sundial"] / rates["croniter"]
        over_cronsim = rates["sundial"] / rates["cronsim"]
        ratios_croniter.append(over_croniter)
        ratios_cronsim.append(over_cronsim)
        print(
            f"{case.name:34} {rates['sundial']:11,.0f} {rates['croniter']:11,.0f} "
            f"{rates['cronsim']:11,.0f} {over_croniter:11.1f}x {over_cronsim:10.1f}x"
        )
    geo_croniter = math.prod(ratios_croniter) ** (1 / len(ratios_croniter))
    geo_cronsim = math.prod(ratios_cronsim) ** (1 / len(ratios_cronsim))
    print("-" * len(header))
    print(
        f"{'geometric mean':34} {'':11} {'':11} {'':11} {geo_croniter:11.1f}x {geo_cronsim:10.1f}x"
    )
    for case in CASES:
        if case.note:
            print(f"\nnote ({case.name}): {case.note}; cron equivalents: {', '.join(case.crons)}")


if __name__ == "__main__":
    main()
