from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sundial.domain.schedules import (
    AgentScheduleSpec,
    DstGapPolicy,
    RetryPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.store.codec import from_json, to_json

ranges = st.builds(
    ScheduleRange, start=st.integers(-5, 70), end=st.integers(-5, 70), step=st.integers(-2, 10)
)
calendars = st.builds(
    ScheduleCalendar,
    comment=st.text(max_size=5),
    hour=st.tuples(ranges),
    day_of_week=st.tuples(ranges, ranges),
)
durations = st.timedeltas(min_value=timedelta(days=-1000), max_value=timedelta(days=1000))
moments = st.datetimes(timezones=st.just(UTC))
specs = st.builds(
    AgentScheduleSpec,
    initial_message=st.text(max_size=20),
    schedule=st.builds(
        ScheduleRules,
        calendars=st.tuples(calendars),
        intervals=st.tuples(
            st.builds(ScheduleInterval, every=durations, offset=st.none() | durations)
        ),
        cron_expressions=st.tuples(st.text(max_size=10)),
        at=st.tuples(moments),
        start_time=st.none() | moments,
        jitter=st.none() | durations,
        dst_gap_policy=st.sampled_from(DstGapPolicy),
    ),
    data=st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    retry_policy=st.none()
    | st.builds(RetryPolicy, max_attempts=st.integers(0, 9), backoff_multiplier=st.floats(1, 3)),
)


@given(specs)
def test_round_trip(spec):
    assert from_json(AgentScheduleSpec, to_json(spec)) == spec


def test_documents_written_before_a_field_existed_decode_with_its_default():
    spec = from_json(AgentScheduleSpec, {"initial_message": "hi"})
    assert spec == AgentScheduleSpec(initial_message="hi")


def test_datetimes_are_utc():
    moment = datetime(2026, 1, 1, 12, tzinfo=UTC)
    encoded = to_json(ScheduleRules(at=(moment,)))
    assert from_json(ScheduleRules, encoded).at[0].tzinfo is not None
