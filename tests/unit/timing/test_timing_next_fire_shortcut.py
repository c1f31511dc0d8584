"""next_fire's shortcut for a lone elapsed-time interval gives exactly what the general walk
through the engine gives (Hypothesis, over zones with and without DST and windows)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import CompiledSchedule, compile_schedule

ZONES = ("", "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata")
MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC)
)


def _general(schedule: CompiledSchedule, after: datetime) -> object:
    return next(schedule.fires(after), None)


@settings(max_examples=400, deadline=None)
@given(
    every=st.integers(min_value=1, max_value=10 * 86_400),
    offset_fraction=st.floats(min_value=0, max_value=0.999),
    zone=st.sampled_from(ZONES),
    start=st.none() | MOMENTS,
    end=st.none() | MOMENTS,
    afters=st.lists(MOMENTS, min_size=1, max_size=5),
)
def test_lone_interval_shortcut_matches_the_engine(
    every: int,
    offset_fraction: float,
    zone: str,
    start: datetime | None,
    end: datetime | None,
    afters: list[datetime],
) -> None:
    if start is not None and end is not None and end <= start:
        start, end = end, start + timedelta(seconds=1)
    rules = ScheduleRules(
        intervals=(
            ScheduleInterval(
                every=timedelta(seconds=every),
                offset=timedelta(seconds=int(every * offset_fraction)),
            ),
        ),
        timezone=zone,
        start_time=start,
        end_time=end,
    )
    try:
        schedule = compile_schedule(rules, min_interval=timedelta(0))
    except InvalidArgumentError:
        reject()
    # Whole-day intervals keep their wall-clock time, so they take the general walk.
    assert (schedule._progression is None) == (every % 86_400 == 0)
    for after in afters:
        assert schedule.next_fire(after) == _general(schedule, after)
        # Walking on from each fire, as the firing engine does.
        fire = schedule.next_fire(after)
        for _ in range(3):
            if fire is None:
                break
            following = schedule.next_fire(fire.nominal)
            assert following == _general(schedule, fire.nominal)
            fire = following


@pytest.mark.parametrize(
    "rules",
    [
        ScheduleRules(intervals=(ScheduleInterval(every=timedelta(days=1)),)),
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(minutes=5)),),
            calendars=(ScheduleCalendar(hour=(ScheduleRange(9),)),),
        ),
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(minutes=5)),),
            exclude_calendars=(ScheduleCalendar(hour=(ScheduleRange(9),)),),
        ),
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(minutes=5)),),
            jitter=timedelta(seconds=30),
        ),
        ScheduleRules(
            intervals=(
                ScheduleInterval(every=timedelta(minutes=5)),
                ScheduleInterval(every=timedelta(minutes=7)),
            ),
        ),
    ],
    ids=["whole days", "with a calendar", "with an exclusion", "with jitter", "two intervals"],
)
def test_other_schedules_take_the_general_walk(rules: ScheduleRules) -> None:
    schedule = compile_schedule(rules, schedule_id="sched_x", min_interval=timedelta(0))
    assert schedule._progression is None
    after = datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC)
    assert schedule.next_fire(after) == _general(schedule, after)
