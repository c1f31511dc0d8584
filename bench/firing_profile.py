"""Where FiringService.fire_due spends its time per fire: cProfile over a few batches.

Two passes over the same due schedules (interval 60 s, ALLOW): "cold" is each schedule's
first fire since the service started (its spec text is read; all share one document, which
is decoded and compiled once), "warm" the next minute's fire of the same schedules (each
schedule's entry cached). For each pass it prints the
cost per fire of the steps of fire_due, then the top functions by own time.

Run: .venv/bin/python bench/firing_profile.py [--schedules 5000] [--postgresql]"""

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(ROOT / "src"), str(ROOT)]

from firing_setup import Group, insert_schedules, interval_spec, minute_floor, prepare  # noqa: E402

from sundial.domain.clock import FakeClock  # noqa: E402
from sundial.service.firing import FiringService  # noqa: E402
from sundial.store.database import Database  # noqa: E402
from tests.support import postgres  # noqa: E402

# (label, file suffix, function): the steps of one fire_due, cumulative time of each.
STEPS = (
    ("fire_due (the whole batch)", "service/firing.py", "fire_due"),
    ("spec decode + compile (cache miss)", "service/firing.py", "_entries_for"),
    ("  compile_schedule", "timing/compiler.py", "compile_schedule"),
    ("  from_json (spec decode)", "store/codec.py", "from_json"),
    ("plan_fires (total)", "engine/planner.py", "plan_fires"),
    ("  CompiledSchedule.next_fire", "timing/schedule.py", "next_fire"),
    ("  new_id (ULID)", "domain/ids.py", "new_id"),
    ("SELECT due ... (lock_due)", "store/firing.py", "lock_due"),
    ("INSERT objectives (insert_fires)", "store/firing.py", "insert_fires"),
    ("UPDATE schedules (advance)", "store/firing.py", "advance"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=5_000)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    cluster = None
    with tempfile.TemporaryDirectory(prefix="sundial-bench-profile-") as temp:
        if args.postgresql:
            cluster = postgres.PostgresCluster()
            cluster.start()
            url = cluster.create_database("profile")
        else:
            url = f"sqlite:///{Path(temp) / 'profile.sqlite'}"
        try:
            _profile(url, args.schedules, args.top)
        finally:
            if cluster is not None:
                cluster.stop()


def _profile(url: str, count: int, top: int) -> None:
    due_at = minute_floor(datetime.now(UTC)) - timedelta(minutes=5)
    insert_schedules(prepare(url), [Group(count, interval_spec(timedelta(seconds=60)), due_at)])
    database = Database(url)
    clock = FakeClock(due_at + timedelta(seconds=30))
    service = FiringService(database, clock, batch_size=500)
    try:
        for label in ("cold", "warm"):
            profiler = cProfile.Profile()
            fired = 0
            started = time.perf_counter()
            profiler.enable()
            while (result := service.fire_due()).schedules:
                fired += result.created
            profiler.disable()
            elapsed = time.perf_counter() - started
            _print(label, profiler, fired, elapsed, top)
            clock.advance(timedelta(seconds=60))
    finally:
        database.dispose()


def _print(label: str, profiler: cProfile.Profile, fired: int, elapsed: float, top: int) -> None:
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
    print(
        f"\n== {label}: {fired:,} fires, {elapsed / fired * 1e6:,.0f} us/fire under the "
        f"profiler ({fired / elapsed:,.0f}/s); profiled own time {total / fired * 1e6:,.0f} us/fire"
    )
    print("   step of fire_due (cumulative)                 us/fire   share")
    for name, suffix, function in STEPS:
        cumulative = sum(
            entry[3]
            for (path, _, func), entry in table.items()
            if func == function and path.endswith(suffix)
        )
        print(f"   {name:<44} {cumulative / fired * 1e6:8,.0f}   {cumulative / total:5.1%}")
    print(f"   top {top} functions by own time        us/fire   share   calls/fire")
    ranked = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (path, line, func), (_, calls, own, _, _) in ranked:
        where = _short(path)
        print(
            f"   {where}:{line}({func})"[:88].ljust(88)
            + f" {own / fired * 1e6:7,.1f}  {own / total:5.1%}  {calls / fired:7.2f}"
        )


def _short(path: str) -> str:
    for marker in ("/src/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return re.sub(r".*/lib/python3\.\d+/", "", path)


if __name__ == "__main__":
    main()
