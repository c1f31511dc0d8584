"""Where a workspace's fires fall: a 7x24 heatmap, calendar fires in a window, and the
least-loaded times for a new schedule (seed 003's heatmap, calendar-data and smart
suggestions). Past fires are objectives read through the (workspace_id, created_at) index;
future ones are the active schedules' fire times, computed by their compiled rules."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sundial.domain.clock import Clock
from sundial.domain.errors import InvalidArgumentError
from sundial.domain.insight import (
    CalendarFire,
    FireHeatmap,
    HeatmapDay,
    HeatmapSource,
    ScheduleSuggestion,
    SuggestionCadence,
    Suggestions,
)
from sundial.domain.listing import Page
from sundial.domain.principals import Principal
from sundial.domain.schedules import AgentSchedule
from sundial.service.insight_windows import MAX_WINDOW, TICK, checked_window, checked_zone
from sundial.service.pagination import (
    PageRequest,
    decode_page_token,
    effective_page_size,
    encode_page_token,
    query_fingerprint,
)
from sundial.service.schedules import ScheduleService
from sundial.service.tenancy import require_workspace
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

DEFAULT_HEATMAP_WINDOW = timedelta(days=7)
# Future views compute the fire times of at most this many active schedules of a workspace,
# and no view collects more fires than MAX_FIRES (beyond that: narrow the window).
MAX_ACTIVE_SCHEDULES = 10_000
MAX_FIRES = 100_000
SUGGESTION_HORIZON = timedelta(days=7)
DEFAULT_SUGGESTIONS = 3
MAX_SUGGESTIONS = 24
_WEEKDAYS = (1, 2, 3, 4, 5)
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True, slots=True)
class _PlannedFire:
    at: datetime
    schedule: AgentSchedule


class FireViewService:
    def __init__(self, database: Database, clock: Clock, schedules: ScheduleService) -> None:
        self._database = database
        self._clock = clock
        self._schedules = schedules

    def heatmap(
        self,
        principal: Principal,
        workspace_id: str,
        *,
        time_zone: str = "",
        source: HeatmapSource = HeatmapSource.UNSPECIFIED,
        window: timedelta | None = None,
    ) -> FireHeatmap:
        name, zone = checked_zone(time_zone)
        span = checked_window(window, DEFAULT_HEATMAP_WINDOW, "window")
        source = HeatmapSource.PAST if source is HeatmapSource.UNSPECIFIED else source
        now = self._clock.now()
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            if source is HeatmapSource.PAST:
                start, end = now - span, now
                past = uow.insight.objectives_fired(
                    workspace_id, start, end + TICK, limit=MAX_FIRES + 1
                )
                if len(past) > MAX_FIRES:
                    raise _too_many("window")
                times = [o.fired_at for o in past]
            else:
                start, end = now, now + span
                times = [f.at for f in self._planned(uow, workspace_id, start, end, "window")]
        grid = _grid(times, zone)
        return FireHeatmap(
            time_zone=name,
            source=source,
            start_time=start,
            end_time=end,
            days=tuple(HeatmapDay(day, tuple(hours)) for day, hours in enumerate(grid)),
            total=len(times),
        )

    def calendar(
        self,
        principal: Principal,
        workspace_id: str,
        *,
        start_time: datetime | None,
        end_time: datetime | None,
        page: PageRequest,
    ) -> Page[CalendarFire]:
        start, end = _calendar_range(start_time, end_time)
        size = effective_page_size(page.page_size)
        fingerprint = query_fingerprint(
            "calendarFires", workspace_id, start.isoformat(), end.isoformat()
        )
        after = decode_page_token(page.page_token, fingerprint)
        now = self._clock.now()
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            fires: list[CalendarFire] = []
            if start <= now:
                past = uow.insight.objectives_fired(
                    workspace_id, start, min(end, now + TICK), limit=MAX_FIRES + 1
                )
                fires.extend(
                    CalendarFire(
                        time=o.fired_at,
                        schedule_id=o.schedule_id,
                        agent_id=o.agent_id,
                        objective_id=o.id,
                        status=o.status,
                        trigger_kind=o.trigger_kind,
                    )
                    for o in past
                )
            if end > now:
                fires.extend(
                    CalendarFire(
                        time=f.at,
                        schedule_id=f.schedule.metadata.id,
                        agent_id=f.schedule.info.agent_id,
                    )
                    for f in self._planned(
                        uow, workspace_id, max(start, now + TICK), end, "end_time"
                    )
                )
            if len(fires) > MAX_FIRES:
                raise _too_many("end_time")
            fires.sort(key=_calendar_key)
            if after:
                fires = [f for f in fires if _calendar_key(f) > tuple(after.split("|"))]
            shown = fires[:size]
            names = uow.insight.schedules_named(
                workspace_id, sorted({f.schedule_id for f in shown})
            )
        items = [_named(f, names.get(f.schedule_id, "")) for f in shown]
        next_token = (
            encode_page_token("|".join(_calendar_key(shown[-1])), fingerprint)
            if len(fires) > size
            else ""
        )
        return Page(items, next_token)

    def suggest(
        self,
        principal: Principal,
        workspace_id: str,
        *,
        cadence: SuggestionCadence = SuggestionCadence.UNSPECIFIED,
        time_zone: str = "",
        max_suggestions: int = 0,
    ) -> Suggestions:
        name, zone = checked_zone(time_zone)
        if not 0 <= max_suggestions <= MAX_SUGGESTIONS:
            raise InvalidArgumentError.single(
                "max_suggestions",
                f"max_suggestions must be 0-{MAX_SUGGESTIONS}, got {max_suggestions}",
            )
        wanted = max_suggestions or DEFAULT_SUGGESTIONS
        cadence = SuggestionCadence.DAILY if cadence is SuggestionCadence.UNSPECIFIED else cadence
        now = self._clock.now()
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            planned = self._planned(uow, workspace_id, now, now + SUGGESTION_HORIZON, "cadence")
        grid = _grid([f.at for f in planned], zone)
        slots = _slots(grid, cadence)
        busiest = max(load for load, _, _ in slots)
        chosen = sorted(slots, key=lambda slot: (slot[0], slot[1], slot[2]))[:wanted]
        return Suggestions(
            time_zone=name,
            suggestions=tuple(
                _suggestion(cadence, load, day, hour, busiest) for load, day, hour in chosen
            ),
        )

    def _planned(
        self, uow: UnitOfWork, workspace_id: str, start: datetime, end: datetime, field: str
    ) -> list[_PlannedFire]:
        """The active schedules' fires in [start, end), at most MAX_FIRES."""
        fires: list[_PlannedFire] = []
        for schedule in uow.insight.active_schedules(workspace_id, MAX_ACTIVE_SCHEDULES):
            for at in _fire_times(self._schedules, schedule, start, end):
                fires.append(_PlannedFire(at, schedule))
                if len(fires) > MAX_FIRES:
                    raise _too_many(field)
        return fires


def _fire_times(
    schedules: ScheduleService, schedule: AgentSchedule, start: datetime, end: datetime
) -> Iterator[datetime]:
    """The schedule's fire times in [start, end), no more than its remaining fires."""
    left = schedule.info.remaining_fires
    for fire in schedules.compiled_for(schedule).fires(start - TICK):
        if fire.at >= end or left == 0:
            return
        if fire.at >= start:
            yield fire.at
            if left is not None:
                left -= 1


def _grid(times: list[datetime], zone: tzinfo) -> list[list[int]]:
    """Counts by local day of week (0 = Sunday) and hour."""
    grid = [[0] * 24 for _ in range(7)]
    for moment in times:
        local = moment.astimezone(zone)
        grid[(local.weekday() + 1) % 7][local.hour] += 1
    return grid


def _slots(grid: list[list[int]], cadence: SuggestionCadence) -> list[tuple[int, int, int]]:
    """(planned fires, day of week or -1, hour) of each slot a schedule of `cadence` could
    take."""
    if cadence is SuggestionCadence.WEEKLY:
        return [(grid[day][hour], day, hour) for day in range(7) for hour in range(24)]
    days = _WEEKDAYS if cadence is SuggestionCadence.WEEKDAYS else range(7)
    return [(sum(grid[day][hour] for day in days), -1, hour) for hour in range(24)]


def _suggestion(
    cadence: SuggestionCadence, load: int, day: int, hour: int, busiest: int
) -> ScheduleSuggestion:
    if cadence is SuggestionCadence.WEEKLY:
        cron, when = f"0 {hour} * * {day}", f"{_DAY_NAMES[day]}s {hour:02d}:00-{hour:02d}:59"
    elif cadence is SuggestionCadence.WEEKDAYS:
        cron, when = f"0 {hour} * * 1-5", f"{hour:02d}:00-{hour:02d}:59 on weekdays"
    else:
        cron, when = f"0 {hour} * * *", f"{hour:02d}:00-{hour:02d}:59 daily"
    fires = "fire" if load == 1 else "fires"
    reason = f"{load} {fires} planned {when} over the next 7 days; the busiest slot has {busiest}"
    return ScheduleSuggestion(cron, hour, day, load, reason)


def _calendar_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None:
        raise InvalidArgumentError.single("start_time", "start_time is required")
    if end is None:
        raise InvalidArgumentError.single("end_time", "end_time is required")
    if end <= start:
        raise InvalidArgumentError.single("end_time", "end_time must be after start_time")
    if end - start > MAX_WINDOW:
        raise InvalidArgumentError.single(
            "end_time", f"the window may span at most {MAX_WINDOW.days} days"
        )
    return start, end


def _calendar_key(fire: CalendarFire) -> tuple[str, str, str]:
    # ISO text of UTC times, all with microseconds, sorts as the times do.
    moment = fire.time.astimezone(UTC).isoformat(timespec="microseconds")
    return (moment, fire.schedule_id, fire.objective_id)


def _named(fire: CalendarFire, name: str) -> CalendarFire:
    return CalendarFire(
        time=fire.time,
        schedule_id=fire.schedule_id,
        agent_id=fire.agent_id,
        schedule_name=name,
        objective_id=fire.objective_id,
        status=fire.status,
        trigger_kind=fire.trigger_kind,
    )


def _too_many(field: str) -> InvalidArgumentError:
    return InvalidArgumentError.single(
        field, f"the window holds more than {MAX_FIRES} fires; narrow it"
    )
