"""Calendar fields (second … day_of_week): their bounds and value sets as bitmasks.

A value set is an int whose bit `v` is set when value `v` matches; bit operations keep
matching and set algebra cheap and allocation-free."""

from collections.abc import Sequence
from dataclasses import dataclass

from sundial.domain.errors import FieldViolation
from sundial.domain.schedules import ScheduleRange


@dataclass(frozen=True, slots=True)
class Field:
    """One wall-clock field: its proto name and inclusive bounds."""

    name: str
    low: int
    high: int

    @property
    def all_values(self) -> int:
        """The mask matching every value of the field."""
        return bits_between(self.low, self.high)


SECOND = Field("second", 0, 59)
MINUTE = Field("minute", 0, 59)
HOUR = Field("hour", 0, 23)
DAY_OF_MONTH = Field("day_of_month", 1, 31)
MONTH = Field("month", 1, 12)
# 0 and 7 are both Sunday; masks fold 7 onto 0 (see `fold_sunday`).
DAY_OF_WEEK = Field("day_of_week", 0, 7)

ALL_WEEKDAYS = 0b111_1111


def bits_between(start: int, end: int, step: int = 1) -> int:
    """The mask of start, start+step, … up to end inclusive."""
    mask = 0
    for value in range(start, end + 1, step):
        mask |= 1 << value
    return mask


def fold_sunday(mask: int) -> int:
    """Day-of-week 7 is Sunday: move bit 7 onto bit 0."""
    return (mask | (mask >> 7)) & ALL_WEEKDAYS


def values_of(mask: int) -> list[int]:
    """The values whose bits are set, ascending."""
    values = []
    value = 0
    while mask:
        if mask & 1:
            values.append(value)
        mask >>= 1
        value += 1
    return values


def describe_values(mask: int) -> str:
    """A compact listing such as `1-5,7`, for error messages."""
    values = values_of(mask)
    parts: list[str] = []
    index = 0
    while index < len(values):
        run_end = index
        while run_end + 1 < len(values) and values[run_end + 1] == values[run_end] + 1:
            run_end += 1
        first, last = values[index], values[run_end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        index = run_end + 1
    return ",".join(parts)


def ranges_mask(
    ranges: Sequence[ScheduleRange], field: Field, path: str, violations: list[FieldViolation]
) -> int:
    """The union of `ranges` as a mask; each bad range adds a violation and contributes nothing.

    `end < start` means `end = start` and `step` 0 means 1, as on the wire."""
    mask = 0
    for index, item in enumerate(ranges):
        item_path = f"{path}[{index}]"
        valid = True
        if not field.low <= item.start <= field.high:
            violations.append(
                FieldViolation(
                    f"{item_path}.start",
                    f"{field.name} {item.start} is out of range {field.low}-{field.high}",
                )
            )
            valid = False
        if item.end > item.start and item.end > field.high:
            violations.append(
                FieldViolation(
                    f"{item_path}.end",
                    f"{field.name} {item.end} is out of range {field.low}-{field.high}",
                )
            )
            valid = False
        if item.step < 0:
            violations.append(
                FieldViolation(
                    f"{item_path}.step",
                    f"{field.name} step {item.step} is negative; use 0 or 1 for every value",
                )
            )
            valid = False
        if valid:
            mask |= bits_between(item.start, max(item.start, item.end), item.step or 1)
    return mask
