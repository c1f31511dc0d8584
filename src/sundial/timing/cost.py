"""Work budgets: how much the engine may examine to answer one question about a schedule.

A spec such as "every second, except hours 0-11 and 12-23" makes the engine examine
every second of 400 years before it can say that nothing fires. Counting the work
(candidate instants and days examined) instead of timing it keeps the answer the same on
every machine, so a spec is accepted or rejected alike everywhere."""

from sundial.domain.errors import FieldViolation, InvalidArgumentError

# A unit is about the work of examining one candidate instant against one exclusion;
# visiting a day or a month costs more, as weighed below. COMPILE_BUDGET is a few tens of
# milliseconds of CPU; a query (say the next fire after some instant) may take more, since
# accepted specs should not fail one, but is still bounded.
COMPILE_BUDGET = 200_000
QUERY_BUDGET = 2_000_000
DAY_COST = 8
MONTH_COST = 20


class ScheduleTooCostlyError(InvalidArgumentError):
    """Answering a question about the schedule needs more work than a budget allows."""

    def __init__(self, field: str = "spec.schedule") -> None:
        super().__init__(
            [
                FieldViolation(
                    field,
                    "the schedule is too costly to evaluate: its rules and exclusions leave "
                    "so few fire times that finding them takes too much work; simplify the "
                    "exclusions or use coarser rules",
                )
            ]
        )


class WorkBudget:
    """A count of work units left; `spend` raises ScheduleTooCostlyError past zero."""

    __slots__ = ("field", "left")

    def __init__(self, units: int, field: str = "spec.schedule") -> None:
        self.left = units
        self.field = field

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise ScheduleTooCostlyError(self.field)
