"""Field bounds and value masks."""

import pytest

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleRange
from sundial.timing.fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    bits_between,
    describe_values,
    fold_sunday,
    ranges_mask,
    values_of,
)

R = ScheduleRange


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        pytest.param((R(5),), [5], id="single-value"),
        pytest.param((R(5, 8),), [5, 6, 7, 8], id="inclusive-range"),
        pytest.param((R(0, 10, 5),), [0, 5, 10], id="step"),
        pytest.param((R(0, 10, 0),), list(range(11)), id="step-zero-means-one"),
        pytest.param((R(10, 3),), [10], id="end-below-start-means-start"),
        pytest.param((R(1, 2), R(20), R(2, 4)), [1, 2, 3, 4, 20], id="ranges-or"),
        pytest.param((R(22, 23, 5),), [22], id="step-past-end"),
    ],
)
def test_ranges_mask(ranges: tuple[ScheduleRange, ...], expected: list[int]) -> None:
    violations: list[FieldViolation] = []
    assert values_of(ranges_mask(ranges, HOUR, "p.hour", violations)) == expected
    assert violations == []


@pytest.mark.parametrize(
    ("item", "field", "path", "description"),
    [
        pytest.param(
            R(24), HOUR, "p.hour[0].start", "hour 24 is out of range 0-23", id="start-high"
        ),
        pytest.param(
            R(-1), MINUTE, "p.minute[0].start", "minute -1 is out of range 0-59", id="start-low"
        ),
        pytest.param(
            R(0), DAY_OF_MONTH, "p.day_of_month[0].start", "day_of_month 0", id="dom-zero"
        ),
        pytest.param(
            R(20, 24), HOUR, "p.hour[0].end", "hour 24 is out of range 0-23", id="end-high"
        ),
        pytest.param(R(8), DAY_OF_WEEK, "p.day_of_week[0].start", "out of range 0-7", id="dow-8"),
        pytest.param(
            R(1, 5, -1), HOUR, "p.hour[0].step", "hour step -1 is negative", id="negative-step"
        ),
    ],
)
def test_bad_ranges_are_violations(
    item: ScheduleRange, field: object, path: str, description: str
) -> None:
    violations: list[FieldViolation] = []
    prefix = path.split("[", maxsplit=1)[0]
    assert ranges_mask((item,), field, prefix, violations) == 0  # type: ignore[arg-type]
    assert [v.field for v in violations] == [path]
    assert description in violations[0].description


def test_every_bad_range_is_reported() -> None:
    violations: list[FieldViolation] = []
    ranges_mask((R(1), R(30), R(2, 99, -2)), HOUR, "p.hour", violations)
    assert [v.field for v in violations] == ["p.hour[1].start", "p.hour[2].end", "p.hour[2].step"]


def test_sunday_is_zero_and_seven() -> None:
    assert fold_sunday(bits_between(5, 7)) == bits_between(5, 6) | 1
    assert values_of(fold_sunday(1 << 7)) == [0]


@pytest.mark.parametrize(
    ("values", "text"),
    [([1, 2, 3, 5, 7, 8], "1-3,5,7-8"), ([4], "4"), ([], "")],
)
def test_describe_values(values: list[int], text: str) -> None:
    mask = 0
    for value in values:
        mask |= 1 << value
    assert describe_values(mask) == text
