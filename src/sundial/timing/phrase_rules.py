"""Turning what the clauses of schedule text said (one Draft per rule) into ScheduleRules:
calendars where a calendar holds the rule, cron strings for the last-day and nth-weekday
forms, intervals, one-shot times, exclusions and the window, with the calendar defaults
for the fields the text left open."""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import (
    DstGapPolicy,
    DstOverlapPolicy,
    ScheduleCalendar,
    ScheduleInterval,
    ScheduleRules,
)
from sundial.timing.phrase_values import TokenReader
from sundial.timing.phrase_words import (
    DAY,
    EPOCH_WEEKDAY,
    local_instant,
)
from sundial.timing.recurrences import (
    HOURS,
    MINUTES,
    MONTHS,
    SECONDS,
    Recurrence,
    to_calendar,
    to_cron,
)


@dataclass
class Draft:
    """What one rule's clauses said so far."""

    seconds: frozenset[int] | None = None
    minutes: frozenset[int] | None = None
    hours: frozenset[int] | None = None
    day_set: bool = False
    days_of_month: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None
    either: bool = False
    last_day_offsets: tuple[int, ...] = ()
    nearest_weekdays: tuple[int, ...] = ()
    last_weekday_of_month: bool = False
    last_weekdays: tuple[int, ...] = ()
    nth_weekdays: tuple[tuple[int, int], ...] = ()
    months: frozenset[int] | None = None
    quarter: bool = False
    times: list[tuple[int, int, int]] = field(default_factory=list)
    window: tuple[tuple[int, int], tuple[int, int]] | None = None
    starting_at: tuple[int, int] | None = None
    cadence: str = ""  # "minute", "hour" or "month": what "every N ..." set
    interval: int = 0
    interval_offset: int | None = None
    interval_weekday: int | None = None
    elapsed: bool = False
    dates: list[date] = field(default_factory=list)
    instants: list[datetime] = field(default_factory=list)
    relative: timedelta | None = None

    def empty(self) -> bool:
        return self == Draft()

    @property
    def restricts_days(self) -> bool:
        return (
            self.days_of_month is not None
            or self.days_of_week is not None
            or bool(self.last_day_offsets or self.nearest_weekdays or self.last_weekday_of_month)
            or bool(self.last_weekdays or self.nth_weekdays)
        )


class RuleAssembly(TokenReader):
    """The drafts of the text's rules and exceptions, and the clauses that apply to the whole
    schedule, assembled into rules."""

    def __init__(self, text: str, zone: str, reference: datetime) -> None:
        super().__init__(text, zone, reference)
        self.drafts: list[Draft] = [Draft()]
        self.exclusions: list[Draft] = []
        self.excluding = False
        self.start: datetime | date | None = None
        self.end: datetime | date | None = None
        self.jitter: timedelta | None = None
        self.gap = DstGapPolicy.UNSPECIFIED
        self.overlap = DstOverlapPolicy.UNSPECIFIED
        self.day_fields_out: dict[str, object] = {}

    @property
    def draft(self) -> Draft:
        return self.exclusions[-1] if self.excluding else self.drafts[-1]

    def _rules(self) -> ScheduleRules:
        zone = ZoneInfo(self.zone or "UTC")
        calendars: list[ScheduleCalendar] = []
        crons: list[str] = []
        intervals: list[ScheduleInterval] = []
        at: list[datetime] = []
        for draft in self.drafts:
            if draft.empty():
                continue
            if draft.instants or draft.dates or draft.relative is not None:
                if replace(draft, times=[], instants=[], dates=[], relative=None) != Draft():
                    raise InvalidArgumentError.single(
                        "text",
                        f'"{self.text}" gives a date and a repeating rule in one part; use '
                        '"starting <date>" for when a repeating rule begins',
                    )
                at.extend(self._one_shots(draft, zone))
                continue
            if draft.interval:
                intervals.extend(self._intervals(draft))
                continue
            for recurrence in self._recurrences(draft):
                if recurrence.needs_cron:
                    crons.append(to_cron(recurrence))
                else:
                    calendars.append(to_calendar(recurrence))
        exclusions = []
        for draft in self.exclusions:
            if draft.empty():
                continue
            recurrence = self._window(draft)
            exclusions.append(to_calendar(recurrence, window=True))
        if not (calendars or crons or intervals or at):
            raise InvalidArgumentError.single(
                "text", f'"{self.text}" names no time to fire; say when, e.g. "every day at 9am"'
            )
        return ScheduleRules(
            calendars=tuple(calendars),
            cron_expressions=tuple(crons),
            intervals=tuple(intervals),
            at=tuple(sorted(at)),
            exclude_calendars=tuple(exclusions),
            timezone=self.zone,
            start_time=self._bound(self.start, zone),
            end_time=self._bound(self.end, zone),
            jitter=self.jitter,
            dst_gap_policy=self.gap,
            dst_overlap_policy=self.overlap,
        )

    def _bound(self, moment: datetime | date | None, zone: ZoneInfo) -> datetime | None:
        if moment is None:
            return None
        if isinstance(moment, datetime):
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=zone)
        return local_instant(moment, time(0), zone).astimezone(UTC)

    def _one_shots(self, draft: Draft, zone: ZoneInfo) -> list[datetime]:
        found = [i if i.tzinfo else i.replace(tzinfo=zone) for i in draft.instants]
        times = draft.times or ([] if draft.instants or draft.relative else [(0, 0, 0)])
        if draft.dates and not draft.times:
            self.assume(0.7)
        if draft.relative is not None:
            try:
                base = self.reference + draft.relative
            except OverflowError:
                raise InvalidArgumentError.single(
                    "text", f'"{self.text}" is after the year 9999'
                ) from None
            if not draft.times:
                found.append(base)
            else:
                day = base.astimezone(zone).date()
                found.extend(local_instant(day, time(h, m, s), zone) for h, m, s in draft.times)
        for day in draft.dates:
            found.extend(local_instant(day, time(h, m, s), zone) for h, m, s in times)
        return [moment.astimezone(UTC) for moment in found]

    def _intervals(self, draft: Draft) -> list[ScheduleInterval]:
        every = draft.interval
        if every % DAY:
            offset = draft.interval_offset or 0
            return [
                ScheduleInterval(
                    every=timedelta(seconds=every), offset=timedelta(seconds=offset % every)
                )
            ]
        days = (draft.interval_offset or 0) // DAY
        if draft.interval_weekday is not None:
            days += (draft.interval_weekday - EPOCH_WEEKDAY) % 7
        times = draft.times or [(0, 0, 0)]
        if not draft.times:
            self.assume(0.8)
        return [
            ScheduleInterval(
                every=timedelta(seconds=every),
                offset=timedelta(seconds=(days * DAY + h * 3600 + m * 60 + s) % every),
            )
            for h, m, s in times
        ]

    def _recurrences(self, draft: Draft) -> list[Recurrence]:
        day_fields = self._day_fields(draft)
        self.day_fields_out = day_fields
        groups = self._time_groups(draft)
        return [replace(Recurrence(**day_fields), **times) for times in groups]  # type: ignore[arg-type]

    def _day_fields(self, draft: Draft) -> dict[str, object]:
        monthly = draft.cadence == "month" and not draft.restricts_days
        return {
            # "every month at 9": on the 1st, as "every month" alone is.
            "days_of_month": frozenset({1}) if monthly else draft.days_of_month,
            "days_of_week": draft.days_of_week,
            "either": draft.either,
            "last_day_offsets": tuple(sorted(set(draft.last_day_offsets))),
            "nearest_weekdays": tuple(sorted(set(draft.nearest_weekdays))),
            "last_weekday_of_month": draft.last_weekday_of_month,
            "last_weekdays": tuple(sorted(set(draft.last_weekdays))),
            "nth_weekdays": tuple(sorted(set(draft.nth_weekdays))),
            "months": draft.months if draft.months is not None else MONTHS,
        }

    def _time_groups(self, draft: Draft) -> list[dict[str, frozenset[int]]]:
        """The time-of-day fields of the rule: one group per set of times that one
        calendar holds, with the calendar defaults for the fields not given."""
        if draft.times:
            return listed_time_groups(draft.times)
        seconds, minutes, hours = draft.seconds, draft.minutes, draft.hours
        extra: list[dict[str, frozenset[int]]] = []
        if draft.window is not None:
            hours, minutes, extra = self._windowed(draft)
        elif draft.starting_at is not None:
            h0, m0 = draft.starting_at
            if draft.cadence == "hour" and hours is not None and len(hours) > 1:
                hours = frozenset(range(h0, 24, sorted(hours)[1]))
                minutes = frozenset({m0})
            elif minutes is not None and len(minutes) > 1:
                step = sorted(minutes)[1]
                minutes = frozenset(range(m0 % step, 60, step))
                hours = frozenset(range(h0, 24))
        levels: list[frozenset[int] | None] = [seconds, minutes, hours]
        day_given = draft.day_set or draft.restricts_days
        finest = next(
            (i for i, v in enumerate(levels) if v is not None),
            3 if day_given else (4 if draft.months is not None else 5),
        )
        if finest == 5:
            raise InvalidArgumentError.single(
                "text", f'"{self.text}" names no time to fire; say when, e.g. "every day at 9am"'
            )
        if finest >= 3:
            self.assume(0.8)
        if finest == 4 and not day_given:
            self.day_fields_out["days_of_month"] = frozenset({1})
        full = (SECONDS, MINUTES, HOURS)
        resolved = [
            v if v is not None else (frozenset({0}) if i < finest else full[i])
            for i, v in enumerate(levels)
        ]
        group = {"seconds": resolved[0], "minutes": resolved[1], "hours": resolved[2]}
        return [group, *extra]

    def _windowed(
        self, draft: Draft
    ) -> tuple[frozenset[int], frozenset[int] | None, list[dict[str, frozenset[int]]]]:
        """Hours and minutes of a cadence inside "from 9am to 5pm" (both ends included),
        and the end as a rule of its own when the cadence's hours stop before it."""
        assert draft.window is not None
        (h1, m1), (h2, m2) = draft.window
        minutes = draft.minutes
        extra: list[dict[str, frozenset[int]]] = []
        if draft.cadence == "minute" or (minutes is not None and draft.cadence != "hour"):
            if m2 == 0 and (minutes is None or 0 in minutes):
                end = {"hours": frozenset({h2}), "minutes": frozenset({0})}
                extra.append({**end, "seconds": draft.seconds or frozenset({0})})
            if m1:
                self.assume(0.8)
            return frozenset(range(h1, h2 if m2 == 0 else h2 + 1)), minutes, extra
        hours = draft.hours
        step = sorted(hours)[1] if draft.cadence == "hour" and hours and len(hours) > 1 else 1
        if draft.cadence != "hour":
            self.assume(0.7)
        return frozenset(range(h1, h2 + 1, step)), frozenset({m1}), extra

    def _window(self, draft: Draft) -> Recurrence:
        if draft.times:
            hours = frozenset(h for h, _, _ in draft.times)
            minutes = frozenset(m for _, m, _ in draft.times)
            seconds = frozenset(s for _, _, s in draft.times)
        else:
            seconds = draft.seconds or SECONDS
            minutes = draft.minutes or MINUTES
            hours = draft.hours or HOURS
        fields = self._day_fields(draft)
        recurrence = Recurrence(seconds=seconds, minutes=minutes, hours=hours, **fields)  # type: ignore[arg-type]
        if recurrence.needs_cron or recurrence == Recurrence(
            seconds=SECONDS, minutes=MINUTES, hours=HOURS
        ):
            raise InvalidArgumentError.single(
                "text",
                "an exception names months, days of the month, weekdays or hours "
                '("except in December", "except on weekends")',
            )
        return recurrence


def listed_time_groups(times: list[tuple[int, int, int]]) -> list[dict[str, frozenset[int]]]:
    """Times of day as calendars: hours sharing their minutes and seconds go together."""
    by_hour: dict[int, set[tuple[int, int]]] = {}
    for h, m, s in times:
        by_hour.setdefault(h, set()).add((m, s))
    merged: dict[frozenset[tuple[int, int]], set[int]] = {}
    for hour, hour_pairs in by_hour.items():
        merged.setdefault(frozenset(hour_pairs), set()).add(hour)
    groups: list[dict[str, frozenset[int]]] = []
    for pairs, hours in sorted(merged.items(), key=lambda item: min(item[1])):
        minutes = frozenset(m for m, _ in pairs)
        seconds = frozenset(s for _, s in pairs)
        if len(minutes) * len(seconds) == len(pairs):
            groups.append({"hours": frozenset(hours), "minutes": minutes, "seconds": seconds})
            continue
        groups.extend(
            {"hours": frozenset(hours), "minutes": frozenset({m}), "seconds": frozenset({s})}
            for m, s in sorted(pairs)
        )
    return groups
