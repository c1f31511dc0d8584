"""A worker's calls through the real server, safe to retry: a repeated Complete or Fail
(its answer lost) answers OK and causes nothing twice, while any other outcome stays
refused; and ReleaseObjective, which gives a claimed objective back at once, uncounted,
waking the claimers that wait for it."""

import threading
from datetime import timedelta

import grpc
import pytest
from google.protobuf import duration_pb2

from sundial.service import objectives as objective_service
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import objective_pb2 as op
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec
from tests.support.rpc import failure_of

S = op.ObjectiveStatus
HOURLY = sp.AgentScheduleSpecSchedule(
    intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=3600))]
)


class Worker:
    """One agent's schedule, and calls as one worker or another makes them."""

    def __init__(self, server, schedules, objectives, workspace_id, agent, clock):
        self.server, self.schedules, self.stub = server, schedules, objectives
        self.workspace_id, self.agent_id, self.clock = workspace_id, agent.metadata.id, clock
        self.schedule = None

    def create(self, **spec_fields):
        spec_fields.setdefault("schedule", HOURLY)
        request = create_request(
            self.workspace_id, self.agent_id, spec=schedule_spec(**spec_fields)
        )
        self.schedule = self.schedules.CreateAgentSchedule(request)

    def fire(self):
        self.clock.advance(timedelta(hours=1))
        self.server.engine.run_pass()

    def claim(self, worker="w1", wait_seconds=0):
        request = ob.ClaimObjectivesRequest(
            workspace_id=self.workspace_id,
            agent_id=self.agent_id,
            worker_id=worker,
            lease_duration=duration_pb2.Duration(seconds=30),
            wait=duration_pb2.Duration(seconds=wait_seconds),
        )
        return list(self.stub.ClaimObjectives(request).objectives)

    def ids(self, objective, worker="w1"):
        return {
            "workspace_id": self.workspace_id,
            "agent_id": self.agent_id,
            "objective_id": objective.metadata.id,
            "worker_id": worker,
        }

    def complete(self, objective, worker="w1", **output):
        request = ob.CompleteObjectiveRequest(**self.ids(objective, worker))
        if output:
            request.output.struct_value.update(output)
        return self.stub.CompleteObjective(request)

    def fail(self, objective, worker="w1", error="boom", retryable=False):
        return self.stub.FailObjective(
            ob.FailObjectiveRequest(**self.ids(objective, worker), error=error, retryable=retryable)
        )

    def release(self, objective, worker="w1"):
        return self.stub.ReleaseObjective(ob.ReleaseObjectiveRequest(**self.ids(objective, worker)))

    def objectives(self):
        response = self.stub.ListObjectives(
            ob.ListObjectivesRequest(
                workspace_id=self.workspace_id, agent_id=self.agent_id, page_size=1000
            )
        )
        return list(reversed(response.objectives))  # oldest first

    def statuses(self):
        return [S.Name(o.info.status).removeprefix("OBJECTIVE_STATUS_") for o in self.objectives()]

    def get_schedule(self):
        return self.schedules.GetAgentSchedule(
            pb.GetAgentScheduleRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                schedule_id=self.schedule.metadata.id,
            )
        )


@pytest.fixture
def worker(server, schedules, objectives, workspace_id, agent, clock):
    return Worker(server, schedules, objectives, workspace_id, agent, clock)


def test_a_repeated_complete_answers_the_objective_and_promotes_nothing_twice(worker):
    worker.create(overlap_policy=sp.OVERLAP_POLICY_BUFFER_ALL)
    worker.fire()
    worker.fire()
    worker.fire()
    [objective] = worker.claim()
    first = worker.complete(objective, answer=42)
    assert worker.statuses() == ["SUCCEEDED", "PENDING", "BUFFERED"]

    worker.clock.advance(timedelta(minutes=5))  # past the lease: a late retry is still fine
    again = worker.complete(objective, answer=42)

    assert again == first
    assert again.info.status == S.OBJECTIVE_STATUS_SUCCEEDED
    # The second buffered fire was not promoted by the repeat.
    assert worker.statuses() == ["SUCCEEDED", "PENDING", "BUFFERED"]


def test_a_repeated_retryable_fail_retries_once_and_counts_once(worker):
    retry = sp.RetryPolicy(max_attempts=3)
    worker.create(retry_policy=retry)
    worker.fire()
    [objective] = worker.claim()
    first = worker.fail(objective, retryable=True)

    again = worker.fail(objective, retryable=True)

    assert again == first
    assert worker.statuses() == ["FAILED", "PENDING"]  # one retry, not two
    assert worker.get_schedule().info.consecutive_failure_count == 0


def test_a_repeated_final_fail_counts_the_failure_once(worker):
    worker.create()
    worker.fire()
    [objective] = worker.claim()
    worker.fail(objective)
    worker.fail(objective)
    assert worker.statuses() == ["FAILED"]
    assert worker.get_schedule().info.consecutive_failure_count == 1


@pytest.mark.parametrize(
    "second",
    [
        lambda w, o: w.complete(o, answer=43),
        lambda w, o: w.complete(o),
        lambda w, o: w.complete(o, worker="w2", answer=42),
        lambda w, o: w.fail(o),
    ],
    ids=["another output", "no output", "another worker", "a fail"],
)
def test_another_outcome_after_a_complete_is_refused(worker, second):
    worker.create()
    worker.fire()
    [objective] = worker.claim()
    done = worker.complete(objective, answer=42)

    with pytest.raises(grpc.RpcError) as caught:
        second(worker, objective)

    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "LEASE_NOT_HELD"
    assert "SUCCEEDED" in failure.message
    assert worker.objectives() == [done]


@pytest.mark.parametrize(
    "second",
    [
        lambda w, o: w.fail(o, error="another error"),
        lambda w, o: w.fail(o, worker="w2"),
        lambda w, o: w.complete(o),
    ],
    ids=["another error", "another worker", "a complete"],
)
def test_another_outcome_after_a_fail_is_refused(worker, second):
    worker.create()
    worker.fire()
    [objective] = worker.claim()
    failed = worker.fail(objective)

    with pytest.raises(grpc.RpcError) as caught:
        second(worker, objective)

    assert failure_of(caught.value).reason == "LEASE_NOT_HELD"
    assert worker.objectives() == [failed]
    assert worker.get_schedule().info.consecutive_failure_count == 1


def test_a_complete_after_the_reaper_timed_the_objective_out_is_refused(worker):
    worker.create()
    worker.fire()
    [objective] = worker.claim()
    worker.clock.advance(timedelta(seconds=31))
    worker.server.engine.run_pass()
    with pytest.raises(grpc.RpcError) as caught:
        worker.complete(objective)
    assert failure_of(caught.value).reason == "LEASE_NOT_HELD"
    assert worker.statuses() == ["TIMED_OUT"]


def test_release_makes_the_objective_pending_at_once_without_counting_an_attempt(worker):
    worker.create(retry_policy=sp.RetryPolicy(max_attempts=1))
    worker.fire()
    [objective] = worker.claim()

    released = worker.release(objective)

    assert released.info.status == S.OBJECTIVE_STATUS_PENDING
    assert released.info.worker_id == ""
    assert not released.info.HasField("lease_expires_at")
    assert not released.info.HasField("started_at")
    assert released.info.attempt == objective.info.attempt
    assert worker.get_schedule().info.consecutive_failure_count == 0
    # Another worker claims it at once (no clock moved), as the same attempt.
    [again] = worker.claim(worker="w2")
    assert again.metadata.id == objective.metadata.id
    assert again.info.worker_id == "w2"
    assert again.info.attempt == objective.info.attempt
    worker.complete(again, worker="w2")
    assert worker.statuses() == ["SUCCEEDED"]


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        (lambda w, o: None, "LEASE_NOT_HELD"),  # released by another worker
        (lambda w, o: w.complete(o, worker="w2"), "LEASE_NOT_HELD"),
        (lambda w, o: w.clock.advance(timedelta(seconds=31)), "LEASE_EXPIRED"),
    ],
    ids=["held by another worker", "already ended", "lease run out"],
)
def test_release_of_an_objective_the_worker_does_not_hold_is_refused(worker, before, reason):
    worker.create()
    worker.fire()
    [objective] = worker.claim(worker="w2")
    before(worker, objective)
    expected = worker.objectives()

    with pytest.raises(grpc.RpcError) as caught:
        worker.release(objective, worker="w2" if reason == "LEASE_EXPIRED" else "w1")

    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == reason
    assert worker.objectives() == expected


def test_release_wakes_a_claimer_waiting_for_the_agent(worker, monkeypatch):
    # Without the wake-up, the waiting claim would look again only at the end of its wait.
    monkeypatch.setattr(objective_service, "_POLL_SLICE_SECONDS", 60.0)
    worker.create()
    worker.fire()
    [objective] = worker.claim()
    waiting = threading.Event()
    notifier = worker.server.notifier
    wait_for_objectives = notifier.wait_for_objectives

    def wait_and_say(agent_id, timeout):
        waiting.set()
        return wait_for_objectives(agent_id, timeout)

    monkeypatch.setattr(notifier, "wait_for_objectives", wait_and_say)
    claimed = []
    claimer = threading.Thread(target=lambda: claimed.extend(worker.claim("w2", 30)))
    claimer.start()
    assert waiting.wait(10)

    worker.release(objective)

    claimer.join(10)
    assert not claimer.is_alive()
    assert [o.metadata.id for o in claimed] == [objective.metadata.id]
