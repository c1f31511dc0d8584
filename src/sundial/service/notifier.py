"""Wake-ups: workers long-polling for an agent's objectives, and the firing loop waiting for
the next due schedule, and the key caches of every replica when a key is revoked or a user's
grants change. Local listeners are woken at once; `publishers` carry the news to
other replicas (PostgreSQL NOTIFY), whose listeners call the `local_*` methods."""

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

Publisher = Callable[[str, str], None]

SCHEDULES = "schedules"
OBJECTIVES = "objectives"
CREDENTIALS = "credentials"
DELIVERIES = "deliveries"


class Notifier:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}
        self._schedule_listeners: list[Callable[[datetime], None]] = []
        self._credential_listeners: list[Callable[[str], None]] = []
        self._objective_listeners: list[Callable[[list[str]], None]] = []
        self._delivery_listeners: list[Callable[[], None]] = []
        self._publishers: list[Publisher] = []
        self._waits_ended = False

    def add_publisher(self, publisher: Publisher) -> None:
        """`publisher(topic, payload)` tells other processes (SCHEDULES, OBJECTIVES or
        CREDENTIALS)."""
        self._publishers.append(publisher)

    def on_schedules_changed(self, listener: Callable[[datetime], None]) -> None:
        """`listener(due_at)` hears when a changed schedule falls due."""
        self._schedule_listeners.append(listener)

    def schedules_changed(self, due_at: datetime | None) -> None:
        """A schedule was written that falls due at `due_at`. None: it will not fire (it is
        paused, archived or ended), and nobody need wake: a loop that planned its old fire
        finds it gone when it locks the row."""
        if due_at is None:
            return
        self.local_schedules_changed(due_at)
        self._publish(SCHEDULES, due_at.isoformat())

    def on_objectives_available(self, listener: Callable[[list[str]], None]) -> None:
        """`listener(agent_ids)` hears when objectives of those agents became PENDING (the
        pusher, which serves every PUSH agent, listens rather than waiting per agent)."""
        self._objective_listeners.append(listener)

    def objectives_available(self, agent_ids: Iterable[str]) -> None:
        agents = list(agent_ids)
        self.local_objectives_available(agents)
        self._publish(OBJECTIVES, ",".join(agents))

    def on_credentials_changed(self, listener: Callable[[str], None]) -> None:
        """`listener(id)` is told the id of a revoked key or of a profile whose grants
        changed."""
        self._credential_listeners.append(listener)

    def credentials_changed(self, resource_id: str) -> None:
        self.local_credentials_changed(resource_id)
        self._publish(CREDENTIALS, resource_id)

    def on_deliveries_written(self, listener: Callable[[], None]) -> None:
        """`listener()` hears when outbox rows were committed (the dispatcher wakes)."""
        self._delivery_listeners.append(listener)

    def deliveries_written(self) -> None:
        """Deliveries were committed to the outbox: call after the commit, so that the
        dispatcher woken by it can see them."""
        self.local_deliveries_written()
        self._publish(DELIVERIES, "")

    def local_deliveries_written(self) -> None:
        for listener in self._delivery_listeners:
            listener()

    def local_credentials_changed(self, resource_id: str) -> None:
        for listener in self._credential_listeners:
            listener(resource_id)

    def local_schedules_changed(self, due_at: datetime) -> None:
        for listener in self._schedule_listeners:
            listener(due_at)

    def local_objectives_available(self, agent_ids: Iterable[str]) -> None:
        agents = list(agent_ids)
        with self._condition:
            for agent_id in agents:
                self._versions[agent_id] = self._versions.get(agent_id, 0) + 1
            self._condition.notify_all()
        for listener in self._objective_listeners:
            listener(agents)

    def wait_for_objectives(self, agent_id: str, timeout: float) -> None:
        """Returns when objectives may have arrived for `agent_id`, or after `timeout` s, or
        at once once waits have ended."""
        with self._condition:
            seen = self._versions.get(agent_id, 0)
            self._condition.wait_for(
                lambda: self._waits_ended or self._versions.get(agent_id, 0) != seen, timeout
            )

    def end_waits(self) -> None:
        """Wakes every wait for objectives, and makes later ones return at once (the server
        is shutting down: a long-polling claim must not hold it up)."""
        with self._condition:
            self._waits_ended = True
            self._condition.notify_all()

    @property
    def waits_ended(self) -> bool:
        return self._waits_ended

    def _publish(self, topic: str, payload: str) -> None:
        for publisher in self._publishers:
            publisher(topic, payload)


def due_at_of(payload: str) -> datetime:
    """The time a SCHEDULES notification says the changed schedule falls due; the earliest
    time there is when it does not say (a replica of an older version), so it wakes."""
    try:
        due_at = datetime.fromisoformat(payload)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=UTC)
