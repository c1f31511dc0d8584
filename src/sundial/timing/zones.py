"""Time zones per local day: the UTC offset of each day, or the DST change inside it, and
the mapping of wall-clock times to UTC instants under the gap and overlap policies.

Days are looked up in blocks of 64 (one `utcoffset` call per midnight) and cached per
zone, so converting a day's fires to UTC is one subtraction per fire. A day counts as
constant when the offsets at its own, the next and the following midnight agree; this
assumes an offset change never moves the clock by more than a day and no zone changes
its offset twice within three days, which holds throughout the tz database."""

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from sundial.domain.schedules import DstGapPolicy, DstOverlapPolicy

SECONDS_PER_DAY = 86400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MIDNIGHT = (time(0), time(0, fold=1))
_ONE_SECOND = timedelta(seconds=1)
_FIXED_NAMES = re.compile(
    r"(?:Etc/)?(?:UTC|UCT|Universal|Zulu|Greenwich|GMT(?:[+-]?0)?)|Etc/GMT[+-][0-9]{1,2}"
)
_BLOCK_DAYS = 64
# Bounds the per-zone day cache: 4,096 blocks are about 700 years of days.
_MAX_CACHED_BLOCKS = 4096
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayTransition:
    """A local day on which the UTC offset changes (seconds throughout).

    `wall` is when, in seconds after this day's midnight on the old wall clock, the change
    happens; it may fall outside 0..86400 when the change straddles midnight."""

    utc: int
    before: int
    after: int
    wall: int


DayOffset = int | DayTransition


class ZoneDays:
    """One time zone, answering per local day (proleptic Gregorian ordinal)."""

    def __init__(self, name: str, zone: tzinfo) -> None:
        self.name = name
        self.zone = zone
        self.fixed_offset: int | None = None
        if _FIXED_NAMES.fullmatch(name):
            self.fixed_offset = _seconds(zone.utcoffset(datetime(2000, 1, 1)))
        self._blocks: dict[int, list[DayOffset]] = {}

    def day(self, ordinal: int) -> DayOffset:
        """The day's UTC offset in seconds, or its DST transition."""
        if self.fixed_offset is not None:
            return self.fixed_offset
        block = self._blocks.get(ordinal // _BLOCK_DAYS)
        if block is None:
            block = self._load_block(ordinal // _BLOCK_DAYS)
        return block[ordinal % _BLOCK_DAYS]

    def next_change(self, ordinal: int, limit: int) -> int | None:
        """The first day >= ordinal (and <= limit) with a DST transition, if any."""
        if self.fixed_offset is not None:
            return None
        while ordinal <= limit:
            index = ordinal // _BLOCK_DAYS
            block = self._blocks.get(index) or self._load_block(index)
            for day in range(ordinal % _BLOCK_DAYS, _BLOCK_DAYS):
                if isinstance(block[day], DayTransition):
                    found = index * _BLOCK_DAYS + day
                    return found if found <= limit else None
            ordinal = (index + 1) * _BLOCK_DAYS
        return None

    def offset_at(self, instant: int) -> int:
        """The UTC offset in force at a UTC instant (epoch seconds)."""
        if self.fixed_offset is not None:
            return self.fixed_offset
        return _seconds(datetime.fromtimestamp(instant, self.zone).utcoffset())

    def local_ordinal(self, instant: int) -> int:
        """The local date (ordinal) at a UTC instant."""
        return (instant + self.offset_at(instant)) // SECONDS_PER_DAY + EPOCH_ORDINAL

    def anchor_offset(self) -> int:
        """The offset at 1970-01-01T00:00 local (first occurrence), for interval anchors."""
        if self.fixed_offset is not None:
            return self.fixed_offset
        return self._midnight_offset(EPOCH_ORDINAL, 0)

    def first_instant(self, ordinal: int) -> int:
        """The first UTC instant of a local day (the end of the gap if the day starts in one)."""
        start = (ordinal - EPOCH_ORDINAL) * SECONDS_PER_DAY
        info = self.day(ordinal)
        if isinstance(info, int):
            return start - info
        return wall_instants(info, start, (0,), DstGapPolicy.SHIFT, DstOverlapPolicy.FIRST)[0]

    def _midnight_offset(self, ordinal: int, fold: int) -> int:
        moment = datetime.combine(date.fromordinal(ordinal), _MIDNIGHT[fold])
        return _seconds(self.zone.utcoffset(moment))

    def _load_block(self, index: int) -> list[DayOffset]:
        first = index * _BLOCK_DAYS
        midnight = datetime.fromordinal(first)
        utcoffset = self.zone.utcoffset
        offsets = [_seconds(utcoffset(midnight + day * _ONE_DAY)) for day in range(_BLOCK_DAYS + 2)]
        block: list[DayOffset] = [
            offset
            if offset == offsets[day + 1] == offsets[day + 2]
            else self._find_transition(first + day, offset, offsets[day + 2])
            for day, offset in enumerate(offsets[:_BLOCK_DAYS])
        ]
        if len(self._blocks) >= _MAX_CACHED_BLOCKS:
            self._blocks.clear()
        self._blocks[index] = block
        return block

    def _find_transition(self, ordinal: int, before: int, after: int) -> DayOffset:
        """The change near a day whose midnights disagree (or `before` if it misses the day)."""
        start = (ordinal - EPOCH_ORDINAL) * SECONDS_PER_DAY
        # The change happens while the old wall clock reads between yesterday's midnight and
        # the day after tomorrow's; bisect for its first instant.
        low = start - before - SECONDS_PER_DAY
        high = start + 2 * SECONDS_PER_DAY - before
        if self.offset_at(high) != after or self.offset_at(low) != before:
            return before
        while high - low > 1:
            middle = (low + high) // 2
            if self.offset_at(middle) == before:
                low = middle
            else:
                high = middle
        wall = high + before - start
        if wall + min(0, after - before) >= SECONDS_PER_DAY:
            return before  # the change and its gap or overlap come after this day
        return DayTransition(utc=high, before=before, after=after, wall=wall)


def wall_instants(
    info: DayOffset,
    day_start: int,
    seconds: Sequence[int],
    gap: DstGapPolicy,
    overlap: DstOverlapPolicy,
    elapsed: bool = False,
) -> list[int]:
    """UTC instants of the wall times `day_start + s` (ascending `seconds`), ascending.

    Wall times in a DST gap fire at the gap's end (SHIFT) or not at all (SKIP); those in an
    overlap fire at their first occurrence (FIRST) or both (BOTH). `elapsed` rules follow
    real time instead: nonexistent times are skipped and repeated ones fire twice. The
    result may repeat the gap's end when a shifted time meets a real one."""
    if isinstance(info, int):
        base = day_start - info
        return [base + second for second in seconds]
    shift = info.after - info.before
    early = day_start - info.before
    late = day_start - info.after
    if shift > 0:
        low = bisect_left(seconds, info.wall)
        high = bisect_left(seconds, info.wall + shift)
        shifted = [info.utc] if low < high and not elapsed and gap != DstGapPolicy.SKIP else []
        return (
            [early + second for second in seconds[:low]]
            + shifted
            + [late + second for second in seconds[high:]]
        )
    low = bisect_left(seconds, info.wall + shift)
    high = bisect_left(seconds, info.wall)
    repeated = seconds[low:high]
    second_pass = elapsed or overlap == DstOverlapPolicy.BOTH
    return (
        [early + second for second in seconds[:high]]
        + ([late + second for second in repeated] if second_pass else [])
        + [late + second for second in seconds[high:]]
    )


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """The IANA zone names Sundial accepts: the tzdata package's list of canonical zones
    and their documented aliases (`backward` links), without `Factory` (a placeholder
    zone). Files in a system's zoneinfo directory such as `posixrules`, `localtime` or
    `right/UTC` are not zones of the database, so they are refused."""
    listing = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in listing.splitlines() if line.strip()) - {"Factory"}


@lru_cache(maxsize=512)
def load_zone(name: str) -> ZoneDays:
    """The zone for an IANA name ('' is UTC); ValueError if there is no such zone."""
    key = name or "UTC"
    if key not in zone_names():
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'")
    try:
        zone: tzinfo = ZoneInfo(key)
    except (KeyError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'"
        ) from None
    return ZoneDays(key, zone)


def _seconds(offset: timedelta | None) -> int:
    return 0 if offset is None else offset // _ONE_SECOND
