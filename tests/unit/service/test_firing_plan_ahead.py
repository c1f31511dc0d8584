"""When a plan made ahead of a batch still holds: the same row, a "now" inside the span in
which planning again would give the same plan."""

from datetime import UTC, datetime, timedelta

import pytest

from sundial.domain.objectives import ObjectiveStatus
from sundial.engine.planner import FirePlan, PlannedObjective
from sundial.service.firing import _PlannedAhead
from sundial.store.firing import DueRow

DUE = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
ROW = DueRow("sched_a", "acct", "ws", "agent", "prof", 3, DUE, DUE, 7)
PLANNED = _PlannedAhead(
    ROW,
    DUE,
    FirePlan(
        "sched_a",
        objectives=[PlannedObjective(DUE, ObjectiveStatus.PENDING)],
        next_nominal_at=DUE + timedelta(minutes=1),
        next_fire_at=DUE + timedelta(minutes=1),
        scheduled_fires=8,
    ),
    DUE + timedelta(seconds=50),
)


@pytest.mark.parametrize(
    ("row", "now", "holds"),
    [
        (ROW, DUE, True),
        (ROW, DUE + timedelta(seconds=50), True),
        (ROW, DUE - timedelta(microseconds=1), False),
        (ROW, DUE + timedelta(seconds=51), False),
        (ROW, DUE + timedelta(minutes=1), False),
        (DueRow("sched_a", "acct", "ws", "agent", "prof", 4, DUE, DUE, 7), DUE, False),
        (DueRow("sched_a", "acct", "ws", "agent", "prof", 3, DUE, DUE, 8), DUE, False),
    ],
    ids=[
        "at the moment planned for",
        "at the end of the catch-up window",
        "before the moment planned for",
        "after the catch-up window",
        "when the next fire fell due",
        "another revision",
        "another fire count",
    ],
)
def test_a_plan_made_ahead_holds_only_while_planning_again_would_agree(row, now, holds):
    assert PLANNED.holds_for(row, now) is holds
