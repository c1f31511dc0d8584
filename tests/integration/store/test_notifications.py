"""PostgreSQL LISTEN/NOTIFY between two processes' worth of connections."""

import queue

import pytest

from sundial.store.database import Database
from sundial.store.notifications import (
    DELIVERIES_CHANNEL,
    OBJECTIVES_CHANNEL,
    SCHEDULES_CHANNEL,
    PostgresNotifications,
)

pytestmark = pytest.mark.postgres


def test_a_publish_reaches_a_listener_on_another_connection(postgres_cluster):
    url = postgres_cluster.create_database("notify", template="sundial_template")
    publisher_db, listener_db = Database(url), Database(url)
    received: queue.Queue[tuple[str, str]] = queue.Queue()
    listener = PostgresNotifications(listener_db)
    listener.listen(lambda channel, payload: received.put((channel, payload)))
    try:
        publisher = PostgresNotifications(publisher_db)
        # LISTEN starts on the listener's own thread: publish until it has heard one.
        for _ in range(50):
            publisher.publish(SCHEDULES_CHANNEL)
            try:
                assert received.get(timeout=0.2) == (SCHEDULES_CHANNEL, "")
                break
            except queue.Empty:
                continue
        else:
            pytest.fail("no notification arrived")
        publisher.publish(OBJECTIVES_CHANNEL, "agent_a,agent_b")
        while (message := received.get(timeout=10)) != (OBJECTIVES_CHANNEL, "agent_a,agent_b"):
            assert message[0] == SCHEDULES_CHANNEL
        publisher.publish(DELIVERIES_CHANNEL)
        assert received.get(timeout=10) == (DELIVERIES_CHANNEL, "")
    finally:
        listener.close()
        publisher_db.dispose()
        listener_db.dispose()
