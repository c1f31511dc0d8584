"""The schedule grammar, phrase by phrase: each phrase is checked by the fire times its rules
yield (the time engine PreviewSchedule uses) from a fixed reference time, in wall-clock time
with the UTC offset, so a DST week shows as a change of offset. Reference times are a
Monday noon in UTC and the Fridays before the DST changes of 2026 in Los Angeles (March 8,
November 1) and Berlin (March 29, October 25)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.schedules import ParseMethod, ScheduleRules
from sundial.timing import compile_schedule, parse_schedule

UTC_NOON = ("UTC", datetime(2026, 3, 2, 12, tzinfo=UTC))
LA_SPRING = ("America/Los_Angeles", datetime(2026, 3, 6, 20, tzinfo=UTC))
LA_FALL = ("America/Los_Angeles", datetime(2026, 10, 30, 19, tzinfo=UTC))
BER_SPRING = ("Europe/Berlin", datetime(2026, 3, 27, 11, tzinfo=UTC))
BER_FALL = ("Europe/Berlin", datetime(2026, 10, 23, 10, tzinfo=UTC))

PHRASES = [
    # intervals
    (
        UTC_NOON,
        "every 15 minutes",
        ["2026-03-02 12:15:00+0000", "2026-03-02 12:30:00+0000", "2026-03-02 12:45:00+0000"],
    ),
    (
        UTC_NOON,
        "every 5 minutes",
        ["2026-03-02 12:05:00+0000", "2026-03-02 12:10:00+0000", "2026-03-02 12:15:00+0000"],
    ),
    (
        UTC_NOON,
        "every minute",
        ["2026-03-02 12:01:00+0000", "2026-03-02 12:02:00+0000", "2026-03-02 12:03:00+0000"],
    ),
    (
        UTC_NOON,
        "every 30 minutes",
        ["2026-03-02 12:30:00+0000", "2026-03-02 13:00:00+0000", "2026-03-02 13:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every 2 hours starting at 9:30",
        ["2026-03-02 13:30:00+0000", "2026-03-02 15:30:00+0000", "2026-03-02 17:30:00+0000"],
    ),
    (
        UTC_NOON,
        "hourly",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every hour",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every other day at 7am",
        ["2026-03-04 07:00:00+0000", "2026-03-06 07:00:00+0000", "2026-03-08 07:00:00+0000"],
    ),
    (
        UTC_NOON,
        "twice a day",
        ["2026-03-03 00:00:00+0000", "2026-03-03 12:00:00+0000", "2026-03-04 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "three times a day",
        ["2026-03-02 16:00:00+0000", "2026-03-03 00:00:00+0000", "2026-03-03 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "four times a day",
        ["2026-03-02 18:00:00+0000", "2026-03-03 00:00:00+0000", "2026-03-03 06:00:00+0000"],
    ),
    (
        UTC_NOON,
        "twice an hour",
        ["2026-03-02 12:30:00+0000", "2026-03-02 13:00:00+0000", "2026-03-02 13:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every 90 minutes",
        ["2026-03-02 13:30:00+0000", "2026-03-02 15:00:00+0000", "2026-03-02 16:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every 7 minutes",
        ["2026-03-02 12:02:00+0000", "2026-03-02 12:09:00+0000", "2026-03-02 12:16:00+0000"],
    ),
    (
        UTC_NOON,
        "every 1 hour 30 minutes",
        ["2026-03-02 13:30:00+0000", "2026-03-02 15:00:00+0000", "2026-03-02 16:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every 10 seconds",
        ["2026-03-02 12:00:10+0000", "2026-03-02 12:00:20+0000", "2026-03-02 12:00:30+0000"],
    ),
    (
        UTC_NOON,
        "every second",
        ["2026-03-02 12:00:01+0000", "2026-03-02 12:00:02+0000", "2026-03-02 12:00:03+0000"],
    ),
    (
        UTC_NOON,
        "every 4 hours",
        ["2026-03-02 16:00:00+0000", "2026-03-02 20:00:00+0000", "2026-03-03 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 6 hours",
        ["2026-03-02 18:00:00+0000", "2026-03-03 00:00:00+0000", "2026-03-03 06:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 3 days at 6pm",
        ["2026-03-02 18:00:00+0000", "2026-03-05 18:00:00+0000", "2026-03-08 18:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 2 weeks on friday at 17:00",
        ["2026-03-13 17:00:00+0000", "2026-03-27 17:00:00+0000", "2026-04-10 17:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every other monday at 9",
        ["2026-03-16 09:00:00+0000", "2026-03-30 09:00:00+0000", "2026-04-13 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 45 minutes",
        ["2026-03-02 12:45:00+0000", "2026-03-02 13:30:00+0000", "2026-03-02 14:15:00+0000"],
    ),
    (
        UTC_NOON,
        "every 2 hours of elapsed time",
        ["2026-03-02 14:00:00+0000", "2026-03-02 16:00:00+0000", "2026-03-02 18:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 15 minutes starting at 9:05",
        ["2026-03-02 12:05:00+0000", "2026-03-02 12:20:00+0000", "2026-03-02 12:35:00+0000"],
    ),
    (
        UTC_NOON,
        "every hour on the hour",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        LA_SPRING,
        "every 2 hours",
        ["2026-03-06 14:00:00-0800", "2026-03-06 16:00:00-0800", "2026-03-06 18:00:00-0800"],
    ),
    (
        LA_SPRING,
        "every 90 minutes",
        ["2026-03-06 13:30:00-0800", "2026-03-06 15:00:00-0800", "2026-03-06 16:30:00-0800"],
    ),
    (
        LA_SPRING,
        "every 6 hours",
        ["2026-03-06 18:00:00-0800", "2026-03-07 00:00:00-0800", "2026-03-07 06:00:00-0800"],
    ),
    (
        BER_FALL,
        "every 2 hours",
        ["2026-10-23 14:00:00+0200", "2026-10-23 16:00:00+0200", "2026-10-23 18:00:00+0200"],
    ),
    (
        BER_FALL,
        "hourly",
        ["2026-10-23 13:00:00+0200", "2026-10-23 14:00:00+0200", "2026-10-23 15:00:00+0200"],
    ),
    (
        LA_FALL,
        "every 3 hours",
        ["2026-10-30 15:00:00-0700", "2026-10-30 18:00:00-0700", "2026-10-30 21:00:00-0700"],
    ),
    # times and days
    (
        UTC_NOON,
        "every weekday at 9am",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "weekends at noon",
        ["2026-03-07 12:00:00+0000", "2026-03-08 12:00:00+0000", "2026-03-14 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "mondays and thursdays at 18:30",
        ["2026-03-02 18:30:00+0000", "2026-03-05 18:30:00+0000", "2026-03-09 18:30:00+0000"],
    ),
    (
        UTC_NOON,
        "at 9, 12 and 17 on weekdays",
        ["2026-03-02 17:00:00+0000", "2026-03-03 09:00:00+0000", "2026-03-03 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at midnight",
        ["2026-03-03 00:00:00+0000", "2026-03-04 00:00:00+0000", "2026-03-05 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "9am to 5pm every hour on weekdays",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "daily at 6:45",
        ["2026-03-03 06:45:00+0000", "2026-03-04 06:45:00+0000", "2026-03-05 06:45:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9am and 5pm",
        ["2026-03-02 17:00:00+0000", "2026-03-03 09:00:00+0000", "2026-03-03 17:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every monday at 8",
        ["2026-03-09 08:00:00+0000", "2026-03-16 08:00:00+0000", "2026-03-23 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on tuesdays at 14:15",
        ["2026-03-03 14:15:00+0000", "2026-03-10 14:15:00+0000", "2026-03-17 14:15:00+0000"],
    ),
    (
        UTC_NOON,
        "every friday at 4:30pm",
        ["2026-03-06 16:30:00+0000", "2026-03-13 16:30:00+0000", "2026-03-20 16:30:00+0000"],
    ),
    (
        UTC_NOON,
        "mon-fri at 9",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "monday through friday at 8:30am",
        ["2026-03-03 08:30:00+0000", "2026-03-04 08:30:00+0000", "2026-03-05 08:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every tuesday through thursday at 10:30",
        ["2026-03-03 10:30:00+0000", "2026-03-04 10:30:00+0000", "2026-03-05 10:30:00+0000"],
    ),
    (
        UTC_NOON,
        "weekdays at 7:00 and 19:00",
        ["2026-03-02 19:00:00+0000", "2026-03-03 07:00:00+0000", "2026-03-03 19:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every saturday and sunday at 10am",
        ["2026-03-07 10:00:00+0000", "2026-03-08 10:00:00+0000", "2026-03-14 10:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at noon",
        ["2026-03-03 12:00:00+0000", "2026-03-04 12:00:00+0000", "2026-03-05 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "nightly at 11pm",
        ["2026-03-02 23:00:00+0000", "2026-03-03 23:00:00+0000", "2026-03-04 23:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 23:59",
        ["2026-03-02 23:59:00+0000", "2026-03-03 23:59:00+0000", "2026-03-04 23:59:00+0000"],
    ),
    (
        UTC_NOON,
        "at 6am every day",
        ["2026-03-03 06:00:00+0000", "2026-03-04 06:00:00+0000", "2026-03-05 06:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 30 minutes from 9am to 5pm",
        ["2026-03-02 12:30:00+0000", "2026-03-02 13:00:00+0000", "2026-03-02 13:30:00+0000"],
    ),
    (
        UTC_NOON,
        "every 15 minutes between 9 and 11 on weekdays",
        ["2026-03-03 09:00:00+0000", "2026-03-03 09:15:00+0000", "2026-03-03 09:30:00+0000"],
    ),
    (
        UTC_NOON,
        "between 9 and 17 every hour",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 5 minutes during business hours on weekdays",
        ["2026-03-02 12:05:00+0000", "2026-03-02 12:10:00+0000", "2026-03-02 12:15:00+0000"],
    ),
    (
        UTC_NOON,
        "every weekday at 9:00:30",
        ["2026-03-03 09:00:30+0000", "2026-03-04 09:00:30+0000", "2026-03-05 09:00:30+0000"],
    ),
    (
        UTC_NOON,
        "at 12:00 and 12:30 on sundays",
        ["2026-03-08 12:00:00+0000", "2026-03-08 12:30:00+0000", "2026-03-15 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "weekly",
        ["2026-03-09 00:00:00+0000", "2026-03-16 00:00:00+0000", "2026-03-23 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every week",
        ["2026-03-09 00:00:00+0000", "2026-03-16 00:00:00+0000", "2026-03-23 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every sunday at 9pm",
        ["2026-03-08 21:00:00+0000", "2026-03-15 21:00:00+0000", "2026-03-22 21:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every wednesday at midnight",
        ["2026-03-04 00:00:00+0000", "2026-03-11 00:00:00+0000", "2026-03-18 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on friday the 13th at 9",
        ["2026-03-13 09:00:00+0000", "2026-11-13 09:00:00+0000", "2027-08-13 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "at minute 5 of every hour",
        ["2026-03-02 12:05:00+0000", "2026-03-02 13:05:00+0000", "2026-03-02 14:05:00+0000"],
    ),
    (
        UTC_NOON,
        "at 8am on weekdays",
        ["2026-03-03 08:00:00+0000", "2026-03-04 08:00:00+0000", "2026-03-05 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 2 hours on weekends",
        ["2026-03-07 00:00:00+0000", "2026-03-07 02:00:00+0000", "2026-03-07 04:00:00+0000"],
    ),
    (
        LA_SPRING,
        "every day at 2:30am",
        ["2026-03-07 02:30:00-0800", "2026-03-08 03:00:00-0700", "2026-03-09 02:30:00-0700"],
    ),
    (
        LA_SPRING,
        "every weekday at 9am",
        ["2026-03-09 09:00:00-0700", "2026-03-10 09:00:00-0700", "2026-03-11 09:00:00-0700"],
    ),
    (
        LA_SPRING,
        "every day at 9",
        ["2026-03-07 09:00:00-0800", "2026-03-08 09:00:00-0700", "2026-03-09 09:00:00-0700"],
    ),
    (
        LA_SPRING,
        "every day at 1:30",
        ["2026-03-07 01:30:00-0800", "2026-03-08 01:30:00-0800", "2026-03-09 01:30:00-0700"],
    ),
    (
        LA_FALL,
        "every day at 1:30",
        ["2026-10-31 01:30:00-0700", "2026-11-01 01:30:00-0700", "2026-11-02 01:30:00-0800"],
    ),
    (
        LA_FALL,
        "every day at 9am",
        ["2026-10-31 09:00:00-0700", "2026-11-01 09:00:00-0800", "2026-11-02 09:00:00-0800"],
    ),
    (
        BER_SPRING,
        "every day at 2:30",
        ["2026-03-28 02:30:00+0100", "2026-03-29 03:00:00+0200", "2026-03-30 02:30:00+0200"],
    ),
    (
        BER_SPRING,
        "every weekday at 9",
        ["2026-03-30 09:00:00+0200", "2026-03-31 09:00:00+0200", "2026-04-01 09:00:00+0200"],
    ),
    (
        BER_FALL,
        "every day at 2:30",
        ["2026-10-24 02:30:00+0200", "2026-10-25 02:30:00+0200", "2026-10-26 02:30:00+0100"],
    ),
    (
        BER_FALL,
        "every day at 8",
        ["2026-10-24 08:00:00+0200", "2026-10-25 08:00:00+0100", "2026-10-26 08:00:00+0100"],
    ),
    # month rules
    (
        UTC_NOON,
        "on the 1st and 15th at 8:00",
        ["2026-03-15 08:00:00+0000", "2026-04-01 08:00:00+0000", "2026-04-15 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "last day of the month at 23:00",
        ["2026-03-31 23:00:00+0000", "2026-04-30 23:00:00+0000", "2026-05-31 23:00:00+0000"],
    ),
    (
        UTC_NOON,
        "first monday of every month at 10",
        ["2026-04-06 10:00:00+0000", "2026-05-04 10:00:00+0000", "2026-06-01 10:00:00+0000"],
    ),
    (
        UTC_NOON,
        "the last friday of each quarter",
        ["2026-03-27 00:00:00+0000", "2026-06-26 00:00:00+0000", "2026-09-25 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "monthly",
        ["2026-04-01 00:00:00+0000", "2026-05-01 00:00:00+0000", "2026-06-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every month on the 15th at noon",
        ["2026-03-15 12:00:00+0000", "2026-04-15 12:00:00+0000", "2026-05-15 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on the 1st of every month at 9am",
        ["2026-04-01 09:00:00+0000", "2026-05-01 09:00:00+0000", "2026-06-01 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "the second to last day of the month",
        ["2026-03-30 00:00:00+0000", "2026-04-29 00:00:00+0000", "2026-05-30 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "the last weekday of the month at 17:00",
        ["2026-03-31 17:00:00+0000", "2026-04-30 17:00:00+0000", "2026-05-29 17:00:00+0000"],
    ),
    (
        UTC_NOON,
        "nearest weekday to the 15th",
        ["2026-03-16 00:00:00+0000", "2026-04-15 00:00:00+0000", "2026-05-15 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on the 10th at 10:10",
        ["2026-03-10 10:10:00+0000", "2026-04-10 10:10:00+0000", "2026-05-10 10:10:00+0000"],
    ),
    (
        UTC_NOON,
        "second tuesday of every month at 18:00",
        ["2026-03-10 18:00:00+0000", "2026-04-14 18:00:00+0000", "2026-05-12 18:00:00+0000"],
    ),
    (
        UTC_NOON,
        "the third wednesday of the month at 12",
        ["2026-03-18 12:00:00+0000", "2026-04-15 12:00:00+0000", "2026-05-20 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "last sunday of the month at 3am",
        ["2026-03-29 03:00:00+0000", "2026-04-26 03:00:00+0000", "2026-05-31 03:00:00+0000"],
    ),
    (
        UTC_NOON,
        "first friday of each quarter at 9",
        ["2026-04-03 09:00:00+0000", "2026-07-03 09:00:00+0000", "2026-10-02 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every quarter",
        ["2026-04-01 00:00:00+0000", "2026-07-01 00:00:00+0000", "2026-10-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "quarterly",
        ["2026-04-01 00:00:00+0000", "2026-07-01 00:00:00+0000", "2026-10-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "yearly",
        ["2027-01-01 00:00:00+0000", "2028-01-01 00:00:00+0000", "2029-01-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "annually",
        ["2027-01-01 00:00:00+0000", "2028-01-01 00:00:00+0000", "2029-01-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every january 1st at 9",
        ["2027-01-01 09:00:00+0000", "2028-01-01 09:00:00+0000", "2029-01-01 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every year",
        ["2027-01-01 00:00:00+0000", "2028-01-01 00:00:00+0000", "2029-01-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on the 1st, 10th and 20th at 6am",
        ["2026-03-10 06:00:00+0000", "2026-03-20 06:00:00+0000", "2026-04-01 06:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on the 15th and on mondays at 9",
        ["2026-03-09 09:00:00+0000", "2026-03-15 09:00:00+0000", "2026-03-16 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 in december",
        ["2026-12-01 09:00:00+0000", "2026-12-02 09:00:00+0000", "2026-12-03 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every weekday at 8 in january and july",
        ["2026-07-01 08:00:00+0000", "2026-07-02 08:00:00+0000", "2026-07-03 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "in june at noon every day",
        ["2026-06-01 12:00:00+0000", "2026-06-02 12:00:00+0000", "2026-06-03 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every monday in march at 9",
        ["2026-03-09 09:00:00+0000", "2026-03-16 09:00:00+0000", "2026-03-23 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on day 5 of the month at 7",
        ["2026-03-05 07:00:00+0000", "2026-04-05 07:00:00+0000", "2026-05-05 07:00:00+0000"],
    ),
    (
        UTC_NOON,
        "the 4th thursday of november at 12",
        ["2026-11-26 12:00:00+0000", "2027-11-25 12:00:00+0000", "2028-11-23 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "on the 31st at 9",
        ["2026-03-31 09:00:00+0000", "2026-05-31 09:00:00+0000", "2026-07-31 09:00:00+0000"],
    ),
    (
        LA_SPRING,
        "last day of the month at 23:00",
        ["2026-03-31 23:00:00-0700", "2026-04-30 23:00:00-0700", "2026-05-31 23:00:00-0700"],
    ),
    (
        BER_SPRING,
        "last sunday of the month at 1:30",
        ["2026-03-29 01:30:00+0100", "2026-04-26 01:30:00+0200", "2026-05-31 01:30:00+0200"],
    ),
    # one-shot
    (UTC_NOON, "tomorrow at noon", ["2026-03-03 12:00:00+0000"]),
    (UTC_NOON, "next tuesday at 3pm", ["2026-03-03 15:00:00+0000"]),
    (UTC_NOON, "on 2027-03-01 at 09:00", ["2027-03-01 09:00:00+0000"]),
    (UTC_NOON, "in 2 hours", ["2026-03-02 14:00:00+0000"]),
    (UTC_NOON, "in 30 minutes", ["2026-03-02 12:30:00+0000"]),
    (UTC_NOON, "in 3 days at 9am", ["2026-03-05 09:00:00+0000"]),
    (UTC_NOON, "in 1 day", ["2026-03-03 12:00:00+0000"]),
    (UTC_NOON, "this friday at 5pm", ["2026-03-06 17:00:00+0000"]),
    (UTC_NOON, "next monday at 8:30", ["2026-03-09 08:30:00+0000"]),
    (UTC_NOON, "today at 6pm", ["2026-03-02 18:00:00+0000"]),
    (UTC_NOON, "tomorrow at 9am and 5pm", ["2026-03-03 09:00:00+0000", "2026-03-03 17:00:00+0000"]),
    (UTC_NOON, "at 2027-01-01T00:00:00Z", ["2027-01-01 00:00:00+0000"]),
    (UTC_NOON, "once at 2027-06-15T12:30:00+02:00", ["2027-06-15 10:30:00+0000"]),
    (UTC_NOON, "on march 1st at 9am", ["2027-03-01 09:00:00+0000"]),
    (UTC_NOON, "on december 24 at 18:00", ["2026-12-24 18:00:00+0000"]),
    (UTC_NOON, "on july 4, 2027 at noon", ["2027-07-04 12:00:00+0000"]),
    (UTC_NOON, "next monday", ["2026-03-09 00:00:00+0000"]),
    (UTC_NOON, "tomorrow", ["2026-03-03 00:00:00+0000"]),
    (LA_SPRING, "tomorrow at 9am", ["2026-03-07 09:00:00-0800"]),
    (LA_SPRING, "in 2 days at 10:00", ["2026-03-08 10:00:00-0700"]),
    (LA_SPRING, "next sunday at 3am", ["2026-03-08 03:00:00-0700"]),
    (LA_FALL, "next sunday at 1:30", ["2026-11-01 01:30:00-0700"]),
    (BER_SPRING, "on 2026-03-29 at 02:30", ["2026-03-29 03:00:00+0200"]),
    # zones
    (
        UTC_NOON,
        "every weekday at 9am Pacific",
        ["2026-03-02 09:00:00-0800", "2026-03-03 09:00:00-0800", "2026-03-04 09:00:00-0800"],
    ),
    (
        UTC_NOON,
        "every day at 9 PT",
        ["2026-03-02 09:00:00-0800", "2026-03-03 09:00:00-0800", "2026-03-04 09:00:00-0800"],
    ),
    (
        UTC_NOON,
        "every day at 9 PST",
        ["2026-03-02 09:00:00-0800", "2026-03-03 09:00:00-0800", "2026-03-04 09:00:00-0800"],
    ),
    (
        UTC_NOON,
        "every day at 9 CET",
        ["2026-03-03 09:00:00+0100", "2026-03-04 09:00:00+0100", "2026-03-05 09:00:00+0100"],
    ),
    (
        UTC_NOON,
        "daily at 9 Berlin time",
        ["2026-03-03 09:00:00+0100", "2026-03-04 09:00:00+0100", "2026-03-05 09:00:00+0100"],
    ),
    (
        UTC_NOON,
        "every day at 8am Tokyo",
        ["2026-03-03 08:00:00+0900", "2026-03-04 08:00:00+0900", "2026-03-05 08:00:00+0900"],
    ),
    (
        UTC_NOON,
        "every day at 8am UTC",
        ["2026-03-03 08:00:00+0000", "2026-03-04 08:00:00+0000", "2026-03-05 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 in Europe/Berlin",
        ["2026-03-03 09:00:00+0100", "2026-03-04 09:00:00+0100", "2026-03-05 09:00:00+0100"],
    ),
    (
        UTC_NOON,
        "every day at 9 America/New_York",
        ["2026-03-02 09:00:00-0500", "2026-03-03 09:00:00-0500", "2026-03-04 09:00:00-0500"],
    ),
    (
        UTC_NOON,
        "every weekday at 10 Eastern",
        ["2026-03-02 10:00:00-0500", "2026-03-03 10:00:00-0500", "2026-03-04 10:00:00-0500"],
    ),
    (
        UTC_NOON,
        "every day at 9 ET",
        ["2026-03-02 09:00:00-0500", "2026-03-03 09:00:00-0500", "2026-03-04 09:00:00-0500"],
    ),
    (
        UTC_NOON,
        "every day at 7 Central time",
        ["2026-03-02 07:00:00-0600", "2026-03-03 07:00:00-0600", "2026-03-04 07:00:00-0600"],
    ),
    (
        UTC_NOON,
        "every day at 9 London",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 in Paris",
        ["2026-03-03 09:00:00+0100", "2026-03-04 09:00:00+0100", "2026-03-05 09:00:00+0100"],
    ),
    (
        UTC_NOON,
        "every day at 9 Sydney",
        ["2026-03-03 09:00:00+1100", "2026-03-04 09:00:00+1100", "2026-03-05 09:00:00+1100"],
    ),
    (
        UTC_NOON,
        "every day at 9 IST",
        ["2026-03-03 09:00:00+0530", "2026-03-04 09:00:00+0530", "2026-03-05 09:00:00+0530"],
    ),
    (
        UTC_NOON,
        "every day at 9 Mountain",
        ["2026-03-02 09:00:00-0700", "2026-03-03 09:00:00-0700", "2026-03-04 09:00:00-0700"],
    ),
    (
        UTC_NOON,
        "every day at noon GMT",
        ["2026-03-03 12:00:00+0000", "2026-03-04 12:00:00+0000", "2026-03-05 12:00:00+0000"],
    ),
    (
        LA_SPRING,
        "every day at 9 UTC",
        ["2026-03-07 09:00:00+0000", "2026-03-08 09:00:00+0000", "2026-03-09 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 New York",
        ["2026-03-02 09:00:00-0500", "2026-03-03 09:00:00-0500", "2026-03-04 09:00:00-0500"],
    ),
    (UTC_NOON, "tomorrow at 9am Tokyo", ["2026-03-03 09:00:00+0900"]),
    (
        UTC_NOON,
        "every day at 18:00 Asia/Kolkata",
        ["2026-03-02 18:00:00+0530", "2026-03-03 18:00:00+0530", "2026-03-04 18:00:00+0530"],
    ),
    # exclusions and windows
    (
        UTC_NOON,
        "every weekday at 9 except holidays in December",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every hour until 2027-01-01",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 10 starting next monday",
        ["2026-03-09 10:00:00+0000", "2026-03-10 10:00:00+0000", "2026-03-11 10:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 except weekends",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 except on fridays",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every weekday at 9:15 except on fridays in july",
        ["2026-03-03 09:15:00+0000", "2026-03-04 09:15:00+0000", "2026-03-05 09:15:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 8 except in august",
        ["2026-03-03 08:00:00+0000", "2026-03-04 08:00:00+0000", "2026-03-05 08:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every hour except during hour 12",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 from 2026-04-01 until 2026-05-01",
        ["2026-04-01 09:00:00+0000", "2026-04-02 09:00:00+0000", "2026-04-03 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 until march 10",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every monday at 9 starting 2026-06-01",
        ["2026-06-01 09:00:00+0000", "2026-06-08 09:00:00+0000", "2026-06-15 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at noon starting tomorrow",
        ["2026-03-03 12:00:00+0000", "2026-03-04 12:00:00+0000", "2026-03-05 12:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 15 minutes until 2026-03-02T13:00:00Z",
        ["2026-03-02 12:15:00+0000", "2026-03-02 12:30:00+0000", "2026-03-02 12:45:00+0000"],
    ),
    (
        UTC_NOON,
        "every weekday at 9am with up to 5 minutes of jitter",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 except on the 1st",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every 15 minutes except at minute 0",
        ["2026-03-02 12:15:00+0000", "2026-03-02 12:30:00+0000", "2026-03-02 12:45:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 7 except on saturdays and sundays in december",
        ["2026-03-03 07:00:00+0000", "2026-03-04 07:00:00+0000", "2026-03-05 07:00:00+0000"],
    ),
    (
        UTC_NOON,
        "every day at 9 excluding weekends",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        BER_SPRING,
        "every day at 9 starting next monday",
        ["2026-03-30 09:00:00+0200", "2026-03-31 09:00:00+0200", "2026-04-01 09:00:00+0200"],
    ),
    # cron
    (
        UTC_NOON,
        "0 9 * * 1-5",
        ["2026-03-03 09:00:00+0000", "2026-03-04 09:00:00+0000", "2026-03-05 09:00:00+0000"],
    ),
    (
        UTC_NOON,
        "@daily",
        ["2026-03-03 00:00:00+0000", "2026-03-04 00:00:00+0000", "2026-03-05 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "@hourly",
        ["2026-03-02 13:00:00+0000", "2026-03-02 14:00:00+0000", "2026-03-02 15:00:00+0000"],
    ),
    (
        UTC_NOON,
        "@weekly",
        ["2026-03-08 00:00:00+0000", "2026-03-15 00:00:00+0000", "2026-03-22 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "@monthly",
        ["2026-04-01 00:00:00+0000", "2026-05-01 00:00:00+0000", "2026-06-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "@yearly",
        ["2027-01-01 00:00:00+0000", "2028-01-01 00:00:00+0000", "2029-01-01 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "*/15 * * * *",
        ["2026-03-02 12:15:00+0000", "2026-03-02 12:30:00+0000", "2026-03-02 12:45:00+0000"],
    ),
    (
        UTC_NOON,
        "0 0 L * *",
        ["2026-03-31 00:00:00+0000", "2026-04-30 00:00:00+0000", "2026-05-31 00:00:00+0000"],
    ),
    (
        UTC_NOON,
        "0 10 * * 1#1",
        ["2026-04-06 10:00:00+0000", "2026-05-04 10:00:00+0000", "2026-06-01 10:00:00+0000"],
    ),
    (
        UTC_NOON,
        "30 0 9 * * MON-FRI",
        ["2026-03-03 09:00:30+0000", "2026-03-04 09:00:30+0000", "2026-03-05 09:00:30+0000"],
    ),
    (
        UTC_NOON,
        "@every 90m",
        ["2026-03-02 13:30:00+0000", "2026-03-02 15:00:00+0000", "2026-03-02 16:30:00+0000"],
    ),
    (
        UTC_NOON,
        "0 12 1,15 * *",
        ["2026-03-15 12:00:00+0000", "2026-04-01 12:00:00+0000", "2026-04-15 12:00:00+0000"],
    ),
    (
        LA_SPRING,
        "0 9 * * *",
        ["2026-03-07 09:00:00-0800", "2026-03-08 09:00:00-0700", "2026-03-09 09:00:00-0700"],
    ),
]


def fire_times(rules: ScheduleRules, after: datetime, count: int = 3) -> list[str]:
    zone = ZoneInfo(rules.timezone or "UTC")
    return [
        fire.nominal.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S%z")
        for fire in compile_schedule(rules).fire_times(after, count)
    ]


def test_the_table_covers_150_phrases() -> None:
    assert len({text for _, text, _ in PHRASES}) >= 150


@pytest.mark.parametrize(
    ("reference", "text", "expected"), PHRASES, ids=[text for _, text, _ in PHRASES]
)
def test_phrase_fires_at(reference: tuple[str, datetime], text: str, expected: list[str]) -> None:
    zone, at = reference
    parsed = parse_schedule(text, timezone=zone, reference=at)
    assert fire_times(parsed.schedule, at) == expected


def parse(text: str, zone: str = "UTC") -> ScheduleRules:
    return parse_schedule(text, timezone=zone, reference=UTC_NOON[1]).schedule


@pytest.mark.parametrize(
    ("text", "words", "position"),
    [
        ("every weekday at 9am except holidayz", '"holidayz"', 29),
        ("every blursday at noon", '"every blursday"', 1),
        ("fortnightly at 9", '"fortnightly"', 1),
        ("at 9 on weekdays when the moon is full", '"when the moon is full"', 18),
    ],
)
def test_words_not_understood_are_quoted_with_their_position(
    text: str, words: str, position: int
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse(text)
    (violation,) = raised.value.violations
    assert violation.field == "text"
    assert f"{words} at character {position}" in violation.description


def test_every_unknown_part_is_named() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse("every florp at 9 zorp")
    description = raised.value.violations[0].description
    assert '"every florp" at character 1' in description
    assert '"zorp" at character 18' in description


@pytest.mark.parametrize("text", ["", "   ", "the", "in december"[:2]])
def test_text_without_a_time_to_fire_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse(text)
    assert raised.value.violations[0].field == "text"


def test_unknown_default_zone_is_refused_on_timezone() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse("every day at 9", zone="Mars/Olympus_Mons")
    assert raised.value.violations[0].field == "timezone"


def test_default_zone_may_be_a_common_name_and_the_text_wins() -> None:
    assert parse("every day at 9", zone="Pacific").timezone == "America/Los_Angeles"
    assert parse("every day at 9 Tokyo", zone="Pacific").timezone == "Asia/Tokyo"


def test_abbreviations_follow_dst_not_a_fixed_offset() -> None:
    july = datetime(2026, 7, 1, tzinfo=UTC)
    rules = parse_schedule("every day at 9 PST", reference=july).schedule
    assert fire_times(rules, july, 1) == ["2026-07-01 09:00:00-0700"]


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("0 9 * * 1-5", ParseMethod.CRON),
        ("@daily", ParseMethod.CRON),
        ("*/5 * * * *", ParseMethod.CRON),
        ("every day at 9", ParseMethod.GRAMMAR),
    ],
)
def test_cron_strings_pass_through_as_written(text: str, method: ParseMethod) -> None:
    parsed = parse_schedule(text, timezone="Europe/Berlin", reference=UTC_NOON[1])
    assert parsed.method is method
    if method is ParseMethod.CRON:
        assert parsed.schedule.cron_expressions == (text,)
        assert parsed.schedule.timezone == "Europe/Berlin"
        assert parsed.confidence == 1.0


@pytest.mark.parametrize(
    ("text", "below_one"),
    [
        ("every weekday at 9am", False),
        ("every monday", True),  # no time of day: midnight assumed
        ("twice a day", True),  # which two times: assumed
        ("every weekday at 9 except holidays in december", True),  # no holiday calendar
        ("tomorrow", True),
        ("on march 1 at 9", True),  # the year
        ("on march 1, 2027 at 9", False),
    ],
)
def test_confidence_drops_when_something_was_assumed(text: str, below_one: bool) -> None:
    confidence = parse_schedule(text, reference=UTC_NOON[1]).confidence
    assert 0 < confidence <= 1
    assert (confidence < 1) is below_one


def test_relative_words_count_from_the_reference_in_the_zone() -> None:
    # 23:30 on Monday in UTC is already Tuesday in Tokyo: "tomorrow" is Wednesday there.
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    rules = parse_schedule("tomorrow at noon Tokyo", reference=late).schedule
    assert fire_times(rules, late, 1) == ["2026-03-04 12:00:00+0900"]
    rules = parse_schedule("in 90 minutes", reference=late).schedule
    assert rules.at == (late + timedelta(minutes=90),)


def test_a_one_shot_time_a_dst_change_repeats_is_its_first_occurrence() -> None:
    rules = parse_schedule(
        "on 2026-11-01 at 1:30", timezone="America/Los_Angeles", reference=UTC_NOON[1]
    ).schedule
    assert rules.at == (datetime(2026, 11, 1, 8, 30, tzinfo=UTC),)


@pytest.mark.parametrize(
    ("reference", "text"), [(ref, text) for ref, text, _ in PHRASES], ids=[t for _, t, _ in PHRASES]
)
def test_the_description_of_a_phrase_reads_back_to_the_same_fire_times(
    reference: tuple[str, datetime], text: str
) -> None:
    zone, at = reference
    parsed = parse_schedule(text, timezone=zone, reference=at)
    again = parse_schedule(parsed.description, reference=at + timedelta(days=400))
    assert again.description == parsed.description
    assert fire_times(again.schedule, at, 20) == fire_times(parsed.schedule, at, 20)


def test_text_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        parse("every day at 9 " * 100)
    assert "at most 1000 characters" in raised.value.violations[0].description


@pytest.mark.parametrize(
    "text",
    [
        "in 99999999999 days",
        "in 999999 weeks",
        "every 3 days offset by 99999999999 days",
        "at 0001-01-01",
        "on 2027-02-30 at 17:00",
        "2027-13-45 09:00 every day",
        "every day from 12:00 to 9",
        "every 0 minutes",
        "every 0 months",
        "every 5 months",
        "every 3 quarters",
        "every february 30th at 8:30",
        "december 15th 15th",
        "once",
        "once once",
        "except",
        ";;;",
    ],
)
def test_text_that_means_no_valid_schedule_is_invalid_argument_on_text(text: str) -> None:
    # Found by fuzzing: each once escaped as another exception (or looped).
    with pytest.raises(InvalidArgumentError) as raised:
        parse(text)
    assert [v.field for v in raised.value.violations] == ["text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every 3 months at 9", ["2026-04-01 09:00:00+0000", "2026-07-01 09:00:00+0000"]),
        ("every month at 9", ["2026-04-01 09:00:00+0000", "2026-05-01 09:00:00+0000"]),
        ("every year at noon", ["2027-01-01 12:00:00+0000", "2028-01-01 12:00:00+0000"]),
        ("every month on the 15th", ["2026-03-15 00:00:00+0000", "2026-04-15 00:00:00+0000"]),
    ],
)
def test_a_month_cadence_fires_on_the_first_unless_a_day_is_given(
    text: str, expected: list[str]
) -> None:
    assert fire_times(parse(text), UTC_NOON[1], 2) == expected
