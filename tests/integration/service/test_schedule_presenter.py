"""What a schedule's future fire times are kept by: a kept value can never be stale, as
every edit changes the etag and every fire moves the pending nominal time."""

from dataclasses import replace

from sundial.service.schedule_presenter import future_times_key
from tests.support.tenants import MINUTE


def test_future_times_are_kept_by_id_etag_and_pending_nominal_time(tenant, clock):
    schedule_id = tenant.schedule()
    schedule = tenant.schedules.get(tenant.principal, tenant.workspace_id, "-", schedule_id)
    meta, nominal = schedule.metadata, schedule.info.next_nominal_at
    assert nominal is not None
    assert future_times_key(schedule) == (schedule_id, meta.etag, nominal)

    edited = replace(schedule, metadata=replace(meta, etag="another"))
    moved = replace(schedule, info=replace(schedule.info, next_nominal_at=nominal + MINUTE))
    keys = {future_times_key(s) for s in (schedule, edited, moved)}
    assert len(keys) == 3
    # Not stored yet (validate_only): no etag, so nothing is kept for it.
    assert future_times_key(replace(schedule, metadata=replace(meta, id="", etag=""))) is None
    assert (
        future_times_key(replace(schedule, info=replace(schedule.info, next_nominal_at=None)))
        is None
    )
