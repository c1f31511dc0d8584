"""The cadence clauses of schedule text: how often a rule repeats, by count and unit
("every 90 minutes", "every other monday", "every 2 weeks on friday", "every 1 hour 30
minutes of elapsed time", "every quarter", "offset by 5 minutes"), by adverb ("hourly",
"nightly", "monthly") or by count per unit ("twice a day", "4 times an hour")."""

from sundial.timing.phrase_days import DayClauses
from sundial.timing.phrase_words import DAY, TIMES_A_DAY, UNITS
from sundial.timing.recurrences import HOURS, MINUTES, MONTHS, SECONDS


class CadenceClauses(DayClauses):
    """Reads the cadence clauses into the current draft."""

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
        if count < 1:
            return False
        draft = self.draft
        weekday = self.weekday()
        if weekday is not None:
            # "every other monday": two weeks apart, on Mondays.
            draft.interval = 14 * DAY if count == 2 and not explicit else count * 7 * DAY
            draft.interval_weekday = weekday
            return True
        total = 0.0
        unit = self.unit_word()
        if unit == "month" and 12 % count == 0 and count < 12:
            self.draft.months = frozenset(range(1, 13, count))  # "every 3 months": the 1st
            self.draft.cadence = "month"
            return True
        if unit not in UNITS:
            return False
        total += count * UNITS[unit]
        while True:  # "every 1 hour 30 minutes"
            start = self.pos
            more = self.number()
            more_unit = self.unit_word() if more is not None else ""
            if more is None or more_unit not in UNITS:
                self.pos = start
                break
            total += more * UNITS[more_unit]
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
            draft.cadence = "month"
        elif unit == "quarter":
            draft.months = frozenset({1, 4, 7, 10})
            draft.days_of_month = frozenset({1})
        elif unit == "year":
            draft.months = frozenset({1})
            draft.cadence = "month"
        return True

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
        count = TIMES_A_DAY.get(self.word())
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
