"""Stats of a workspace and of one schedule, and the firing engine's status (seed 003's
`stats`, per-job stats and `status`). Each reads one bounded window of objectives through
an index (store.repositories.insight)."""

from collections import Counter
from datetime import datetime, timedelta

from sundial.domain.clock import Clock
from sundial.domain.insight import (
    EngineStatus,
    FireCounts,
    ScheduleCounts,
    ScheduleStats,
    WorkspaceStats,
)
from sundial.domain.objectives import TriggerKind
from sundial.domain.principals import Principal
from sundial.domain.schedules import ScheduleStatus
from sundial.engine.loop import MAX_SLEEP
from sundial.service.insight_windows import (
    TICK,
    checked_window,
    checked_zone,
    nearest_rank,
    objective_stats,
    start_of_day,
)
from sundial.service.schedules import require_schedule
from sundial.service.tenancy import require_workspace
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

DEFAULT_STATS_WINDOW = timedelta(hours=24)
# A replica that has not reported for this long is not counted as running.
REPLICA_RECENT = timedelta(seconds=30)
# The recent fire lag is over the scheduled fires of this last stretch.
LAG_WINDOW = timedelta(minutes=15)


class StatsService:
    """Workspace and schedule stats, and engine status, for callers who may read the
    workspace."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def workspace_stats(
        self,
        principal: Principal,
        workspace_id: str,
        *,
        window: timedelta | None = None,
        time_zone: str = "",
    ) -> WorkspaceStats:
        span = checked_window(window, DEFAULT_STATS_WINDOW, "window")
        _, zone = checked_zone(time_zone)
        now = self._clock.now()
        today = start_of_day(now, zone)
        start = now - span
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            by_status = uow.insight.schedule_counts(workspace_id)
            fired = uow.insight.objectives_fired(workspace_id, min(start, today), now + TICK)
        return WorkspaceStats(
            schedules=ScheduleCounts(
                active=by_status.get(ScheduleStatus.ACTIVE, 0),
                paused=by_status.get(ScheduleStatus.PAUSED, 0),
                archived=by_status.get(ScheduleStatus.ARCHIVED, 0),
                total=sum(by_status.values()),
            ),
            today=objective_stats(fired, today, now),
            window=objective_stats(fired, start, now),
        )

    def schedule_stats(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        *,
        window: timedelta | None = None,
        time_zone: str = "",
    ) -> ScheduleStats:
        span = checked_window(window, DEFAULT_STATS_WINDOW, "window")
        _, zone = checked_zone(time_zone)
        now = self._clock.now()
        today = start_of_day(now, zone)
        start = now - span
        with UnitOfWork(self._database, write=False) as uow:
            schedule = require_schedule(uow, principal, workspace_id, agent_id, schedule_id)
            fired = uow.insight.objectives_fired(
                workspace_id, min(start, today), now + TICK, schedule_id=schedule_id
            )
            missed, skipped = uow.insight.missed_and_skipped(
                schedule_id, start.replace(second=0, microsecond=0), now + TICK
            )
        kinds = Counter(o.trigger_kind for o in fired if o.fired_at >= start)
        return ScheduleStats(
            schedule_id=schedule_id,
            today=objective_stats(fired, today, now),
            window=objective_stats(fired, start, now),
            window_fires=FireCounts(
                scheduled=kinds[TriggerKind.SCHEDULED],
                manual=kinds[TriggerKind.MANUAL],
                backfill=kinds[TriggerKind.BACKFILL],
                retry=kinds[TriggerKind.RETRY],
            ),
            lifetime_missed_fires=schedule.info.missed_fires,
            lifetime_skipped_fires=schedule.info.skipped_fires,
            window_missed_fires=missed,
            window_skipped_fires=skipped,
        )

    def engine_status(self, principal: Principal, workspace_id: str) -> EngineStatus:
        now = self._clock.now()
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            replicas = uow.insight.replicas_seen_since(now - REPLICA_RECENT)
            earliest = uow.insight.earliest_next_fire() if replicas else None
            lags = uow.insight.scheduled_lags(workspace_id, now - LAG_WINDOW, now + TICK)
        latest = max(replicas, key=lambda r: (r.last_pass_at, r.replica_id), default=None)
        return EngineStatus(
            running=bool(replicas),
            replicas=tuple(replicas),
            last_pass_at=None if latest is None else latest.last_pass_at,
            schedules_examined_last_pass=0 if latest is None else latest.schedules_examined,
            next_wake_at=None if latest is None else _next_wake(latest.last_pass_at, earliest),
            recent_fire_lag_p99=nearest_rank([fired - nominal for nominal, fired in lags], 99),
            recent_fires=len(lags),
        )


def _next_wake(last_pass_at: datetime, earliest_due: datetime | None) -> datetime:
    """When the engine sleeps until after a pass (engine.loop): the earliest due schedule,
    at most MAX_SLEEP away, and not before the pass itself."""
    idle = last_pass_at + MAX_SLEEP
    if earliest_due is None:
        return idle
    return max(last_pass_at, min(idle, earliest_due))
