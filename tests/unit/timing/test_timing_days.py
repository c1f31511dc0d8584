"""Day rules per month shape: plain fields, AND vs OR, and cron's special day forms."""

from datetime import date

import pytest

from sundial.timing.days import DayRule, TimeOfDay, WallRule, month_length, month_shapes
from sundial.timing.fields import bits_between, values_of

ALL_MONTHS = bits_between(1, 12)


def days_in(rule: DayRule, year: int, month: int) -> list[int]:
    first_weekday = date(year, month, 1).toordinal() % 7
    return values_of(rule.month_mask(month, month_length(year, month), first_weekday))


def mask(*values: int) -> int:
    result = 0
    for value in values:
        result |= 1 << value
    return result


CASES = [
    pytest.param(DayRule(ALL_MONTHS, mask(31), None), 2024, 4, [], id="31st-in-april"),
    pytest.param(DayRule(ALL_MONTHS, mask(29), None), 2023, 2, [], id="feb-29-non-leap"),
    pytest.param(DayRule(ALL_MONTHS, mask(29), None), 2024, 2, [29], id="feb-29-leap"),
    pytest.param(DayRule(mask(3), mask(1), None), 2024, 2, [], id="other-month"),
    pytest.param(DayRule(ALL_MONTHS, None, mask(1)), 2024, 1, [1, 8, 15, 22, 29], id="mondays"),
    pytest.param(DayRule(ALL_MONTHS, mask(13), mask(5)), 2024, 9, [13], id="friday-13th-and"),
    pytest.param(
        DayRule(ALL_MONTHS, mask(13), mask(5), either=True),
        2024,
        9,
        [6, 13, 20, 27],
        id="friday-or-13th",
    ),
    pytest.param(DayRule(ALL_MONTHS, 0, None, last_day_offsets=(0,)), 2024, 2, [29], id="L-leap"),
    pytest.param(DayRule(ALL_MONTHS, 0, None, last_day_offsets=(0,)), 2100, 2, [28], id="L-2100"),
    pytest.param(DayRule(ALL_MONTHS, 0, None, last_day_offsets=(3,)), 2024, 4, [27], id="L-3"),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(15,)), 2024, 6, [14], id="15W-saturday"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(15,)), 2024, 9, [16], id="15W-sunday"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(15,)), 2024, 7, [15], id="15W-monday"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(1,)), 2024, 6, [3], id="1W-saturday"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(31,)), 2024, 3, [29], id="31W-sunday"
    ),
    pytest.param(DayRule(ALL_MONTHS, 0, None, nearest_weekdays=(31,)), 2024, 4, [], id="31W-april"),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, last_weekday_of_month=True), 2024, 8, [30], id="LW-saturday"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, 0, None, last_weekday_of_month=True), 2024, 10, [31], id="LW-thursday"
    ),
    pytest.param(DayRule(ALL_MONTHS, None, 0, last_weekdays=(5,)), 2024, 3, [29], id="5L"),
    pytest.param(
        DayRule(ALL_MONTHS, None, 0, last_weekdays=(0,)), 2024, 3, [31], id="0L-on-last-day"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, None, 0, nth_weekdays=((1, 1),)), 2024, 4, [1], id="1#1-on-first"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, None, 0, nth_weekdays=((1, 5),)), 2024, 2, [], id="1#5-missing"
    ),
    pytest.param(
        DayRule(ALL_MONTHS, None, 0, nth_weekdays=((4, 5),)), 2024, 2, [29], id="4#5-leap-day"
    ),
]


@pytest.mark.parametrize(("rule", "year", "month", "expected"), CASES)
def test_month_masks(rule: DayRule, year: int, month: int, expected: list[int]) -> None:
    assert days_in(rule, year, month) == expected


def test_month_shapes_cover_leap_february() -> None:
    assert len(month_shapes(2)) == 14
    assert sum(len(month_shapes(month)) for month in range(1, 13)) == 91


@pytest.mark.parametrize(
    ("rule", "ever"),
    [
        pytest.param(DayRule(mask(2), mask(30), None), False, id="feb-30"),
        pytest.param(DayRule(mask(4, 6, 9, 11), mask(31), None), False, id="31-in-short-months"),
        pytest.param(DayRule(mask(2), mask(29), mask(1)), True, id="feb-29-monday"),
        pytest.param(DayRule(mask(2), 0, None, nearest_weekdays=(30,)), False, id="30W-february"),
    ],
)
def test_ever_matches(rule: DayRule, ever: bool) -> None:
    assert rule.ever_matches() is ever


def wall(days: DayRule, hours: list[int], minutes: list[int]) -> WallRule:
    return WallRule("p", days, TimeOfDay(mask(*hours), mask(*minutes), 1))


@pytest.mark.parametrize(
    ("rule", "gap"),
    [
        pytest.param(
            wall(DayRule(ALL_MONTHS, None, None), [9, 17], [0]), 8 * 3600, id="twice-daily"
        ),
        pytest.param(wall(DayRule(ALL_MONTHS, None, None), [23], [50]), 86400, id="once-daily"),
        pytest.param(
            wall(DayRule(ALL_MONTHS, None, mask(1)), [0, 23], [0]), 23 * 3600, id="mondays-only"
        ),
        pytest.param(
            wall(DayRule(ALL_MONTHS, None, mask(0, 1)), [0, 23], [0]),
            3600,
            id="sunday-night-to-monday",
        ),
        pytest.param(
            wall(DayRule(ALL_MONTHS, mask(1), None, last_day_offsets=(0,)), [23], [59]),
            86400,
            id="month-end-to-first",
        ),
    ],
)
def test_smallest_gap(rule: WallRule, gap: int) -> None:
    assert rule.smallest_gap() == gap


def test_time_of_day() -> None:
    times = TimeOfDay(mask(9), mask(0, 30), mask(0))
    assert times.seconds_of_day() == (32400, 34200)
    assert times.contains(34200)
    assert not times.contains(34201)
    assert not times.every_hour
    assert TimeOfDay(bits_between(0, 23), 1, 1).every_hour
