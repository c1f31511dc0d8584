"""Wake-ups: workers long-polling for an agent's objectives, the pusher (told when each
objective becomes claimable, also at a later time: a retry after its backoff), the firing loop
waiting for the next due schedule, and the key caches of every replica when a key is revoked or
a user's grants change. Local listeners are woken at once; `publishers` carry the news to
other replicas (PostgreSQL NOTIFY), whose listeners call the `local_*` methods."""

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

Publisher = Callable[[str, str], None]
# `listener(agent_ids, available_at)`: None, claimable now; otherwise from then on.
ObjectivesListener = Callable[[list[str], datetime | None], None]

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
        self._objective_listeners: list[ObjectivesListener] = []
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

    def on_objectives_available(self, listener: ObjectivesListener) -> None:
        """`listener(agent_ids, available_at)` hears when objectives of those agents became
        claimable, or will at `available_at` (the pusher, which serves every PUSH agent,
        listens rather than waiting per agent)."""
        self._objective_listeners.append(listener)

    def objectives_available(
        self, agent_ids: Iterable[str], available_at: datetime | None = None
    ) -> None:
        """Objectives of `agent_ids` were committed claimable now (None) or from
        `available_at` on (a retry waiting for its backoff): call after the commit."""
        agents = list(agent_ids)
        self.local_objectives_available(agents, available_at)
        self._publish(OBJECTIVES, objectives_payload(agents, available_at))

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

    def local_objectives_available(
        self, agent_ids: Iterable[str], available_at: datetime | None = None
    ) -> None:
        agents = list(agent_ids)
        if available_at is None:
            # A long-polling claim woken for a later objective would only find nothing.
            with self._condition:
                for agent_id in agents:
                    self._versions[agent_id] = self._versions.get(agent_id, 0) + 1
                self._condition.notify_all()
        for listener in self._objective_listeners:
            listener(agents, available_at)

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


def objectives_payload(agent_ids: list[str], available_at: datetime | None) -> str:
    """An OBJECTIVES notification: the agent ids, comma-separated, then `@` and the time
    they become claimable when that is not now."""
    agents = ",".join(agent_ids)
    return agents if available_at is None else f"{agents}@{available_at.isoformat()}"


def objectives_of(payload: str) -> tuple[list[str], datetime | None]:
    """The agent ids and time an OBJECTIVES notification says (now when it says no time,
    or one that does not parse: waking early costs one look)."""
    agents, _, when = payload.partition("@")
    available_at = None
    if when:
        try:
            available_at = datetime.fromisoformat(when)
        except ValueError:
            available_at = None
        if available_at is not None and available_at.tzinfo is None:
            available_at = available_at.replace(tzinfo=UTC)
    return [a for a in agents.split(",") if a], available_at
