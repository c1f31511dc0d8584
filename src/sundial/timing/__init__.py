"""The time engine: compile a schedule spec once, then ask it for fire times.

Pure: no I/O beyond reading tz data, no clocks; everything is in UTC epoch seconds inside."""

from sundial.timing.compiler import DEFAULT_MIN_INTERVAL, compile_schedule
from sundial.timing.descriptions import describe_rules
from sundial.timing.phrases import parse_schedule
from sundial.timing.schedule import CompiledSchedule, Fire

__all__ = [
    "DEFAULT_MIN_INTERVAL",
    "CompiledSchedule",
    "Fire",
    "compile_schedule",
    "describe_rules",
    "parse_schedule",
]
