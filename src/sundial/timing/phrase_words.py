"""The vocabulary of the schedule grammar (timing.phrases): the words it knows, its tokens,
and the wall-clock values they stand for."""

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = 86400
# The years fire times may lie in (timing.compiler): dates outside them are not read.
FIRST_YEAR = 2
LAST_YEAR = 9998
EPOCH_WEEKDAY = 4  # Thursday, in cron numbering
UNITS = {
    "millisecond": 0.001,
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": DAY,
    "week": 7 * DAY,
}
WEEKDAYS = {
    "sunday": 0,
    "sun": 0,
    "monday": 1,
    "mon": 1,
    "tuesday": 2,
    "tue": 2,
    "tues": 2,
    "wednesday": 3,
    "wed": 3,
    "thursday": 4,
    "thu": 4,
    "thur": 4,
    "thurs": 4,
    "friday": 5,
    "fri": 5,
    "saturday": 6,
    "sat": 6,
}
MONTH_WORDS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a": 1,
    "an": 1,
}
ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
TIMES_A_DAY = {"once": 1, "twice": 2, "thrice": 3}
FILLER = frozenset({"the", "please", "run", "fire", "it", "o'clock", "oclock", "sharp"})
THROUGH = frozenset({"through", "thru", "to", "-", "until", "till"})
TOKEN = re.compile(
    r"""
    (?P<instant>\d{4}-\d{2}-\d{2}[t\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<clock>\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?(?![a-z]))
    |(?P<number>\d+(?:st|nd|rd|th)?)
    |(?P<zone>[a-z][a-z_]*(?:/[a-z0-9_+\-]+)+)
    |(?P<word>[a-z]+(?:'[a-z]+)?)
    |(?P<mark>[;,\-])
    |(?P<other>\S)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, lowercased except zone names (America/Los_Angeles)."""
    tokens = [
        Token(match.lastgroup or "other", match.group().lower(), match.start())
        for match in TOKEN.finditer(text.lower())
    ]
    return [
        replace(t, text=text[t.start : t.start + len(t.text)]) if t.kind == "zone" else t
        for t in tokens
    ]


def clock_value(text: str) -> tuple[int, int, int] | None:
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(?:([ap])\.?m\.?)?", text)
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match[4] == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return (hour, minute, second)


def instant_value(text: str) -> datetime | None:
    """An ISO 8601 instant (naive: local to the schedule's zone), None when it is no real
    time or lies outside the years a schedule holds."""
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        return None
    return moment if FIRST_YEAR <= moment.year <= LAST_YEAR else None


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time as an instant: the first of two in a DST overlap, and the end of
    the gap for a time a DST change skips (as the schedules' default DST policies do)."""
    wall = datetime.combine(day, at)
    for _ in range(24 * 60):
        moment = wall.replace(tzinfo=zone)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            return moment
        wall = (wall + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return wall.replace(tzinfo=zone)
