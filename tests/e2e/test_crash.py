"""Exactly once across crashes and replicas: real `sundial serve --roles engine` processes
killed with SIGKILL at random moments while 1,000 schedules fire every second. On SQLite one
engine is killed at least 10 times, every 2-6 s, over at least 40 s: each kill lands among
hundreds of fires in flight, so a fire committed twice or lost shows as a duplicate or a gap.
On PostgreSQL three replicas fire together and one is killed once and restarted."""

import random
import time

import pytest

from tests.e2e.workload import create_workload, kill, start_engine, stop, verify

SCHEDULES = 1000
KILLS = 10
MIN_RUN_SECONDS = 40

pytestmark = pytest.mark.slow(seconds=60)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    create_workload(url, SCHEDULES)
    chaos = random.Random(20261122)
    started = time.monotonic()
    kills = 0
    process = start_engine(url)
    # Real time is the point here: the engine fires on the wall clock while it is killed.
    while kills < KILLS or time.monotonic() - started < MIN_RUN_SECONDS:
        time.sleep(chaos.uniform(2.0, 6.0))
        kill(process)
        kills += 1
        process = start_engine(url)
    time.sleep(3)
    assert stop(process) == 0

    verdict = verify(url)
    print(f"crash test: {kills} SIGKILLs over {time.monotonic() - started:.0f}s: {verdict}")
    assert verdict.schedules == SCHEDULES
    assert verdict.duplicates == 0
    assert verdict.gaps == 0
    assert verdict.fired_seconds >= SCHEDULES * MIN_RUN_SECONDS // 2


@pytest.mark.postgres
def test_three_replicas_on_postgresql_one_killed_and_restarted(postgres_cluster):
    url = postgres_cluster.create_database("replicas", template="sundial_template")
    create_workload(url, SCHEDULES)
    replicas = [start_engine(url) for _ in range(3)]
    time.sleep(6)
    kill(replicas[1])
    time.sleep(3)
    replicas[1] = start_engine(url)
    time.sleep(6)
    assert [stop(process) for process in replicas] == [0, 0, 0]

    verdict = verify(url)
    print(f"replica test: {verdict}")
    assert verdict.schedules == SCHEDULES
    assert verdict.duplicates == 0
    assert verdict.gaps == 0
    assert verdict.fired_seconds >= SCHEDULES * 8
