"""Reading values from the tokens of schedule text: numbers, ordinals, sets ("Monday
through Friday", "1st and 15th"), times of day, durations and days. The base of the schedule
grammar's reader (timing.phrases); each method consumes its value or leaves the position
where it was."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sundial.timing.phrase_words import (
    FIRST_YEAR,
    LAST_YEAR,
    MONTH_WORDS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    THROUGH,
    UNITS,
    WEEKDAYS,
    Token,
    clock_value,
    instant_value,
    tokenize,
)

# The largest count of units a duration may have ("every 1000000 minutes").
MAX_COUNT = 1_000_000


class TokenReader:
    """A position in the tokens of one text, the zone and reference instant relative days are
    read in, and the confidence so far."""

    def __init__(self, text: str, zone: str, reference: datetime) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.zone = zone
        self.reference = reference
        self.confidence = 1.0

    def peek(self, offset: int = 0) -> Token | None:
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

    def unit_word(self) -> str:
        word = self.word()
        for name in (*UNITS, "month", "quarter", "year"):
            if word in (name, name + "s", name + "es"):
                self.pos += 1
                return {"sec": "second", "min": "minute", "hr": "hour"}.get(name, name)
        return ""

    def month_set(self) -> frozenset[int] | None:
        return self._set(lambda: self._name(MONTH_WORDS), 1, 12)

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
        for name, number in WEEKDAYS.items():
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
        if word in ORDINAL_WORDS:
            self.pos += 1
            return ORDINAL_WORDS[word]
        token = self.peek()
        if token is not None and token.kind == "number" and not token.text.isdigit():
            value = int(token.text[:-2])
            if 1 <= value <= 5 and self.word(1).removesuffix("s") in WEEKDAYS:
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
            if self.accept_any(*THROUGH):
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
            if len(token.text) > len(str(MAX_COUNT)) or int(token.text) > MAX_COUNT:
                return None  # no schedule counts that far, and timedelta could not hold it
            self.pos += 1
            return int(token.text)
        if token.text in NUMBER_WORDS:
            self.pos += 1
            return NUMBER_WORDS[token.text]
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
            if not unit or unit not in UNITS:
                self.pos = start
                break
            total += count * UNITS[unit]  # type: ignore[operator]
            found = True
            self.accept_any(",")
            if self.word() == "and" and self.word(1).isdigit():
                self.pos += 1
        return timedelta(seconds=total) if found else None

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
            value = clock_value(token.text)
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

    def moment(self) -> datetime | date | None:
        """A day or an instant: 2027-03-01, 2027-03-01T09:00Z, March 1 (2027), tomorrow,
        today, next/this Tuesday. Instants are aware; dates are local to the zone."""
        token = self.peek()
        if token is None:
            return None
        today = self._local_reference().date()
        if token.kind == "instant":
            instant = instant_value(token.text)
            if instant is not None:
                self.pos += 1
            return instant
        if token.kind == "date":
            try:
                given = date.fromisoformat(token.text)
            except ValueError:
                return None
            if not FIRST_YEAR <= given.year <= LAST_YEAR:
                return None
            self.pos += 1
            return given
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
        month = self._name(MONTH_WORDS)
        if month is not None:
            day = self.number_value(1, 31)
            if day is None:
                return None
            self.accept(",")
            year_token = self.peek()
            if year_token is not None and year_token.text.isdigit() and len(year_token.text) == 4:
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
            instant = instant_value(token.text) if token and token.kind == "instant" else None
            if instant is None:
                self.pos = start
                break
            self.pos += 1
            found.append(instant)
        return found

    def _local_reference(self) -> datetime:
        return self.reference.astimezone(ZoneInfo(self.zone or "UTC"))
