"""The day and month clauses of schedule text: weekdays ("weekdays", "mondays and
thursdays"), days of the month ("the 1st and 15th", "the last day of the month", "the first
monday of every month", "friday the 13th") and months ("in december", "of each quarter")."""

from sundial.timing.phrase_rules import RuleAssembly


class DayClauses(RuleAssembly):
    """Reads the day and month clauses into the current draft."""

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
