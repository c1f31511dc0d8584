"""In-process wake-ups: workers long-polling for an agent's objectives, and the firing loop
waiting for the next due schedule."""

import threading
from collections.abc import Callable, Iterable


class Notifier:
    """Wakes claimers waiting on an agent, and the firing loop when schedules change."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._versions: dict[str, int] = {}
        self._schedule_listeners: list[Callable[[], None]] = []

    def objectives_available(self, agent_ids: Iterable[str]) -> None:
        with self._condition:
            for agent_id in agent_ids:
                self._versions[agent_id] = self._versions.get(agent_id, 0) + 1
            self._condition.notify_all()

    def wait_for_objectives(self, agent_id: str, timeout: float) -> None:
        """Returns when objectives may have arrived for `agent_id`, or after `timeout` s."""
        with self._condition:
            seen = self._versions.get(agent_id, 0)
            self._condition.wait_for(lambda: self._versions.get(agent_id, 0) != seen, timeout)

    def on_schedules_changed(self, listener: Callable[[], None]) -> None:
        self._schedule_listeners.append(listener)

    def schedules_changed(self) -> None:
        for listener in self._schedule_listeners:
            listener()
