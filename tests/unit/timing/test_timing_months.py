"""Month plans: per-day wall seconds after exclusions, and the day scans built on them."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from sundial.timing.cron import parse_cron
from sundial.timing.days import WallRule
from sundial.timing.months import MonthPlanner


def wall(expression: str) -> WallRule:
    rule = parse_cron(expression)
    assert isinstance(rule, WallRule)
    return rule


def ordinal(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal()


def test_plan_takes_out_excluded_seconds() -> None:
    planner = MonthPlanner([wall("0 9,17 * * *")], [wall("0 17 * * 5")])
    cursor = planner.locate(ordinal(2024, 3, 8))  # a Friday
    plan = cursor.plan
    assert plan.seconds[8] == (9 * 3600,)
    assert plan.seconds[7] == (9 * 3600, 17 * 3600)
    assert plan.fire_mask >> 1 & 1


def test_whole_day_exclusions_close_the_day() -> None:
    weekend = parse_cron("* * * * * 0,6")
    assert isinstance(weekend, WallRule)
    planner = MonthPlanner([wall("0 9 * * *")], [weekend])
    saturday = ordinal(2024, 3, 9)
    assert planner.next_open_day(saturday, saturday + 10) == ordinal(2024, 3, 11)
    assert planner.next_fire_day(saturday, saturday + 10) == ordinal(2024, 3, 11)
    assert planner.excluded_at((saturday - ordinal(1970, 1, 1)) * 86400 + 12 * 3600)


def test_union_of_rules_is_sorted_and_unique() -> None:
    planner = MonthPlanner([wall("0 9,12 * * *"), wall("0 12,15 * * *")], [])
    plan = planner.locate(ordinal(2024, 1, 10)).plan
    assert plan.seconds[10] == (9 * 3600, 12 * 3600, 15 * 3600)


def test_never_firing_rules_are_known_without_a_scan() -> None:
    planner = MonthPlanner([wall("0 0 * * *")], [wall("0 0 * * *")])
    assert not planner.has_fires
    assert planner.always_excluded(0)
    assert not planner.always_excluded(1)


SPARSE = [wall("0 0 29 2 1"), wall("0 12 L 6 *"), wall("0 6 13 * 5")]


@settings(max_examples=40, deadline=None)
@given(
    rules=st.lists(st.sampled_from(SPARSE), min_size=1, max_size=2, unique_by=id),
    queries=st.lists(st.integers(ordinal(1990, 1, 1), ordinal(2060, 1, 1)), min_size=1, max_size=8),
    span=st.integers(0, 3000),
)
def test_next_fire_day_matches_a_day_by_day_scan(
    rules: list[WallRule], queries: list[int], span: int
) -> None:
    planner = MonthPlanner(rules, [])
    for start in queries:  # in any order: the scan's memory must never give a stale answer
        expected = None
        for day in range(start, start + span + 1):
            cursor = planner.locate(day)
            if cursor.plan.seconds[day - cursor.first + 1]:
                expected = day
                break
        assert planner.next_fire_day(start, start + span) == expected
