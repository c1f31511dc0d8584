"""FutureFires: the future fire times of a batch's drafts, walked once per distinct rules
unless jitter makes them the schedule's own."""

from datetime import UTC, datetime, timedelta

from sundial.domain.schedules import ScheduleInterval, ScheduleRules
from sundial.service.schedule_drafts import FutureFires
from sundial.timing import compile_schedule

NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
HOURLY = ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=1)),))
JITTERED = ScheduleRules(
    intervals=(ScheduleInterval(every=timedelta(hours=1)),), jitter=timedelta(minutes=30)
)


def _fires(future: FutureFires, rules: ScheduleRules, schedule_id: str, after=NOW):
    return future.of(compile_schedule(rules, schedule_id=schedule_id), rules, after)


def test_equal_rules_without_jitter_are_walked_once_and_match_a_walk_of_their_own():
    future = FutureFires(10)
    first = _fires(future, HOURLY, "sched_a")
    assert _fires(future, ScheduleRules(intervals=HOURLY.intervals), "sched_b") is first
    assert first == compile_schedule(HOURLY, schedule_id="sched_b").fire_times(NOW, 10)
    assert len(first) == 10
    assert first[0].at == datetime(2026, 3, 2, 13, tzinfo=UTC)


def test_another_moment_is_walked_anew():
    future = FutureFires(10)
    first = _fires(future, HOURLY, "sched_a")
    later = _fires(future, HOURLY, "sched_a", NOW + timedelta(hours=1))
    assert later[0].at == first[1].at


def test_jittered_rules_are_each_schedule_s_own():
    future = FutureFires(10)
    a, b = _fires(future, JITTERED, "sched_a"), _fires(future, JITTERED, "sched_b")
    assert a == compile_schedule(JITTERED, schedule_id="sched_a").fire_times(NOW, 10)
    assert b == compile_schedule(JITTERED, schedule_id="sched_b").fire_times(NOW, 10)
    assert [f.nominal for f in a] == [f.nominal for f in b]
    assert [f.at for f in a] != [f.at for f in b]
