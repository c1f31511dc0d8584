"""The pure pieces of the insight views: percentiles, days in a time zone, the N-way diff."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.insight import ComparedValue, ValueDifference
from sundial.service.insight_windows import nearest_rank, start_of_day
from sundial.service.objective_comparison import _diff, _Slot

S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([], 95, None),
        ([3 * S], 95, 3 * S),
        ([30 * S, 90 * S], 95, 90 * S),
        ([k * S for k in range(1, 101)], 95, 95 * S),
        ([k * S for k in range(1, 101)], 99, 99 * S),
        ([k * S for k in range(100, 0, -1)], 50, 50 * S),
    ],
    ids=["none", "one", "two", "hundred-p95", "hundred-p99", "unsorted-median"],
)
def test_nearest_rank(values, percent, expected):
    assert nearest_rank(values, percent) == expected


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2026, 3, 2, 14, tzinfo=UTC), "UTC", datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 2, 14, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 3, 1, 15, tzinfo=UTC)),
        # The day DST starts in New York: midnight was still EST (UTC-5).
        (
            datetime(2026, 3, 8, 20, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 3, 8, 5, tzinfo=UTC),
        ),
        # The day after: midnight is EDT (UTC-4).
        (
            datetime(2026, 3, 9, 20, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 3, 9, 4, tzinfo=UTC),
        ),
    ],
    ids=["utc", "tokyo", "new-york-dst-day", "new-york-after"],
)
def test_start_of_day(moment, zone, expected):
    assert start_of_day(moment, ZoneInfo(zone)) == expected


def _differences(*values):
    found: list[ValueDifference] = []
    _diff("output", [_Slot(v is not _MISSING, None if v is _MISSING else v) for v in values], found)
    return {d.path: d.values for d in found}


_MISSING = object()
ABSENT = ComparedValue(present=False)


def test_equal_values_have_no_differences():
    assert _differences({"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]}) == {}
    assert _differences(_MISSING, _MISSING) == {}


def test_differences_are_reported_at_the_deepest_common_path():
    assert _differences({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}) == {
        "output.a.c": (ComparedValue(True, 2), ComparedValue(True, 3))
    }
    assert _differences([1, 2], [1, 2, 3]) == {"output[2]": (ABSENT, ComparedValue(True, 3))}


def test_values_of_different_kinds_are_reported_whole():
    assert _differences({"a": 1}, [1], _MISSING) == {
        "output": (ComparedValue(True, {"a": 1}), ComparedValue(True, [1]), ABSENT)
    }
    # true is not 1, and null is a value, not an absence.
    assert _differences({"x": True}, {"x": 1}, {"x": None}) == {
        "output.x": (ComparedValue(True, True), ComparedValue(True, 1), ComparedValue(True, None))
    }
