"""A stored schedule as every read shows it: with the facts computed at read time (its
future fire times, its recent and running objectives, its rules in English). The future
fire times are the one cache of schedule reads, kept by (id, etag, pending nominal time), so
a kept value can never be stale; the schedule use cases (schedules.py) present what they
read and write through here."""

import threading
from dataclasses import replace
from datetime import datetime, timedelta

from cachetools import LRUCache

from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import AgentSchedule, RecentFire
from sundial.store.unit_of_work import UnitOfWork
from sundial.timing import CompiledSchedule, compile_schedule, describe_rules

FUTURE_FIRE_TIMES = 10
# Schedules whose future fire times are kept (each a tuple of FUTURE_FIRE_TIMES times).
FUTURE_TIMES_CACHE_SIZE = 4096


class SchedulePresenter:
    """Adds the read-time facts to stored schedules, keeping their future fire times."""

    def __init__(self) -> None:
        # The one cache of schedule reads; cachetools' caches are not thread-safe alone.
        self._future_times: LRUCache[tuple[str, str, datetime], tuple[datetime, ...]] = LRUCache(
            maxsize=FUTURE_TIMES_CACHE_SIZE
        )
        self._future_times_lock = threading.Lock()

    def read(self, uow: UnitOfWork, workspace_id: str, schedule_id: str) -> AgentSchedule | None:
        """The stored schedule, presented (one statement)."""
        found = uow.schedules.get_with_fires(workspace_id, schedule_id)
        if found is None:
            return None
        schedule, fires = found
        return self.with_read_time_facts(
            schedule, fires.recent.get(schedule_id, []), fires.running.get(schedule_id, [])
        )

    def present(self, uow: UnitOfWork, schedules: list[AgentSchedule]) -> list[AgentSchedule]:
        """Adds the facts computed at read time: future fire times and recent objectives."""
        ids = [s.metadata.id for s in schedules if s.metadata.id]
        fires = uow.objectives.read_time_facts(ids)
        return [
            self.with_read_time_facts(
                schedule,
                fires.recent.get(schedule.metadata.id, []),
                fires.running.get(schedule.metadata.id, []),
            )
            for schedule in schedules
        ]

    def with_read_time_facts(
        self, schedule: AgentSchedule, recent: list[RecentFire], running: list[str]
    ) -> AgentSchedule:
        """`schedule` with its recent fires (newest first), running objectives, future fire
        times and description."""
        info = replace(
            schedule.info,
            recent_fires=tuple(recent),
            running_objective_ids=tuple(running),
            # The newest objective of any origin; the engine's column knows only its fires.
            last_objective_id=recent[0].objective_id if recent else schedule.info.last_objective_id,
            last_objective_status=recent[0].status if recent else ObjectiveStatus.UNSPECIFIED,
            future_fire_times=self._future_fire_times(schedule),
            description=describe_rules(schedule.spec.schedule),
        )
        return replace(schedule, info=info)

    def _future_fire_times(self, schedule: AgentSchedule) -> tuple[datetime, ...]:
        """The pending fire and the ones after it. They depend only on the rules (fixed
        for an etag) and the pending nominal time, not on the clock, so they are kept by
        those (future_times_key): any change the engine makes moves the nominal time, any
        edit the etag."""
        nominal = schedule.info.next_nominal_at
        if nominal is None:
            return ()
        key = future_times_key(schedule)
        with self._future_times_lock:
            times = self._future_times.get(key) if key is not None else None
        if times is None:
            compiled = compiled_for(schedule)
            fires = compiled.fire_times(nominal - timedelta(microseconds=1), FUTURE_FIRE_TIMES)
            times = tuple(fire.at for fire in fires)
            if key is not None:
                with self._future_times_lock:
                    self._future_times[key] = times
        return times


def compiled_for(schedule: AgentSchedule) -> CompiledSchedule:
    """The schedule's compiled rules (compile_schedule shares the work of equal rules).
    Stored specs were valid when written; a tighter minimum interval since then must not
    make them unreadable, so they are compiled without it."""
    return compile_schedule(
        schedule.spec.schedule, schedule_id=schedule.metadata.id, min_interval=timedelta(0)
    )


def future_times_key(schedule: AgentSchedule) -> tuple[str, str, datetime] | None:
    """What a schedule's future fire times are kept by: its id, its etag (which changes with
    every edit, and so with its rules) and its pending nominal time (which the engine moves
    as it fires). None for a schedule not stored yet (validate_only), which has no etag."""
    meta = schedule.metadata
    nominal = schedule.info.next_nominal_at
    if not meta.id or not meta.etag or nominal is None:
        return None
    return (meta.id, meta.etag, nominal)
