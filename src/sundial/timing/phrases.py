"""The schedule grammar: English schedule text (or a cron string) to ScheduleRules.

Deterministic and local: a tokenizer and a hand-written reader of clauses, no model and no
network. A text is rules separated by ";" (as descriptions write them); each rule is a run
of clauses ("every weekday", "at 9am", "in December", "the last friday of each quarter",
"every 90 minutes", "tomorrow at noon"), and the clauses that apply to the whole schedule
(a zone, "except ...", "from/starting ...", "until ...", jitter, DST handling) may come
anywhere. Fields a rule leaves open follow the calendar defaults: finer than the finest
field given, the minimum ("every monday" is Monday 00:00); coarser, every value.

Words that fit no clause are collected, with their position, into one InvalidArgumentError
on `text`; nothing is guessed around them. Where the grammar assumes something the text
did not say (a time of day, a weekday), the confidence drops below 1."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ParsedSchedule,
    ParseMethod,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRules,
)
from sundial.timing.cron import CronSyntaxError, parse_cron
from sundial.timing.descriptions import describe_rules
from sundial.timing.recurrences import (
    HOURS,
    MINUTES,
    MONTHS,
    SECONDS,
    Recurrence,
    to_calendar,
    to_cron,
)
from sundial.timing.zone_names import LONGEST_NAME_WORDS, resolve_zone

MAX_TEXT_LENGTH = 1000
_DAY = 86400
_EPOCH = date(1970, 1, 1)
_EPOCH_WEEKDAY = 4  # Thursday, in cron numbering
_UNITS = {
    "millisecond": 0.001,
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": _DAY,
    "week": 7 * _DAY,
}
_WEEKDAYS = {
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
_MONTHS = {
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
_NUMBER_WORDS = {
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
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_TIMES_A_DAY = {"once": 1, "twice": 2, "thrice": 3}
_FILLER = frozenset({"the", "please", "run", "fire", "it", "o'clock", "oclock", "sharp"})
_THROUGH = frozenset({"through", "thru", "to", "-", "until", "till"})
_TOKEN = re.compile(
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
class _Token:
    kind: str
    text: str
    start: int


def parse_schedule(text: str, *, timezone: str = "", reference: datetime) -> ParsedSchedule:
    """The rules `text` means. `timezone` (IANA or a name resolve_zone knows) applies when
    the text names none; `reference` is the instant relative words count from."""
    default_zone = ""
    if timezone.strip():
        resolved = resolve_zone(timezone)
        if resolved is None:
            raise InvalidArgumentError.single("timezone", f"unknown time zone {timezone!r}")
        default_zone = resolved
    stripped = text.strip()
    if not stripped:
        raise InvalidArgumentError.single("text", "text is required")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise InvalidArgumentError.single(
            "text", f"text must be at most {MAX_TEXT_LENGTH} characters, got {len(stripped)}"
        )
    cron = _as_cron(stripped)
    if cron is not None:
        rules = ScheduleRules(cron_expressions=(cron,), timezone=default_zone)
        return ParsedSchedule(rules, describe_rules(rules), 1.0, ParseMethod.CRON)
    reader = _Reader(stripped, default_zone, reference)
    rules, confidence = reader.read()
    if reader.zone_given and reader.zone != default_zone:
        # "tomorrow" and "next monday" are days in the zone the text names, wherever it
        # names it: read again knowing the zone.
        rules, confidence = _Reader(stripped, reader.zone, reference).read()
    return ParsedSchedule(rules, describe_rules(rules), confidence, ParseMethod.GRAMMAR)


_CRON_FIELD = re.compile(r"[0-9*?/,\-LW#]+|[A-Za-z]{3}(?:[-,][A-Za-z]{3})*")


def _as_cron(text: str) -> str | None:
    if text.startswith("@"):
        try:
            parse_cron(text)
        except CronSyntaxError:
            return None
        return text
    fields = text.split()
    if len(fields) not in (5, 6) or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return None
    if not any(c.isdigit() or c == "*" for c in text):
        return None
    try:
        parse_cron(text)
    except CronSyntaxError:
        return None
    return text


@dataclass
class _Draft:
    """What one rule's clauses said so far."""

    seconds: frozenset[int] | None = None
    minutes: frozenset[int] | None = None
    hours: frozenset[int] | None = None
    day_set: bool = False
    days_of_month: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None
    either: bool = False
    last_day_offsets: tuple[int, ...] = ()
    nearest_weekdays: tuple[int, ...] = ()
    last_weekday_of_month: bool = False
    last_weekdays: tuple[int, ...] = ()
    nth_weekdays: tuple[tuple[int, int], ...] = ()
    months: frozenset[int] | None = None
    quarter: bool = False
    times: list[tuple[int, int, int]] = field(default_factory=list)
    window: tuple[tuple[int, int], tuple[int, int]] | None = None
    starting_at: tuple[int, int] | None = None
    cadence: str = ""  # "minute" or "hour" when "every N minutes/hours" set the field
    interval: int = 0
    interval_offset: int | None = None
    interval_weekday: int | None = None
    elapsed: bool = False
    dates: list[date] = field(default_factory=list)
    instants: list[datetime] = field(default_factory=list)
    relative: timedelta | None = None

    def empty(self) -> bool:
        return self == _Draft()

    @property
    def restricts_days(self) -> bool:
        return (
            self.days_of_month is not None
            or self.days_of_week is not None
            or bool(self.last_day_offsets or self.nearest_weekdays or self.last_weekday_of_month)
            or bool(self.last_weekdays or self.nth_weekdays)
        )


class _Reader:
    def __init__(self, text: str, zone: str, reference: datetime) -> None:
        self.text = text
        self.tokens = [
            _Token(m.lastgroup or "other", m.group().lower(), m.start())
            for m in _TOKEN.finditer(text.lower())
        ]
        # Zone names keep their case (America/Los_Angeles).
        self.tokens = [
            replace(t, text=text[t.start : t.start + len(t.text)]) if t.kind == "zone" else t
            for t in self.tokens
        ]
        self.pos = 0
        self.zone = zone
        self.zone_given = False
        self.reference = reference
        self.confidence = 1.0
        self.unknown: list[int] = []
        self.drafts: list[_Draft] = [_Draft()]
        self.exclusions: list[_Draft] = []
        self.excluding = False
        self.start: datetime | date | None = None
        self.end: datetime | date | None = None
        self.jitter: timedelta | None = None
        self.gap = DstGapPolicy.UNSPECIFIED
        self.overlap = DstOverlapPolicy.UNSPECIFIED

    # -- token helpers ---------------------------------------------------------------

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.text if token else ""

    def accept(self, *words: str) -> bool:
        """Consume the words in sequence if they all come next."""
        for offset, word in enumerate(words):
            if self.word(offset) != word:
                return False
        self.pos += len(words)
        return True

    def accept_any(self, *words: str) -> str:
        if self.word() in words:
            self.pos += 1
            return words[words.index(self.word(-1))]
        return ""

    def assume(self, confidence: float) -> None:
        self.confidence = min(self.confidence, confidence)

    @property
    def draft(self) -> _Draft:
        return self.exclusions[-1] if self.excluding else self.drafts[-1]

    # -- the reader ------------------------------------------------------------------

    def read(self) -> tuple[ScheduleRules, float]:
        while self.pos < len(self.tokens):
            start = self.pos
            if not self.clause():
                self.pos = start
                self.unknown.append(self.pos)
                self.pos += 1
        if self.unknown:
            raise InvalidArgumentError.single("text", self._unknown_message())
        return self._rules(), round(self.confidence, 2)

    def _unknown_message(self) -> str:
        groups: list[list[int]] = []
        for index in self.unknown:
            between = self.tokens[groups[-1][-1] + 1 : index] if groups else None
            if between is not None and all(t.text in _FILLER for t in between):
                groups[-1].append(index)
            else:
                groups.append([index])
        parts = []
        for group in groups:
            first, last = self.tokens[group[0]], self.tokens[group[-1]]
            begin = first.start
            end = last.start + len(last.text)
            parts.append(f'"{self.text[begin:end]}" at character {begin + 1}')
        return "could not understand " + ", ".join(parts)

    def clause(self) -> bool:
        word = self.word()
        token = self.peek()
        assert token is not None
        if word == ";":
            self.pos += 1
            self.excluding = False
            if not self.drafts[-1].empty():
                self.drafts.append(_Draft())
            return True
        if word in (",", "and", "of") or word in _FILLER:
            self.pos += 1
            return True
        if word in ("except", "excluding", "but") and self.except_clause():
            return True
        if self.excluding and word in ("holidays", "holiday"):
            # No holiday calendar: the months or days named with it are what is excluded.
            self.pos += 1
            self.assume(0.5)
            return True
        for reader in (
            self.zone_clause,
            self.window_clause,
            self.jitter_clause,
            self.dst_clause,
            self.every_clause,
            self.offset_clause,
            self.adverb_clause,
            self.times_a_clause,
            self.at_clause,
            self.during_clause,
            self.between_clause,
            self.day_clause,
            self.in_clause,
            self.date_clause,
            self.time_clause,
        ):
            start = self.pos
            if reader():
                return True
            self.pos = start
        if word == "at":
            self.pos += 1
            return True
        return False

    def except_clause(self) -> bool:
        self.pos += 1
        self.accept("not")
        self.accept("for")
        self.exclusions.append(_Draft())
        self.excluding = True
        return True

    # -- global clauses --------------------------------------------------------------

    def zone_clause(self) -> bool:
        self.accept_any("in", "at")
        token = self.peek()
        if token is None:
            return False
        for length in range(LONGEST_NAME_WORDS, 0, -1):
            words = self.tokens[self.pos : self.pos + length]
            if len(words) < length or any(w.kind not in ("word", "zone") for w in words):
                continue
            zone = resolve_zone(" ".join(w.text for w in words))
            if zone is None:
                continue
            self.pos += length
            self.accept("time", "zone") or self.accept_any("time", "timezone")
            self.accept("time")
            self.zone = zone
            self.zone_given = True
            return True
        return False

    def window_clause(self) -> bool:
        word = self.accept_any("from", "starting", "beginning", "until", "till", "ending")
        if not word:
            return False
        self.accept("on")
        if word in ("from", "starting", "beginning"):
            if word != "from" and self.accept("at"):
                at = self.clock()
                if at is None:
                    return False
                self.draft.starting_at = (at[0], at[1])
                return True
            moment = self.moment()
            if moment is None:
                if word == "from":
                    return self.range_from()
                return False
            self.start = moment
            return True
        moment = self.moment()
        if moment is None:
            return False
        self.end = moment
        return True

    def range_from(self) -> bool:
        first = self.clock(bare=True)
        if first is None or not self.accept_any(*_THROUGH):
            return False
        last = self.clock(bare=True)
        if last is None:
            return False
        self.draft.window = ((first[0], first[1]), (last[0], last[1]))
        return True

    def jitter_clause(self) -> bool:
        if not self.accept("with"):
            return False
        if self.accept("jitter"):
            self.accept("of")
            self.accept("up", "to")
            amount = self.duration()
        else:
            self.accept("up", "to")
            amount = self.duration()
            if not (self.accept("of", "jitter") or self.accept("jitter")):
                return False
        if amount is None:
            return False
        self.jitter = amount
        return True

    def dst_clause(self) -> bool:
        if self.accept("skipping", "wall", "-", "clock", "times", "a", "dst", "change", "skips"):
            self.gap = DstGapPolicy.SKIP
            return True
        if self.accept(
            "firing", "twice", "at", "wall", "-", "clock", "times", "a", "dst", "change", "repeats"
        ):
            self.overlap = DstOverlapPolicy.BOTH
            return True
        return False

    # -- cadences --------------------------------------------------------------------

    def every_clause(self) -> bool:
        if not self.accept_any("every", "each"):
            return False
        draft = self.draft
        if self.accept("other"):
            return self.every_n(2, explicit=False)
        number = self.number()
        if number is not None:
            return self.every_n(number, explicit=True)
        unit = self.unit_word()
        if unit:
            return self.every_unit(unit)
        if self.day_clause():
            return True
        months = self.month_set()
        if months is not None:
            draft.months = months
            day = self.number_value(1, 31)
            if day is not None:
                draft.days_of_month = frozenset({day})
            return True
        return False

    def every_n(self, count: int, *, explicit: bool) -> bool:
        draft = self.draft
        weekday = self.weekday()
        if weekday is not None:
            # "every other monday": two weeks apart, on Mondays.
            draft.interval = 14 * _DAY if count == 2 and not explicit else count * 7 * _DAY
            draft.interval_weekday = weekday
            return True
        total = 0.0
        unit = self.unit_word()
        if not unit:
            return False
        total += count * _UNITS[unit]
        while True:  # "every 1 hour 30 minutes"
            start = self.pos
            more = self.number()
            more_unit = self.unit_word() if more is not None else ""
            if more is None or not more_unit:
                self.pos = start
                break
            total += more * _UNITS[more_unit]
            unit = "compound"
        if self.accept("of", "elapsed", "time"):
            draft.elapsed = True
        seconds = int(total)
        if seconds <= 0:
            return False
        if unit in ("day", "week"):
            draft.interval = seconds
            if unit == "week" and draft.interval_weekday is None:
                self.accept("on")
                weekday = self.weekday()
                if weekday is not None:
                    draft.interval_weekday = weekday
                else:
                    draft.interval_weekday = self._local_reference().date().isoweekday() % 7
                    self.assume(0.8)
            return True
        if not draft.elapsed and unit == "minute" and 60 % count == 0 and count < 60:
            draft.minutes = frozenset(range(0, 60, count))
            draft.cadence = "minute"
            return True
        if not draft.elapsed and unit == "hour" and 24 % count == 0 and count < 24:
            draft.hours = frozenset(range(0, 24, count))
            draft.cadence = "hour"
            return True
        if not draft.elapsed and unit == "second" and 60 % count == 0 and count < 60:
            draft.seconds = frozenset(range(0, 60, count))
            return True
        draft.interval = seconds
        return True

    def offset_clause(self) -> bool:
        if not self.accept("offset", "by"):
            return False
        offset = self.duration()
        if offset is None or not self.draft.interval:
            return False
        self.draft.interval_offset = int(offset.total_seconds())
        return True

    def every_unit(self, unit: str) -> bool:
        draft = self.draft
        if unit == "second":
            draft.seconds = SECONDS
        elif unit == "minute":
            draft.minutes = MINUTES
            draft.cadence = "minute"
        elif unit == "hour":
            draft.hours = HOURS
            draft.cadence = "hour"
        elif unit == "day":
            draft.day_set = True
        elif unit == "week":
            draft.days_of_week = frozenset({1})
            self.assume(0.8)
        elif unit == "month":
            draft.months = MONTHS
        elif unit == "quarter":
            draft.months = frozenset({1, 4, 7, 10})
            draft.days_of_month = frozenset({1})
        elif unit == "year":
            draft.months = frozenset({1})
        return True

    def unit_word(self) -> str:
        word = self.word()
        for name in (*_UNITS, "month", "quarter", "year"):
            if word in (name, name + "s", name + "es"):
                self.pos += 1
                return {"sec": "second", "min": "minute", "hr": "hour"}.get(name, name)
        return ""

    def adverb_clause(self) -> bool:
        word = self.accept_any(
            "hourly", "daily", "nightly", "weekly", "monthly", "quarterly", "yearly", "annually"
        )
        if not word:
            return False
        unit = {
            "hourly": "hour",
            "daily": "day",
            "nightly": "day",
            "weekly": "week",
            "quarterly": "quarter",
            "yearly": "year",
            "annually": "year",
        }.get(word)
        if unit is None:  # monthly: the 1st
            self.draft.days_of_month = frozenset({1})
            return True
        return self.every_unit(unit)

    def times_a_clause(self) -> bool:
        count = _TIMES_A_DAY.get(self.word())
        if count is not None:
            self.pos += 1
        else:
            count = self.number()
            if count is None or not self.accept("times"):
                return False
        if not (self.accept_any("a", "an", "per") or self.accept("each")):
            return False
        unit = self.unit_word()
        if unit == "day" and 24 % count == 0:
            self.draft.hours = frozenset(range(0, 24, 24 // count))
        elif unit == "hour" and 60 % count == 0:
            self.draft.minutes = frozenset(range(0, 60, 60 // count))
        else:
            return False
        self.assume(0.8)
        return True

    # -- times of day ----------------------------------------------------------------

    def at_clause(self) -> bool:
        if not self.accept("at"):
            return False
        draft = self.draft
        for word, target in (("second", "seconds"), ("minute", "minutes")):
            if self.accept(word) or self.accept(word + "s"):
                values = self.number_set(0, 59)
                if values is None:
                    return False
                setattr(draft, target, values)
                if target == "minutes":
                    self.accept("of", "every", "hour") and self._set_hours_all()
                return True
        instants = self.instant_list()
        if instants:
            draft.instants.extend(instants)
            return True
        times = self.clock_list(bare=True)
        if not times:
            return False
        draft.times.extend(times)
        return True

    def _set_hours_all(self) -> bool:
        self.draft.hours = HOURS
        return True

    def during_clause(self) -> bool:
        if self.accept("on", "the", "hour"):
            if self.draft.minutes is None:
                self.draft.minutes = frozenset({0})
            return True
        if self.accept("during", "business", "hours") or self.accept("during", "working", "hours"):
            self.draft.window = ((9, 0), (17, 0))
            self.assume(0.8)
            return True
        if not (self.accept("during", "hour") or self.accept("during", "hours")):
            return False
        values = self.number_set(0, 23)
        if values is None:
            return False
        self.draft.hours = values
        return True

    def between_clause(self) -> bool:
        if not self.accept("between"):
            return False
        first = self.clock(bare=True)
        if first is None or not self.accept("and"):
            return False
        last = self.clock(bare=True)
        if last is None:
            return False
        self.draft.window = ((first[0], first[1]), (last[0], last[1]))
        return True

    def time_clause(self) -> bool:
        first = self.clock()
        if first is None:
            return False
        if self.word() in _THROUGH:
            start = self.pos
            self.pos += 1
            last = self.clock(bare=True)
            if last is not None:
                self.draft.window = ((first[0], first[1]), (last[0], last[1]))
                return True
            self.pos = start
        self.draft.times.append(first)
        while True:
            start = self.pos
            if not self.accept_any(",", "and"):
                break
            more = self.clock()
            if more is None:
                self.pos = start
                break
            self.draft.times.append(more)
        return True

    def clock_list(self, *, bare: bool) -> list[tuple[int, int, int]]:
        times: list[tuple[int, int, int]] = []
        first = self.clock(bare=bare)
        if first is None:
            return times
        times.append(first)
        while True:
            start = self.pos
            if not self.accept_any(",", "and"):
                break
            self.accept("at")
            more = self.clock(bare=bare)
            if more is None:
                self.pos = start
                break
            times.append(more)
        return times

    def clock(self, *, bare: bool = False) -> tuple[int, int, int] | None:
        """A time of day: 9am, 9 am, 9:30, 18:30:15, noon, midnight (and 9 when bare)."""
        token = self.peek()
        if token is None:
            return None
        if token.text in ("noon", "midday"):
            self.pos += 1
            return (12, 0, 0)
        if token.text == "midnight":
            self.pos += 1
            return (0, 0, 0)
        if token.kind == "clock":
            value = _clock_value(token.text)
            if value is not None:
                self.pos += 1
            return value
        if token.kind == "number" and token.text.isdigit():
            hour = int(token.text)
            suffix = self.word(1)
            if suffix in ("am", "pm", "a.m", "p.m") and 1 <= hour <= 12:
                self.pos += 2
                self.accept(".")
                return (hour % 12 + (12 if suffix.startswith("p") else 0), 0, 0)
            if bare and 0 <= hour <= 23:
                self.pos += 1
                self.accept("o'clock") or self.accept("oclock")
                return (hour, 0, 0)
        return None

    # -- days and months -------------------------------------------------------------

    def day_clause(self) -> bool:
        self.accept("on")
        self.accept("the")
        draft = self.draft
        if self.accept("if", "it", "is") or self.accept("when", "it", "is"):
            self.accept_any("a", "an")
            days = self.weekday_set()
            if days is None:
                return False
            draft.days_of_week = days
            draft.either = False
            return True
        if self.accept("or", "on"):
            draft.either = True
            return self.day_clause()
        if self.accept("last"):
            return self.last_clause()
        if self.accept("day") or self.accept("days"):
            start = self.pos
            if self.before_last_clause():
                return True
            self.pos = start
            values = self.number_set(1, 31)
            if values is None:
                return False
            self.accept("of", "the", "month") or self.month_of()
            draft.days_of_month = (draft.days_of_month or frozenset()) | values
            self._mark_either()
            return True
        if self.accept("weekday", "nearest", "day") or self.accept("nearest", "weekday", "to"):
            self.accept("the")
            day = self.number_value(1, 31)
            if day is None:
                return False
            self.month_of()
            draft.nearest_weekdays += (day,)
            return True
        nth = self.ordinal_word()
        if nth is not None:
            weekday = self.weekday()
            if weekday is not None:
                draft.nth_weekdays += ((weekday, nth),)
                self.month_of(first_of_quarter=True)
                self._mark_either()
                return True
            if (nth > 1 and self.accept("to", "last", "day")) or self.accept(
                "-", "to", "-", "last", "day"
            ):
                draft.last_day_offsets += (nth - 1,)
                self.month_of(first_of_quarter=False)
                return True
            return False
        ordinals = self.ordinal_set()
        if ordinals is not None:
            self.accept("day")
            self.month_of()
            draft.days_of_month = (draft.days_of_month or frozenset()) | ordinals
            self._mark_either()
            return True
        return self.weekdays_clause()

    def weekdays_clause(self) -> bool:
        draft = self.draft
        weekdays = self.weekday_set()
        if weekdays is not None:
            draft.days_of_week = (draft.days_of_week or frozenset()) | weekdays
            start = self.pos
            self.accept("the")
            dates = self.ordinal_set()
            if dates is not None:  # "Friday the 13th": both
                draft.days_of_month = (draft.days_of_month or frozenset()) | dates
                return True
            self.pos = start
            self._mark_either()
            return True
        return False

    def before_last_clause(self) -> bool:
        # "the day 3 days before the last day of the month"
        count = self.number()
        if count is None or not (self.accept("day") or self.accept("days")):
            return False
        if not self.accept("before", "the", "last", "day"):
            return False
        self.month_of()
        self.draft.last_day_offsets += (count,)
        return True

    def _mark_either(self) -> None:
        """Days of the month and days of the week named side by side: either one matches
        (cron's rule); "if it is" asks for both."""
        draft = self.draft
        month_days = draft.days_of_month is not None or draft.last_day_offsets
        week_days = draft.days_of_week is not None or draft.nth_weekdays or draft.last_weekdays
        if month_days and week_days and not self.excluding:
            draft.either = True

    def last_clause(self) -> bool:
        draft = self.draft
        if self.accept("day"):
            self.month_of(first_of_quarter=False)
            draft.last_day_offsets += (0,)
            return True
        if self.accept("weekday"):
            self.month_of(first_of_quarter=False)
            draft.last_weekday_of_month = True
            return True
        weekday = self.weekday()
        if weekday is None:
            return False
        self.month_of(first_of_quarter=False)
        draft.last_weekdays += (weekday,)
        self._mark_either()
        return True

    def month_of(self, *, first_of_quarter: bool = True) -> bool:
        """ "of the month", "of every month", "of each quarter"."""
        start = self.pos
        if not (self.accept("of") or self.accept("in")):
            return False
        self.accept_any("the", "every", "each", "a")
        if self.accept("month"):
            return True
        if self.accept("quarter"):
            months = (1, 4, 7, 10) if first_of_quarter else (3, 6, 9, 12)
            self.draft.months = frozenset(months)
            return True
        named = self.month_set()
        if named is not None:
            self.draft.months = named
            return True
        self.pos = start
        return False

    def in_clause(self) -> bool:
        if not self.accept("in"):
            return False
        months = self.month_set()
        if months is not None:
            self.draft.months = months
            return True
        amount = self.duration()
        if amount is not None:
            self.draft.relative = amount
            return True
        return False

    def month_set(self) -> frozenset[int] | None:
        return self._set(lambda: self._name(_MONTHS), 1, 12)

    def weekday_set(self) -> frozenset[int] | None:
        word = self.word()
        if word in ("weekday", "weekdays", "workday", "workdays"):
            self.pos += 1
            return frozenset(range(1, 6))
        if word in ("weekend", "weekends"):
            self.pos += 1
            return frozenset({0, 6})
        return self._set(self.weekday, 0, 6, wrap=True)

    def weekday(self) -> int | None:
        word = self.word()
        for name, number in _WEEKDAYS.items():
            if word in (name, name + "s"):
                self.pos += 1
                return number
        return None

    def _name(self, names: dict[str, int]) -> int | None:
        number = names.get(self.word())
        if number is not None:
            self.pos += 1
        return number

    def number_set(self, low: int, high: int) -> frozenset[int] | None:
        return self._set(lambda: self.number_value(low, high), low, high)

    def ordinal_set(self) -> frozenset[int] | None:
        token = self.peek()
        if token is None or token.kind != "number" or token.text.isdigit():
            return None
        return self._set(self.ordinal_value, 1, 31)

    def ordinal_value(self) -> int | None:
        token = self.peek()
        if token is None or token.kind != "number" or token.text.isdigit():
            return None
        value = int(token.text[:-2])
        if not 1 <= value <= 31:
            return None
        self.pos += 1
        return value

    def ordinal_word(self) -> int | None:
        word = self.word()
        if word in _ORDINAL_WORDS:
            self.pos += 1
            return _ORDINAL_WORDS[word]
        token = self.peek()
        if token is not None and token.kind == "number" and not token.text.isdigit():
            value = int(token.text[:-2])
            if 1 <= value <= 5 and self.word(1).removesuffix("s") in _WEEKDAYS:
                self.pos += 1
                return value
            if self.word(1) in ("to", "-") and value > 1:
                self.pos += 1
                return value
        return None

    def _set(
        self, value: Callable[[], int | None], low: int, high: int, *, wrap: bool = False
    ) -> frozenset[int] | None:
        """Items "A", "A through B", "A through B in steps of N", joined by "," and "and"."""
        values: set[int] = set()
        first = True
        while True:
            start = self.pos
            if not first and not self.accept_any(",", "and"):
                break
            item = value()
            if item is None:
                self.pos = start
                break
            first = False
            end = item
            mark = self.pos
            if self.accept_any(*_THROUGH):
                last = value()
                if last is None:
                    self.pos = mark
                else:
                    end = last
            step = 1
            if self.accept("in", "steps", "of"):
                number = self.number()
                if number is None or number < 1:
                    return None
                step = number
            if end < item and wrap:
                values.update(v % (high + 1) for v in range(item, end + high + 2, step))
            else:
                values.update(range(item, max(end, item) + 1, step))
        if first:
            return None
        return frozenset(values)

    def number(self) -> int | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "number" and token.text.isdigit():
            self.pos += 1
            return int(token.text)
        if token.text in _NUMBER_WORDS:
            self.pos += 1
            return _NUMBER_WORDS[token.text]
        return None

    def number_value(self, low: int, high: int) -> int | None:
        token = self.peek()
        if token is None or token.kind != "number":
            return None
        digits = token.text.rstrip("stndrh")
        value = int(digits)
        if not low <= value <= high:
            return None
        self.pos += 1
        return value

    def duration(self) -> timedelta | None:
        total = 0.0
        found = False
        while True:
            start = self.pos
            count = self.number()
            unit = self.unit_word() if count is not None else ""
            if not unit or unit not in _UNITS:
                self.pos = start
                break
            total += count * _UNITS[unit]  # type: ignore[operator]
            found = True
            self.accept_any(",")
            if self.word() == "and" and self.word(1).isdigit():
                self.pos += 1
        return timedelta(seconds=total) if found else None

    # -- one-shot dates --------------------------------------------------------------

    def date_clause(self) -> bool:
        self.accept("once")
        self.accept("on")
        moment = self.moment()
        if moment is None:
            return self.word(-1) == "once"
        if isinstance(moment, datetime):
            self.draft.instants.append(moment)
        else:
            self.draft.dates.append(moment)
        return True

    def moment(self) -> datetime | date | None:
        """A day or an instant: 2027-03-01, 2027-03-01T09:00Z, March 1 (2027), tomorrow,
        today, next/this Tuesday. Instants are aware; dates are local to the zone."""
        token = self.peek()
        if token is None:
            return None
        today = self._local_reference().date()
        if token.kind == "instant":
            self.pos += 1
            return _instant_value(token.text)
        if token.kind == "date":
            self.pos += 1
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                return None
        if self.accept("tomorrow"):
            return today + timedelta(days=1)
        if self.accept("today") or self.accept("tonight"):
            return today
        which = self.accept_any("next", "this", "coming")
        if which:
            weekday = self.weekday()
            if weekday is None:
                if which == "next" and self.accept("week"):
                    return today + timedelta(days=7 - today.weekday())
                if which == "next" and self.accept("month"):
                    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                return None
            ahead = (weekday - today.isoweekday() % 7) % 7
            if which == "next" and ahead == 0:
                ahead = 7
            return today + timedelta(days=ahead)
        month = self._name(_MONTHS)
        if month is not None:
            day = self.number_value(1, 31)
            if day is None:
                return None
            self.accept(",")
            year_token = self.peek()
            if year_token is not None and year_token.kind == "number" and len(year_token.text) == 4:
                self.pos += 1
                year = int(year_token.text)
            else:
                year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
                self.assume(0.9)
            try:
                return date(year, month, day)
            except ValueError:
                return None
        return None

    def instant_list(self) -> list[datetime]:
        found: list[datetime] = []
        while True:
            start = self.pos
            if found and not self.accept_any(",", "and"):
                break
            token = self.peek()
            if token is None or token.kind != "instant":
                self.pos = start
                break
            self.pos += 1
            found.append(_instant_value(token.text))
        return found

    def _local_reference(self) -> datetime:
        return self.reference.astimezone(ZoneInfo(self.zone or "UTC"))

    # -- assembling rules ------------------------------------------------------------

    def _rules(self) -> ScheduleRules:
        zone = ZoneInfo(self.zone or "UTC")
        calendars: list[ScheduleCalendar] = []
        crons: list[str] = []
        intervals: list[ScheduleInterval] = []
        at: list[datetime] = []
        for draft in self.drafts:
            if draft.empty():
                continue
            if draft.instants or draft.dates or draft.relative is not None:
                at.extend(self._one_shots(draft, zone))
                continue
            if draft.interval:
                intervals.extend(self._intervals(draft))
                continue
            for recurrence in self._recurrences(draft):
                if recurrence.needs_cron:
                    crons.append(to_cron(recurrence))
                else:
                    calendars.append(to_calendar(recurrence))
        exclusions = []
        for draft in self.exclusions:
            if draft.empty():
                continue
            recurrence = self._window(draft)
            exclusions.append(to_calendar(recurrence, window=True))
        if not (calendars or crons or intervals or at):
            raise InvalidArgumentError.single(
                "text", f'"{self.text}" names no time to fire; say when, e.g. "every day at 9am"'
            )
        return ScheduleRules(
            calendars=tuple(calendars),
            cron_expressions=tuple(crons),
            intervals=tuple(intervals),
            at=tuple(sorted(at)),
            exclude_calendars=tuple(exclusions),
            timezone=self.zone,
            start_time=self._bound(self.start, zone),
            end_time=self._bound(self.end, zone),
            jitter=self.jitter,
            dst_gap_policy=self.gap,
            dst_overlap_policy=self.overlap,
        )

    def _bound(self, moment: datetime | date | None, zone: ZoneInfo) -> datetime | None:
        if moment is None:
            return None
        if isinstance(moment, datetime):
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=zone)
        return _local_instant(moment, time(0), zone).astimezone(UTC)

    def _one_shots(self, draft: _Draft, zone: ZoneInfo) -> list[datetime]:
        found = [i if i.tzinfo else i.replace(tzinfo=zone) for i in draft.instants]
        times = draft.times or ([] if draft.instants or draft.relative else [(0, 0, 0)])
        if draft.dates and not draft.times:
            self.assume(0.7)
        if draft.relative is not None:
            base = self.reference + draft.relative
            if not draft.times:
                found.append(base)
            else:
                day = base.astimezone(zone).date()
                found.extend(_local_instant(day, time(h, m, s), zone) for h, m, s in draft.times)
        for day in draft.dates:
            found.extend(_local_instant(day, time(h, m, s), zone) for h, m, s in times)
        return [moment.astimezone(UTC) for moment in found]

    def _intervals(self, draft: _Draft) -> list[ScheduleInterval]:
        every = draft.interval
        if every % _DAY:
            offset = draft.interval_offset or 0
            return [
                ScheduleInterval(
                    every=timedelta(seconds=every), offset=timedelta(seconds=offset % every)
                )
            ]
        days = (draft.interval_offset or 0) // _DAY
        if draft.interval_weekday is not None:
            days += (draft.interval_weekday - _EPOCH_WEEKDAY) % 7
        times = draft.times or [(0, 0, 0)]
        if not draft.times:
            self.assume(0.8)
        return [
            ScheduleInterval(
                every=timedelta(seconds=every),
                offset=timedelta(seconds=(days * _DAY + h * 3600 + m * 60 + s) % every),
            )
            for h, m, s in times
        ]

    def _recurrences(self, draft: _Draft) -> list[Recurrence]:
        day_fields = self._day_fields(draft)
        self.day_fields_out: dict[str, object] = day_fields
        groups = self._time_groups(draft)
        return [replace(Recurrence(**day_fields), **times) for times in groups]  # type: ignore[arg-type]

    def _day_fields(self, draft: _Draft) -> dict[str, object]:
        return {
            "days_of_month": draft.days_of_month,
            "days_of_week": draft.days_of_week,
            "either": draft.either,
            "last_day_offsets": tuple(sorted(set(draft.last_day_offsets))),
            "nearest_weekdays": tuple(sorted(set(draft.nearest_weekdays))),
            "last_weekday_of_month": draft.last_weekday_of_month,
            "last_weekdays": tuple(sorted(set(draft.last_weekdays))),
            "nth_weekdays": tuple(sorted(set(draft.nth_weekdays))),
            "months": draft.months if draft.months is not None else MONTHS,
        }

    def _time_groups(self, draft: _Draft) -> list[dict[str, frozenset[int]]]:
        """The time-of-day fields of the rule: one group per set of times that one
        calendar holds, with the calendar defaults for the fields not given."""
        if draft.times:
            return _listed_time_groups(draft.times)
        seconds, minutes, hours = draft.seconds, draft.minutes, draft.hours
        extra: list[dict[str, frozenset[int]]] = []
        if draft.window is not None:
            hours, minutes, extra = self._windowed(draft)
        elif draft.starting_at is not None:
            h0, m0 = draft.starting_at
            if draft.cadence == "hour" and hours is not None and len(hours) > 1:
                hours = frozenset(range(h0, 24, sorted(hours)[1]))
                minutes = frozenset({m0})
            elif minutes is not None and len(minutes) > 1:
                step = sorted(minutes)[1]
                minutes = frozenset(range(m0 % step, 60, step))
                hours = frozenset(range(h0, 24))
        levels: list[frozenset[int] | None] = [seconds, minutes, hours]
        day_given = draft.day_set or draft.restricts_days
        finest = next(
            (i for i, v in enumerate(levels) if v is not None),
            3 if day_given else (4 if draft.months is not None else 5),
        )
        if finest == 5:
            raise InvalidArgumentError.single(
                "text", f'"{self.text}" names no time to fire; say when, e.g. "every day at 9am"'
            )
        if finest >= 3:
            self.assume(0.8)
        if finest == 4 and not day_given:
            self.day_fields_out["days_of_month"] = frozenset({1})
        full = (SECONDS, MINUTES, HOURS)
        resolved = [
            v if v is not None else (frozenset({0}) if i < finest else full[i])
            for i, v in enumerate(levels)
        ]
        group = {"seconds": resolved[0], "minutes": resolved[1], "hours": resolved[2]}
        return [group, *extra]

    def _windowed(
        self, draft: _Draft
    ) -> tuple[frozenset[int], frozenset[int] | None, list[dict[str, frozenset[int]]]]:
        """Hours and minutes of a cadence inside "from 9am to 5pm" (both ends included),
        and the end as a rule of its own when the cadence's hours stop before it."""
        assert draft.window is not None
        (h1, m1), (h2, m2) = draft.window
        minutes = draft.minutes
        extra: list[dict[str, frozenset[int]]] = []
        if draft.cadence == "minute" or (minutes is not None and draft.cadence != "hour"):
            if m2 == 0 and (minutes is None or 0 in minutes):
                end = {"hours": frozenset({h2}), "minutes": frozenset({0})}
                extra.append({**end, "seconds": draft.seconds or frozenset({0})})
            if m1:
                self.assume(0.8)
            return frozenset(range(h1, h2 if m2 == 0 else h2 + 1)), minutes, extra
        hours = draft.hours
        step = sorted(hours)[1] if draft.cadence == "hour" and hours and len(hours) > 1 else 1
        if draft.cadence != "hour":
            self.assume(0.7)
        return frozenset(range(h1, h2 + 1, step)), frozenset({m1}), extra

    def _window(self, draft: _Draft) -> Recurrence:
        if draft.times:
            hours = frozenset(h for h, _, _ in draft.times)
            minutes = frozenset(m for _, m, _ in draft.times)
            seconds = frozenset(s for _, _, s in draft.times)
        else:
            seconds = draft.seconds or SECONDS
            minutes = draft.minutes or MINUTES
            hours = draft.hours or HOURS
        fields = self._day_fields(draft)
        recurrence = Recurrence(seconds=seconds, minutes=minutes, hours=hours, **fields)  # type: ignore[arg-type]
        if recurrence.needs_cron or recurrence == Recurrence(
            seconds=SECONDS, minutes=MINUTES, hours=HOURS
        ):
            raise InvalidArgumentError.single(
                "text",
                "an exception names months, days of the month, weekdays or hours "
                '("except in December", "except on weekends")',
            )
        return recurrence


def _clock_value(text: str) -> tuple[int, int, int] | None:
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


def _instant_value(text: str) -> datetime:
    return datetime.fromisoformat(text.upper().replace(" ", "T"))


def _listed_time_groups(times: list[tuple[int, int, int]]) -> list[dict[str, frozenset[int]]]:
    """Times of day as calendars: hours sharing their minutes and seconds go together."""
    by_hour: dict[int, set[tuple[int, int]]] = {}
    for h, m, s in times:
        by_hour.setdefault(h, set()).add((m, s))
    merged: dict[frozenset[tuple[int, int]], set[int]] = {}
    for hour, hour_pairs in by_hour.items():
        merged.setdefault(frozenset(hour_pairs), set()).add(hour)
    groups: list[dict[str, frozenset[int]]] = []
    for pairs, hours in sorted(merged.items(), key=lambda item: min(item[1])):
        minutes = frozenset(m for m, _ in pairs)
        seconds = frozenset(s for _, s in pairs)
        if len(minutes) * len(seconds) == len(pairs):
            groups.append({"hours": frozenset(hours), "minutes": minutes, "seconds": seconds})
            continue
        groups.extend(
            {"hours": frozenset(hours), "minutes": frozenset({m}), "seconds": frozenset({s})}
            for m, s in sorted(pairs)
        )
    return groups


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time as an instant: the first of two in a DST overlap, and the end of
    the gap for a time a DST change skips (as the schedules' default DST policies do)."""
    wall = datetime.combine(day, at)
    for _ in range(24 * 60):
        moment = wall.replace(tzinfo=zone)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            return moment
        wall = (wall + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return wall.replace(tzinfo=zone)
