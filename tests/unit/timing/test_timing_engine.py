"""The day-walking engine: DST gaps and overlaps under each policy, in zones with 1-hour and
30-minute shifts and a skipped day; whole-day vs elapsed intervals; bounded searches."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import compile_schedule

SHIFT, SKIP = DstGapPolicy.SHIFT, DstGapPolicy.SKIP
FIRST, BOTH = DstOverlapPolicy.FIRST, DstOverlapPolicy.BOTH
UNSET_GAP, UNSET_OVERLAP = DstGapPolicy.UNSPECIFIED, DstOverlapPolicy.UNSPECIFIED


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local_fires(rules: ScheduleRules, after: datetime, count: int) -> list[str]:
    zone = ZoneInfo(rules.timezone or "UTC")
    fires = compile_schedule(rules).fire_times(after, count)
    return [fire.nominal.astimezone(zone).isoformat() for fire in fires]


def cron(expression: str, zone: str, gap: DstGapPolicy, overlap: DstOverlapPolicy) -> ScheduleRules:
    return ScheduleRules(
        cron_expressions=(expression,),
        timezone=zone,
        dst_gap_policy=gap,
        dst_overlap_policy=overlap,
    )


DST_CASES = [
    # America/New_York: 2024-03-10 02:00 EST -> 03:00 EDT; 2024-11-03 02:00 EDT -> 01:00 EST.
    pytest.param(
        cron("30 2 * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 3, 9, 12),
        ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        id="new_york-gap-shift-fires-at-gap-end",
    ),
    pytest.param(
        cron("30 2 * * *", "America/New_York", UNSET_GAP, UNSET_OVERLAP),
        utc(2024, 3, 9, 12),
        ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        id="new_york-gap-unspecified-is-shift",
    ),
    pytest.param(
        cron("30 2 * * *", "America/New_York", SKIP, FIRST),
        utc(2024, 3, 9, 12),
        ["2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"],
        id="new_york-gap-skip",
    ),
    pytest.param(
        cron("30 1 * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 11, 2, 12),
        ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
        id="new_york-overlap-first",
    ),
    pytest.param(
        cron("30 1 * * *", "America/New_York", SHIFT, UNSET_OVERLAP),
        utc(2024, 11, 2, 12),
        ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
        id="new_york-overlap-unspecified-is-first",
    ),
    pytest.param(
        cron("30 1 * * *", "America/New_York", SHIFT, BOTH),
        utc(2024, 11, 2, 12),
        ["2024-11-03T01:30:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"],
        id="new_york-overlap-both",
    ),
    pytest.param(
        cron("0 * * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 11, 3, 4, 30),
        ["2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"],
        id="new_york-hourly-fires-every-real-hour-on-fall-back",
    ),
    pytest.param(
        cron("0 * * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 3, 10, 5, 30),
        ["2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T04:00:00-04:00"],
        id="new_york-hourly-skips-the-missing-hour",
    ),
    pytest.param(
        cron("*/30 * * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 3, 10, 6, 15),
        ["2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"],
        id="new_york-half-hourly-follows-elapsed-time",
    ),
    pytest.param(
        cron("*/20 2 * * *", "America/New_York", SHIFT, FIRST),
        utc(2024, 3, 10, 6),
        ["2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00"],
        id="new_york-gap-times-collapse-into-one-fire",
    ),
    pytest.param(
        cron("*/20 1 * * *", "America/New_York", SHIFT, BOTH),
        utc(2024, 11, 3, 5, 30),
        [
            "2024-11-03T01:40:00-04:00",
            "2024-11-03T01:00:00-05:00",
            "2024-11-03T01:20:00-05:00",
            "2024-11-03T01:40:00-05:00",
        ],
        id="new_york-overlap-both-replays-the-hour",
    ),
    # Europe/Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.
    pytest.param(
        cron("30 2 * * *", "Europe/Berlin", SHIFT, FIRST),
        utc(2024, 3, 30, 12),
        ["2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"],
        id="berlin-gap-shift",
    ),
    pytest.param(
        cron("30 2 * * *", "Europe/Berlin", SKIP, FIRST),
        utc(2024, 3, 30, 12),
        ["2024-04-01T02:30:00+02:00"],
        id="berlin-gap-skip",
    ),
    pytest.param(
        cron("30 2 * * *", "Europe/Berlin", SHIFT, FIRST),
        utc(2024, 10, 26, 12),
        ["2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"],
        id="berlin-overlap-first",
    ),
    pytest.param(
        cron("30 2 * * *", "Europe/Berlin", SKIP, BOTH),
        utc(2024, 10, 26, 12),
        ["2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00", "2024-10-28T02:30:00+01:00"],
        id="berlin-overlap-both",
    ),
    pytest.param(
        cron("15 * * * *", "Europe/Berlin", SKIP, FIRST),
        utc(2024, 10, 26, 23, 0),
        [
            "2024-10-27T01:15:00+02:00",
            "2024-10-27T02:15:00+02:00",
            "2024-10-27T02:15:00+01:00",
            "2024-10-27T03:15:00+01:00",
        ],
        id="berlin-hourly-fall-back",
    ),
    # Australia/Lord_Howe: 2024-04-07 02:00 (+11) -> 01:30 (+10:30); 2024-10-06 02:00 -> 02:30.
    pytest.param(
        cron("15 2 * * *", "Australia/Lord_Howe", SHIFT, FIRST),
        utc(2024, 10, 5, 0),
        ["2024-10-06T02:30:00+11:00", "2024-10-07T02:15:00+11:00"],
        id="lord_howe-half-hour-gap-shift",
    ),
    pytest.param(
        cron("15 2 * * *", "Australia/Lord_Howe", SKIP, FIRST),
        utc(2024, 10, 5, 0),
        ["2024-10-07T02:15:00+11:00"],
        id="lord_howe-half-hour-gap-skip",
    ),
    pytest.param(
        cron("45 1 * * *", "Australia/Lord_Howe", SHIFT, FIRST),
        utc(2024, 4, 6, 0),
        ["2024-04-07T01:45:00+11:00", "2024-04-08T01:45:00+10:30"],
        id="lord_howe-half-hour-overlap-first",
    ),
    pytest.param(
        cron("45 1 * * *", "Australia/Lord_Howe", SHIFT, BOTH),
        utc(2024, 4, 6, 0),
        ["2024-04-07T01:45:00+11:00", "2024-04-07T01:45:00+10:30", "2024-04-08T01:45:00+10:30"],
        id="lord_howe-half-hour-overlap-both",
    ),
    pytest.param(
        cron("15 1 * * *", "Australia/Lord_Howe", SHIFT, BOTH),
        utc(2024, 4, 6, 0),
        ["2024-04-07T01:15:00+11:00", "2024-04-08T01:15:00+10:30"],
        id="lord_howe-before-the-overlap-fires-once",
    ),
    pytest.param(
        cron("45 * * * *", "Australia/Lord_Howe", SHIFT, FIRST),
        utc(2024, 4, 6, 13),
        [
            "2024-04-07T00:45:00+11:00",
            "2024-04-07T01:45:00+11:00",
            "2024-04-07T01:45:00+10:30",
            "2024-04-07T02:45:00+10:30",
        ],
        id="lord_howe-hourly-repeats-the-half-hour",
    ),
    pytest.param(
        cron("0 * * * *", "Australia/Lord_Howe", SHIFT, FIRST),
        utc(2024, 10, 5, 14),
        ["2024-10-06T01:00:00+10:30", "2024-10-06T03:00:00+11:00"],
        id="lord_howe-hourly-skips-missing-02:00",
    ),
    # Pacific/Apia: 2011-12-29 23:59:59 (-10) was followed by 2011-12-31 00:00 (+14).
    pytest.param(
        cron("0 12 * * *", "Pacific/Apia", SHIFT, FIRST),
        utc(2011, 12, 29),
        ["2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"],
        id="apia-missing-day-shift-fires-at-its-end",
    ),
    pytest.param(
        cron("0 12 * * *", "Pacific/Apia", SKIP, FIRST),
        utc(2011, 12, 29),
        ["2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00"],
        id="apia-missing-day-skip",
    ),
    pytest.param(
        cron("0 0,12 * * *", "Pacific/Apia", SHIFT, FIRST),
        utc(2011, 12, 29),
        [
            "2011-12-29T00:00:00-10:00",
            "2011-12-29T12:00:00-10:00",
            "2011-12-31T00:00:00+14:00",
            "2011-12-31T12:00:00+14:00",
        ],
        id="apia-shifted-fires-merge-with-midnight",
    ),
    pytest.param(
        cron("0 * * * *", "Pacific/Apia", SHIFT, FIRST),
        utc(2011, 12, 30, 8),
        ["2011-12-29T23:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T01:00:00+14:00"],
        id="apia-hourly-jumps-over-the-day",
    ),
    pytest.param(
        cron("0 9 30 12 *", "Pacific/Apia", SKIP, FIRST),
        utc(2010, 1, 1),
        ["2010-12-30T09:00:00-10:00", "2012-12-30T09:00:00+14:00"],
        id="apia-skip-drops-the-year",
    ),
]


@pytest.mark.parametrize(("rules", "after", "expected"), DST_CASES)
def test_dst_policies(rules: ScheduleRules, after: datetime, expected: list[str]) -> None:
    assert local_fires(rules, after, len(expected)) == expected


def interval(every: timedelta, offset: timedelta = timedelta(0), zone: str = "") -> ScheduleRules:
    return ScheduleRules(intervals=(ScheduleInterval(every=every, offset=offset),), timezone=zone)


INTERVAL_CASES = [
    pytest.param(
        interval(timedelta(days=1), timedelta(hours=9), "America/New_York"),
        utc(2024, 3, 9),
        ["2024-03-09T09:00:00-05:00", "2024-03-10T09:00:00-04:00", "2024-03-11T09:00:00-04:00"],
        id="whole-days-keep-wall-time",
    ),
    pytest.param(
        interval(timedelta(days=1), timedelta(hours=2, minutes=30), "America/New_York"),
        utc(2024, 3, 9, 12),
        ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        id="whole-days-use-the-gap-policy",
    ),
    pytest.param(
        interval(timedelta(days=2), timedelta(days=1, hours=6)),
        utc(2024, 1, 1),
        ["2024-01-01T06:00:00+00:00", "2024-01-03T06:00:00+00:00"],
        id="two-days-counted-from-1970-01-02",
    ),
    pytest.param(
        interval(timedelta(hours=4), zone="America/New_York"),
        utc(2024, 3, 10, 2),
        ["2024-03-10T00:00:00-05:00", "2024-03-10T05:00:00-04:00", "2024-03-10T09:00:00-04:00"],
        id="hours-follow-elapsed-time",
    ),
    pytest.param(
        interval(timedelta(minutes=90), timedelta(minutes=15)),
        utc(2024, 1, 1),
        ["2024-01-01T00:15:00+00:00", "2024-01-01T01:45:00+00:00", "2024-01-01T03:15:00+00:00"],
        id="ninety-minutes-with-offset",
    ),
    pytest.param(
        interval(timedelta(hours=36)),
        utc(2024, 1, 1),
        ["2024-01-01T12:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T12:00:00+00:00"],
        id="uneven-days-follow-elapsed-time",
    ),
    pytest.param(
        interval(timedelta(days=100_000)),
        utc(2024, 1, 1),
        ["2243-10-17T00:00:00+00:00", "2517-08-01T00:00:00+00:00"],
        id="huge-interval",
    ),
    pytest.param(
        interval(timedelta(hours=5), zone="Australia/Lord_Howe"),
        utc(2024, 4, 6, 9, 30),
        ["2024-04-07T01:00:00+11:00", "2024-04-07T05:30:00+10:30", "2024-04-07T10:30:00+10:30"],
        id="elapsed-hours-across-a-half-hour-change-anchored-at-1970-plus-10",
    ),
]


@pytest.mark.parametrize(("rules", "after", "expected"), INTERVAL_CASES)
def test_intervals(rules: ScheduleRules, after: datetime, expected: list[str]) -> None:
    assert local_fires(rules, after, len(expected)) == expected


def test_interval_and_calendar_on_the_same_instant_fire_once() -> None:
    rules = ScheduleRules(
        calendars=(ScheduleCalendar(hour=(ScheduleRange(8),)),),
        intervals=(ScheduleInterval(every=timedelta(hours=4)),),
    )
    assert local_fires(rules, utc(2024, 1, 1, 5), 3) == [
        "2024-01-01T08:00:00+00:00",
        "2024-01-01T12:00:00+00:00",
        "2024-01-01T16:00:00+00:00",
    ]


def test_overlap_both_with_an_interval_stays_sorted_and_unique() -> None:
    rules = ScheduleRules(
        cron_expressions=("30 1 * * *",),
        intervals=(ScheduleInterval(every=timedelta(minutes=30)),),
        timezone="America/New_York",
        dst_overlap_policy=BOTH,
    )
    fires = local_fires(rules, utc(2024, 11, 3, 5, 15), 4)
    assert fires == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


ADVERSARIAL = [
    pytest.param(
        ScheduleRules(
            calendars=(
                ScheduleCalendar(
                    month=(ScheduleRange(2),),
                    day_of_month=(ScheduleRange(29),),
                    day_of_week=(ScheduleRange(1),),
                ),
            )
        ),
        ["2044-02-29T00:00:00+00:00", "2072-02-29T00:00:00+00:00"],
        id="feb-29-on-a-monday",
    ),
    pytest.param(
        ScheduleRules(
            calendars=(ScheduleCalendar(second=(ScheduleRange(0, 59),)),),
            exclude_calendars=(
                ScheduleCalendar(second=(ScheduleRange(0, 59),), month=(ScheduleRange(1, 11),)),
                ScheduleCalendar(
                    second=(ScheduleRange(0, 59),), day_of_month=(ScheduleRange(1, 30),)
                ),
                ScheduleCalendar(second=(ScheduleRange(0, 59),), hour=(ScheduleRange(0, 22),)),
                ScheduleCalendar(second=(ScheduleRange(0, 59),), minute=(ScheduleRange(0, 58),)),
                ScheduleCalendar(second=(ScheduleRange(1, 59),)),
            ),
        ),
        ["2024-12-31T23:59:00+00:00", "2025-12-31T23:59:00+00:00"],
        id="every-second-minus-all-but-one-per-year",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(seconds=1)),),
            exclude_calendars=(
                ScheduleCalendar(second=(ScheduleRange(0, 59),), month=(ScheduleRange(1, 11),)),
                ScheduleCalendar(
                    second=(ScheduleRange(0, 59),), day_of_month=(ScheduleRange(1, 30),)
                ),
                ScheduleCalendar(second=(ScheduleRange(0, 59),), hour=(ScheduleRange(0, 22),)),
                ScheduleCalendar(second=(ScheduleRange(0, 59),), minute=(ScheduleRange(0, 58),)),
            ),
        ),
        ["2024-12-31T23:59:00+00:00", "2024-12-31T23:59:01+00:00"],
        id="one-second-interval-minus-most-of-the-year",
    ),
    pytest.param(
        ScheduleRules(
            calendars=tuple(
                ScheduleCalendar(minute=(ScheduleRange(minute),), second=(ScheduleRange(second),))
                for minute in range(0, 60, 3)
                for second in range(0, 60, 5)
            )
        ),
        ["2024-01-01T00:00:05+00:00", "2024-01-01T00:00:10+00:00"],
        id="two-hundred-forty-calendars",
    ),
]


@pytest.mark.parametrize(("rules", "expected"), ADVERSARIAL)
def test_adversarial_specs_answer(rules: ScheduleRules, expected: list[str]) -> None:
    assert local_fires(rules, utc(2024, 1, 1), len(expected)) == expected


def test_search_gives_up_after_the_horizon() -> None:
    # Fires on 2024-06-01, then is excluded for good: later searches end with None.
    rules = ScheduleRules(
        cron_expressions=("0 0 1 6 *",),
        end_time=utc(2030, 1, 1),
    )
    schedule = compile_schedule(rules)
    assert schedule.next_fire(utc(2029, 6, 2)) is None
    assert schedule.next_fire(utc(2100, 1, 1)) is None


def test_far_future_and_far_past_after() -> None:
    schedule = compile_schedule(ScheduleRules(cron_expressions=("@daily",)))
    assert schedule.next_fire(datetime.max.replace(tzinfo=UTC)) is None
    first = schedule.next_fire(datetime.min.replace(tzinfo=UTC))
    assert first is not None
    assert first.nominal == utc(2, 1, 1)


def test_both_across_midnight_stays_in_order() -> None:
    # St. John's fell back at 00:01 until 2011, so 23:01-00:01 repeated across midnight.
    rules = ScheduleRules(
        cron_expressions=("30 23 * * *", "0 0 * * *"),
        timezone="America/St_Johns",
        dst_overlap_policy=BOTH,
    )
    assert local_fires(rules, utc(2010, 11, 6, 12), 4) == [
        "2010-11-06T23:30:00-02:30",
        "2010-11-07T00:00:00-02:30",
        "2010-11-06T23:30:00-03:30",
        "2010-11-07T00:00:00-03:30",
    ]
