"""Every spec is decided within a bounded amount of work (timing/cost.py)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRange,
    ScheduleRules,
)
from sundial.timing import compile_schedule
from sundial.timing.cost import ScheduleTooCostlyError, WorkBudget

R = ScheduleRange
C = ScheduleCalendar
EVERY_SECOND = (ScheduleInterval(every=timedelta(seconds=1)),)

# The spec from issue #12 that pinned a core for minutes: two halves of the day excluded.
HALF_DAYS_EXCLUDED = ScheduleRules(
    intervals=EVERY_SECOND,
    exclude_calendars=(C(hour=(R(0, 11),)), C(hour=(R(12, 23),))),
    timezone="America/New_York",
)

ADVERSARIAL = [
    pytest.param(HALF_DAYS_EXCLUDED, id="issue-example"),
    pytest.param(
        ScheduleRules(
            intervals=EVERY_SECOND,
            exclude_calendars=tuple(C(second=(R(s),)) for s in range(59)),
            timezone="America/New_York",
        ),
        id="fifty-nine-exclusions",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(seconds=7)),),
            exclude_calendars=tuple(C(second=(R(s),)) for s in range(60)),
            timezone="Europe/Berlin",
        ),
        id="never-matching-seven-seconds",
    ),
    pytest.param(
        ScheduleRules(
            intervals=EVERY_SECOND,
            exclude_calendars=(
                C(hour=(R(0, 11),)),
                C(hour=(R(12, 23),), month=(R(1, 11),)),
                C(hour=(R(12, 23),), day_of_month=(R(1, 30),)),
            ),
            timezone="America/New_York",
        ),
        id="one-second-excluded-almost-everywhere",
    ),
    pytest.param(
        ScheduleRules(cron_expressions=("0 0 29 2 1",), timezone="America/New_York"),
        id="cron-feb-29-on-a-monday",
    ),
    pytest.param(
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(seconds=13)),),
            exclude_calendars=(C(hour=(R(0, 22),)), C(minute=(R(0, 58),))),
            timezone="Australia/Lord_Howe",
        ),
        id="uneven-interval-half-hour-dst",
    ),
]


@pytest.mark.parametrize("rules", ADVERSARIAL)
@pytest.mark.parametrize("min_interval", [timedelta(0), timedelta(minutes=1)], ids=["0", "1m"])
def test_adversarial_specs_are_decided_within_the_budget(
    rules: ScheduleRules, min_interval: timedelta
) -> None:
    try:
        compiled = compile_schedule(rules, min_interval=min_interval)
    except InvalidArgumentError:
        return
    # Accepted: its first fires come within one query's budget too.
    compiled.fire_times(datetime(2025, 1, 1, tzinfo=UTC), 10)


def test_the_issue_example_is_rejected_as_too_costly() -> None:
    with pytest.raises(ScheduleTooCostlyError) as caught:
        compile_schedule(HALF_DAYS_EXCLUDED)
    [violation] = caught.value.violations
    assert violation.field == "spec.schedule"
    assert "too costly to evaluate" in violation.description


@pytest.mark.parametrize(
    "rules",
    [
        ScheduleRules(
            intervals=EVERY_SECOND,
            exclude_calendars=(C(hour=(R(9, 17),), day_of_week=(R(1, 5),)),),
            timezone="America/New_York",
        ),
        ScheduleRules(
            intervals=(ScheduleInterval(every=timedelta(minutes=1)),),
            exclude_calendars=(C(hour=(R(0, 6),)), C(day_of_week=(R(0), R(6)))),
            timezone="Europe/Berlin",
        ),
        ScheduleRules(cron_expressions=("0 12 29 2 *",), timezone="America/New_York"),
    ],
    ids=["every-second-outside-office-hours", "minutely-on-weekdays", "leap-day"],
)
def test_ordinary_specs_are_accepted(rules: ScheduleRules) -> None:
    compiled = compile_schedule(rules, min_interval=timedelta(0))
    assert len(compiled.fire_times(datetime(2025, 1, 1, tzinfo=UTC), 5)) == 5


def test_a_query_past_its_budget_raises() -> None:
    compiled = compile_schedule(ScheduleRules(cron_expressions=("@daily",)))
    assert next(compiled.instants(1709251200, WorkBudget(100))) == 1709337600
    with pytest.raises(ScheduleTooCostlyError):
        next(compiled.instants(1709251200, WorkBudget(5)))


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC"])
def test_fires_from_year_one_are_the_first_the_engine_represents(zone: str) -> None:
    rules = ScheduleRules(
        cron_expressions=("0 9 * * *",),
        at=(datetime(2030, 1, 1, tzinfo=UTC),),
        timezone=zone,
    )
    fires = compile_schedule(rules).fire_times(datetime(1, 1, 1, tzinfo=UTC), 2)
    assert [fire.nominal.astimezone(ZoneInfo(zone)).year for fire in fires] == [2, 2]
    assert fires[0].nominal < fires[1].nominal
