"""UTCDateTime's own SQLite rendering stores exactly the text SQLAlchemy's SQLite DATETIME
would store for the same instant in UTC, so that stored times compare as text in time
order."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from sundial.store.types import UTCDateTime

DIALECT = sqlite.dialect()


def _bind(type_: object) -> object:
    processor = type_.dialect_impl(DIALECT).bind_processor(DIALECT)  # type: ignore[attr-defined]
    assert processor is not None
    return processor


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 7, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(999, 12, 31, 23, 59, tzinfo=UTC),
    ],
    ids=["midnight", "microseconds", "another offset", "a zone", "three-digit year"],
)
def test_sqlite_text_is_what_sqlalchemy_stores_for_the_utc_instant(moment):
    ours, theirs = _bind(UTCDateTime()), _bind(DateTime())
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    later = moment + timedelta(microseconds=1)
    assert ours(moment) < ours(later)


def test_none_binds_as_null_and_a_naive_time_is_refused():
    bind = _bind(UTCDateTime())
    assert bind(None) is None
    with pytest.raises(ValueError, match="naive"):
        bind(datetime(2026, 1, 1))
