"""Cron strings compiled to wall-clock rules (or, for `@every`, to interval rules).

Dialect: 5 fields `minute hour day-of-month month day-of-week`, or 6 with leading
seconds; `*`, lists, ranges and steps (`*/5`, `1-10/2`, `5/15`); names JAN-DEC and
SUN-SAT in any case; `?` as `*` in the day fields; macros @yearly @annually @monthly
@weekly @daily @midnight @hourly and `@every <duration>`; in day-of-month `L`, `L-n`,
`nW`, `LW`; in day-of-week `dL` and `d#n`. When day-of-month and day-of-week are both
restricted (neither is `*` or `?`), a day matching either one matches (Vixie cron)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sundial.domain.errors import FieldViolation
from sundial.timing.days import DayRule, TimeOfDay, WallRule
from sundial.timing.fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOUR,
    MINUTE,
    MONTH,
    SECOND,
    Field,
    bits_between,
    fold_sunday,
)
from sundial.timing.intervals import IntervalRule, parse_duration


class CronSyntaxError(ValueError):
    """A cron string that cannot be compiled; the message says what is wrong."""


MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_WEEKDAY_NAMES = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
}
_NUMBER = re.compile(r"[0-9]{1,9}")
_LAST_DAY = re.compile(r"L(?:-([0-9]{1,9}))?")
_NEAREST_WEEKDAY = re.compile(r"([0-9]{1,9})W")
_LAST_WEEKDAY = re.compile(r"([0-9A-Z]{1,9})L")
_NTH_WEEKDAY = re.compile(r"([0-9A-Z]{1,9})#([0-9]{1,9})")
_UNRESTRICTED = ("*", "?")


@dataclass(frozen=True, slots=True)
class _Label:
    """How a field is called in messages, and which names it accepts."""

    spec: Field
    label: str
    names: dict[str, int] = field(default_factory=dict)


_SECONDS = _Label(SECOND, "second")
_MINUTES = _Label(MINUTE, "minute")
_HOURS = _Label(HOUR, "hour")
_DAYS_OF_MONTH = _Label(DAY_OF_MONTH, "day-of-month")
_MONTHS = _Label(MONTH, "month", _MONTH_NAMES)
_DAYS_OF_WEEK = _Label(DAY_OF_WEEK, "day-of-week", _WEEKDAY_NAMES)


def compile_cron(
    expression: str, path: str, violations: list[FieldViolation]
) -> WallRule | IntervalRule | None:
    """The expression's rule, or None after adding its violation to `violations`."""
    try:
        return parse_cron(expression, path)
    except CronSyntaxError as error:
        violations.append(FieldViolation(path, f"cron expression {expression!r}: {error}"))
        return None


def parse_cron(expression: str, path: str = "") -> WallRule | IntervalRule:
    """Compile one cron string; CronSyntaxError says what is wrong with it."""
    text = expression.strip()
    if not text:
        raise CronSyntaxError("is empty")
    if text.startswith("@"):
        head, *others = text.split(None, 1)
        rest = others[0] if others else ""
        macro = head.lower()
        if macro == "@every":
            return _parse_every(rest.strip(), path)
        if macro not in MACROS:
            raise CronSyntaxError(
                f"unknown macro {head!r}; use one of {', '.join(MACROS)} or @every <duration>"
            )
        if rest.strip():
            raise CronSyntaxError(f"macro {head!r} takes no fields, found {rest.strip()!r}")
        text = MACROS[macro]
    parts = text.split()
    if len(parts) not in (5, 6):
        raise CronSyntaxError(
            f"has {len(parts)} fields; expected 5 (minute hour day-of-month month "
            "day-of-week) or 6 (with leading seconds)"
        )
    if len(parts) == 5:
        parts.insert(0, "0")
    second, minute, hour, dom, month, dow = parts
    days = _parse_days(dom, month, dow)
    times = TimeOfDay(
        hours=_parse_plain(hour, _HOURS),
        minutes=_parse_plain(minute, _MINUTES),
        seconds=_parse_plain(second, _SECONDS),
    )
    if not days.ever_matches():
        raise CronSyntaxError(
            f"never matches a date: day-of-month {dom!r} does not occur in month {month!r}"
            if days.days_of_week is None
            else f"never matches a date: no day in month {month!r} matches {dom!r} or {dow!r}"
        )
    return WallRule(path, days, times)


def _parse_every(duration: str, path: str) -> IntervalRule:
    if not duration:
        raise CronSyntaxError("@every needs a duration, e.g. '@every 90s' or '@every 1h30m'")
    try:
        return IntervalRule(path, parse_duration(duration), 0)
    except ValueError as error:
        raise CronSyntaxError(str(error)) from None


def _parse_plain(text: str, label: _Label) -> int:
    if text == "?":
        raise CronSyntaxError(
            f"'?' is only allowed in day-of-month and day-of-week, not {label.label}"
        )
    mask = 0
    for item in _items(text, label):
        mask |= _parse_item(item, label)
    return mask


def _items(text: str, label: _Label) -> list[str]:
    items = text.split(",")
    if any(not item for item in items):
        raise CronSyntaxError(f"{label.label} field {text!r} has an empty list item")
    return items


def _parse_item(item: str, label: _Label) -> int:
    base, slash, step_text = item.partition("/")
    low, high = label.spec.low, label.spec.high
    step = 1
    if slash:
        if not _NUMBER.fullmatch(step_text):
            raise CronSyntaxError(f"{label.label} step {step_text!r} in {item!r} is not a number")
        step = int(step_text)
        if step == 0:
            raise CronSyntaxError(f"{label.label} step in {item!r} must be at least 1")
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(first, label), _value(last, label)
        if end < start:
            raise CronSyntaxError(f"{label.label} range {base!r} runs backwards")
    else:
        start = _value(base, label)
        end = high if slash else start
    return bits_between(start, end, step)


def _value(token: str, label: _Label) -> int:
    if _NUMBER.fullmatch(token):
        value = int(token)
    elif token.upper() in label.names:
        value = label.names[token.upper()]
    else:
        kind = "a number or a name" if label.names else "a number"
        raise CronSyntaxError(f"{label.label} value {token!r} is not {kind}")
    if not label.spec.low <= value <= label.spec.high:
        raise CronSyntaxError(
            f"{label.label} {value} is out of range {label.spec.low}-{label.spec.high}"
        )
    return value


def _parse_days(dom: str, month: str, dow: str) -> DayRule:
    dom_restricted = dom not in _UNRESTRICTED
    dow_restricted = dow not in _UNRESTRICTED
    dom_specials = _DomSpecials()
    dow_specials = _DowSpecials()
    dom_mask = _parse_with_specials(dom, _DAYS_OF_MONTH, dom_specials.take) if dom_restricted else 0
    dow_mask = _parse_with_specials(dow, _DAYS_OF_WEEK, dow_specials.take) if dow_restricted else 0
    return DayRule(
        months=_parse_plain(month, _MONTHS),
        days_of_month=dom_mask if dom_restricted else None,
        days_of_week=fold_sunday(dow_mask) if dow_restricted else None,
        either=dom_restricted and dow_restricted,
        last_day_offsets=tuple(dom_specials.last_day_offsets),
        nearest_weekdays=tuple(dom_specials.nearest_weekdays),
        last_weekday_of_month=dom_specials.last_weekday_of_month,
        last_weekdays=tuple(dow_specials.last_weekdays),
        nth_weekdays=tuple(dow_specials.nth_weekdays),
    )


def _parse_with_specials(text: str, label: _Label, take_special: Callable[[str], bool]) -> int:
    if "?" in text:
        raise CronSyntaxError(f"'?' must stand alone in {label.label}, found {text!r}")
    mask = 0
    for item in _items(text, label):
        if not take_special(item):
            mask |= _parse_item(item, label)
    return mask


@dataclass
class _DomSpecials:
    last_day_offsets: list[int] = field(default_factory=list)
    nearest_weekdays: list[int] = field(default_factory=list)
    last_weekday_of_month: bool = False

    def take(self, item: str) -> bool:
        """Record `item` if it is a special form; False if it is a plain one."""
        form = item.upper()
        if form == "LW":
            self.last_weekday_of_month = True
            return True
        if match := _LAST_DAY.fullmatch(form):
            offset = int(match.group(1) or 0)
            if offset > 30:
                raise CronSyntaxError(f"day-of-month {item!r}: L-n needs n between 0 and 30")
            self.last_day_offsets.append(offset)
            return True
        if match := _NEAREST_WEEKDAY.fullmatch(form):
            day = int(match.group(1))
            if not 1 <= day <= 31:
                raise CronSyntaxError(f"day-of-month {item!r}: nW needs n between 1 and 31")
            self.nearest_weekdays.append(day)
            return True
        if "L" in form or "W" in form:
            raise CronSyntaxError(
                f"day-of-month {item!r} is not valid; the special forms are L, L-n, nW and LW"
            )
        return False


@dataclass
class _DowSpecials:
    last_weekdays: list[int] = field(default_factory=list)
    nth_weekdays: list[tuple[int, int]] = field(default_factory=list)

    def take(self, item: str) -> bool:
        """Record `item` if it is a special form; False if it is a plain one."""
        form = item.upper()
        if match := _NTH_WEEKDAY.fullmatch(form):
            weekday = _value(match.group(1), _DAYS_OF_WEEK) % 7
            nth = int(match.group(2))
            if not 1 <= nth <= 5:
                raise CronSyntaxError(f"day-of-week {item!r}: d#n needs n between 1 and 5")
            self.nth_weekdays.append((weekday, nth))
            return True
        if form != "L" and (match := _LAST_WEEKDAY.fullmatch(form)):
            self.last_weekdays.append(_value(match.group(1), _DAYS_OF_WEEK) % 7)
            return True
        if "L" in form or "#" in form:
            raise CronSyntaxError(
                f"day-of-week {item!r} is not valid; the special forms are dL (last weekday d "
                "of the month) and d#n (n-th weekday d)"
            )
        return False
