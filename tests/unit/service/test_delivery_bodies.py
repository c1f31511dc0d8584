"""A delivery body's timestamps read as ProtoJSON writes them."""

from datetime import UTC, datetime

import pytest

from sundial.service.delivery_bodies import rfc3339


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 6, 1, 8, 30, tzinfo=UTC), "2026-06-01T08:30:00Z"),
        (datetime(2026, 6, 1, 8, 30, 0, 250_000, tzinfo=UTC), "2026-06-01T08:30:00.250Z"),
        (datetime(2026, 6, 1, 8, 30, 0, 250_001, tzinfo=UTC), "2026-06-01T08:30:00.250001Z"),
    ],
    ids=["seconds", "millis", "micros"],
)
def test_timestamps_read_as_protojson_writes_them(moment: datetime, text: str) -> None:
    assert rfc3339(moment) == text
