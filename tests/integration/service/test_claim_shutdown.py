"""At shutdown, long-polling claims answer at once: a claim waiting for objectives takes
what is pending (or nothing) and returns, and a claim made afterwards does not wait; on
SQLite and PostgreSQL, with a fake clock that never moves (so no objective falls due by
time)."""

import threading
from datetime import timedelta

import pytest

from sundial.domain.objectives import Objective
from sundial.service.notifier import Notifier
from sundial.service.objectives import ObjectiveService
from sundial.service.triggers import TriggerService
from tests.support.tenants import Tenant

WAIT = timedelta(seconds=60)
# How long a claim that should answer at once may take before the test calls it stuck; far
# below WAIT, which a claim that missed the shutdown would sit out.
JOIN_SECONDS = 20


class WaitCounter:
    """How many claims are inside the notifier's wait now (a sync point, not a clock)."""

    def __init__(self, notifier: Notifier) -> None:
        self._wait = notifier.wait_for_objectives
        self.entered = threading.Event()

    def __call__(self, agent_id: str, timeout: float) -> None:
        self.entered.set()
        self._wait(agent_id, timeout)


class Claim(threading.Thread):
    """One claim with `wait`, in a thread; `result` once it answered."""

    def __init__(self, tenant: Tenant, objectives: ObjectiveService) -> None:
        super().__init__(daemon=True)
        self._tenant, self._objectives = tenant, objectives
        self.result: list[Objective] | None = None

    def run(self) -> None:
        tenant = self._tenant
        self.result = self._objectives.claim(
            tenant.principal, tenant.workspace_id, tenant.agent_id, worker_id="w", wait=WAIT
        )

    def answered(self) -> list[Objective]:
        self.join(JOIN_SECONDS)
        assert not self.is_alive(), "the claim still waits after shutdown was signalled"
        assert self.result is not None
        return self.result


@pytest.fixture
def notifier(monkeypatch: pytest.MonkeyPatch) -> tuple[Notifier, WaitCounter]:
    # A claim re-checks on its own every poll slice (1 s); here it would only once WAIT is
    # over, so what wakes it early is the shutdown alone.
    monkeypatch.setattr("sundial.service.objectives._POLL_SLICE_SECONDS", 3600.0)
    notifier = Notifier()
    counter = WaitCounter(notifier)
    monkeypatch.setattr(notifier, "wait_for_objectives", counter)
    return notifier, counter


def test_a_waiting_claim_answers_empty_when_shutdown_is_signalled(tenant, notifier):
    notifier_, counter = notifier
    objectives = ObjectiveService(tenant.database, tenant.clock, notifier_)
    claim = Claim(tenant, objectives)
    claim.start()
    assert counter.entered.wait(JOIN_SECONDS), "the claim never started waiting"
    objectives.stop_waiting()
    assert claim.answered() == []


def test_a_waiting_claim_woken_by_shutdown_takes_what_is_pending(tenant, notifier):
    notifier_, counter = notifier
    objectives = ObjectiveService(tenant.database, tenant.clock, notifier_)
    claim = Claim(tenant, objectives)
    claim.start()
    assert counter.entered.wait(JOIN_SECONDS), "the claim never started waiting"
    # An objective made without telling the claim's notifier (as if its wake-up were lost).
    schedule_id = tenant.schedule()
    triggered = TriggerService(tenant.database, tenant.clock, tenant.schedules, Notifier()).trigger(
        tenant.principal, tenant.workspace_id, tenant.agent_id, schedule_id
    )
    objectives.stop_waiting()
    assert [o.metadata.id for o in claim.answered()] == [triggered.metadata.id]


def test_a_claim_made_after_shutdown_was_signalled_does_not_wait(tenant, notifier):
    notifier_, _counter = notifier
    objectives = ObjectiveService(tenant.database, tenant.clock, notifier_)
    objectives.stop_waiting()
    claim = Claim(tenant, objectives)
    claim.start()
    assert claim.answered() == []
