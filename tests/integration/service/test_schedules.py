"""ScheduleService.get's reuse of what it presented: exact while nothing changed, fresh as
soon as the schedule or its objectives change."""

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from sundial.domain.objectives import ObjectiveStatus
from sundial.service.firing import FiringService
from sundial.store.firing import objectives
from tests.support.tenants import MINUTE


def test_get_presents_each_change_of_a_schedule_and_its_objectives(database, tenant, clock):
    schedule_id = tenant.schedule()

    def get() -> Any:
        return tenant.schedules.get(tenant.principal, tenant.workspace_id, "-", schedule_id)

    first = get()
    assert get() is first  # nothing changed: the same presented schedule
    assert first.info.recent_fires == ()

    clock.advance(MINUTE + timedelta(seconds=1))
    FiringService(database, clock).fire_due()
    fired = get()
    [recent] = fired.info.recent_fires
    assert recent.status is ObjectiveStatus.PENDING
    assert fired.info.running_objective_ids == (recent.objective_id,)
    assert fired.info.future_fire_times[0] == first.info.future_fire_times[1]

    # A worker finishes the objective: only the objectives table changes.
    with database.writer.begin() as connection:
        connection.execute(
            update(objectives)
            .where(objectives.c.id == recent.objective_id)
            .values(status="SUCCEEDED", completed_at=clock.now())
        )
    finished = get()
    assert finished is not fired
    assert finished.info.recent_fires[0].status is ObjectiveStatus.SUCCEEDED
    assert finished.info.running_objective_ids == ()
    assert finished.info.last_objective_status is ObjectiveStatus.SUCCEEDED
