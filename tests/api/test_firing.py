"""The firing engine on a fake clock, through the real server: overlap policies, catch-up,
pause/resume, max_fires, retries, timeouts, pause_on_failure and buffer promotion."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import objective_pb2 as op
from sundial.v1 import objective_service_pb2 as ob
from tests.api.conftest import START
from tests.api.schedule_requests import create_request, schedule_spec
from tests.support.rpc import failure_of

MINUTE = timedelta(minutes=1)
S = op.ObjectiveStatus


def _every(seconds: int) -> sp.AgentScheduleSpecSchedule:
    return sp.AgentScheduleSpecSchedule(
        intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=seconds))]
    )


class Harness:
    """One agent, one schedule, and the engine driven by hand on the fake clock."""

    def __init__(self, server, schedules, objectives, workspace_id, agent, clock):
        self.server, self.schedules, self.objectives_stub = server, schedules, objectives
        self.workspace_id, self.agent_id, self.clock = workspace_id, agent.metadata.id, clock
        self.schedule = None

    def create(self, **spec_fields):
        spec_fields.setdefault("schedule", _every(60))
        request = create_request(
            self.workspace_id, self.agent_id, spec=schedule_spec(**spec_fields)
        )
        self.schedule = self.schedules.CreateAgentSchedule(request)
        return self.schedule

    @property
    def ids(self):
        return {
            "workspace_id": self.workspace_id,
            "agent_id": self.agent_id,
            "schedule_id": self.schedule.metadata.id,
        }

    def tick(self, delta=MINUTE):
        self.clock.advance(delta)
        return self.server.engine.run_pass()

    def get(self):
        return self.schedules.GetAgentSchedule(pb.GetAgentScheduleRequest(**self.ids))

    def objectives(self, status=None):
        response = self.objectives_stub.ListObjectives(
            ob.ListObjectivesRequest(
                workspace_id=self.workspace_id,
                agent_id=self.agent_id,
                page_size=1000,
                filter=f'schedule_id = "{self.schedule.metadata.id}"',
            )
        )
        found = list(reversed(response.objectives))  # oldest first
        return found if status is None else [o for o in found if o.info.status == status]

    def statuses(self):
        return [S.Name(o.info.status).removeprefix("OBJECTIVE_STATUS_") for o in self.objectives()]

    def claim(self, lease_seconds=0, worker="w1"):
        request = ob.ClaimObjectivesRequest(
            workspace_id=self.workspace_id, agent_id=self.agent_id, worker_id=worker
        )
        if lease_seconds:
            request.lease_duration.FromTimedelta(timedelta(seconds=lease_seconds))
        return list(self.objectives_stub.ClaimObjectives(request).objectives)

    def _finish_request(self, message, objective, **fields):
        return message(
            workspace_id=self.workspace_id,
            agent_id=self.agent_id,
            objective_id=objective.metadata.id,
            worker_id="w1",
            **fields,
        )

    def heartbeat(self, objective):
        return self.objectives_stub.HeartbeatObjective(
            self._finish_request(ob.HeartbeatObjectiveRequest, objective)
        )

    def complete(self, objective):
        return self.objectives_stub.CompleteObjective(
            self._finish_request(ob.CompleteObjectiveRequest, objective)
        )

    def fail(self, objective, retryable=False):
        return self.objectives_stub.FailObjective(
            self._finish_request(
                ob.FailObjectiveRequest, objective, error="boom", retryable=retryable
            )
        )


@pytest.fixture
def harness(server, schedules, objectives, workspace_id, agent, clock):
    return Harness(server, schedules, objectives, workspace_id, agent, clock)


def test_a_due_fire_creates_one_objective_and_advances(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    assert harness.tick(timedelta(seconds=30)) == 0
    harness.tick(timedelta(seconds=30))
    harness.server.engine.run_pass()  # a second pass at the same moment fires nothing more
    [objective] = harness.objectives()
    assert objective.spec.scheduled_time.ToDatetime(tzinfo=UTC) == START + MINUTE
    assert objective.spec.trigger_kind == op.TRIGGER_KIND_SCHEDULED
    assert objective.spec.initial_message == "summarize the day"
    info = harness.get().info
    assert info.total_fires == 1
    assert info.last_objective_id == objective.metadata.id
    assert info.next_fire_at.ToDatetime(tzinfo=UTC) == START + 2 * MINUTE
    assert list(info.running_objective_ids) == [objective.metadata.id]
    assert info.recent_fires[0].objective_id == objective.metadata.id
    assert info.last_objective_status == S.OBJECTIVE_STATUS_PENDING


@pytest.mark.parametrize(
    ("policy", "after_three", "skipped"),
    [
        (sp.OVERLAP_POLICY_ALLOW, ["PENDING", "PENDING", "PENDING"], 0),
        (sp.OVERLAP_POLICY_UNSPECIFIED, ["PENDING"], 2),
        (sp.OVERLAP_POLICY_SKIP, ["PENDING"], 2),
        (sp.OVERLAP_POLICY_BUFFER_ONE, ["PENDING", "BUFFERED"], 1),
        (sp.OVERLAP_POLICY_BUFFER_ALL, ["PENDING", "BUFFERED", "BUFFERED"], 0),
        (sp.OVERLAP_POLICY_CANCEL_OTHER, ["CANCELLED", "CANCELLED", "PENDING"], 0),
    ],
    ids=["allow", "unspecified-is-skip", "skip", "buffer-one", "buffer-all", "cancel-other"],
)
def test_overlap_policies(harness, policy, after_three, skipped):
    harness.create(overlap_policy=policy)
    for _ in range(3):
        harness.tick()
    assert harness.statuses() == after_three
    info = harness.get().info
    assert info.skipped_fires == skipped
    if skipped:
        assert info.last_skip_reason
        assert info.last_skipped_at.ToDatetime(tzinfo=UTC) == harness.clock.now()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (sp.OVERLAP_POLICY_ALLOW, ["PENDING"] * 5),
        (sp.OVERLAP_POLICY_SKIP, ["PENDING"]),
        (sp.OVERLAP_POLICY_BUFFER_ONE, ["PENDING", "BUFFERED"]),
        (sp.OVERLAP_POLICY_BUFFER_ALL, ["PENDING"] + ["BUFFERED"] * 4),
        (sp.OVERLAP_POLICY_CANCEL_OTHER, ["CANCELLED"] * 4 + ["PENDING"]),
    ],
    ids=["allow", "skip", "buffer-one", "buffer-all", "cancel-other"],
)
def test_catch_up_after_a_three_hour_outage(harness, policy, expected):
    harness.create(
        schedule=_every(15 * 60),
        overlap_policy=policy,
        catchup_window=duration_pb2.Duration(seconds=3600),
    )
    harness.tick(timedelta(hours=3))  # fires due 12:15 ... 15:00: 12 of them
    assert harness.statuses() == expected
    times = [o.spec.scheduled_time.ToDatetime(tzinfo=UTC) for o in harness.objectives()]
    assert (
        times == [START + timedelta(hours=2, minutes=15 * i) for i in range(len(expected))]
        or len(expected) < 5
    )
    info = harness.get().info
    assert info.missed_fires == 7  # 12:15 ... 13:45 are older than the 1 h window
    assert info.missed_fires + info.skipped_fires + len(expected) == 12
    assert info.next_fire_at.ToDatetime(tzinfo=UTC) == START + timedelta(hours=3, minutes=15)


def test_pause_and_resume_do_not_replay(harness, schedules):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    harness.tick()
    schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**harness.ids))
    harness.tick(timedelta(hours=1))
    schedules.ResumeAgentSchedule(pb.ResumeAgentScheduleRequest(**harness.ids))
    harness.server.engine.run_pass()
    assert len(harness.objectives()) == 1
    harness.tick()
    assert len(harness.objectives()) == 2
    assert harness.get().info.missed_fires == 0


def test_writes_wake_the_loop_for_when_the_schedule_falls_due_and_pauses_wake_nobody(
    harness, schedules
):
    # On PostgreSQL this process also hears its own notifications, later: times are compared
    # as a set.
    woken: list[datetime] = []
    harness.server.notifier.on_schedules_changed(woken.append)

    def next_fire_at():
        return harness.get().info.next_fire_at.ToDatetime(tzinfo=UTC)

    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    created = next_fire_at()
    assert set(woken) == {created}
    schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**harness.ids))
    schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**harness.ids))  # no change
    harness.clock.advance(timedelta(hours=1, seconds=30))
    schedules.ResumeAgentSchedule(pb.ResumeAgentScheduleRequest(**harness.ids))
    resumed = next_fire_at()
    assert set(woken) == {created, resumed}
    assert resumed > created
    schedules.UpdateAgentSchedule(
        pb.UpdateAgentScheduleRequest(
            **harness.ids,
            spec=sp.AgentScheduleSpec(schedule=_every(3600)),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.schedule"]),
        )
    )
    updated = next_fire_at()
    assert set(woken) == {created, resumed, updated}
    assert updated > resumed + MINUTE


def test_max_fires_stops_the_schedule_without_archiving_it(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW, max_fires=2)
    for _ in range(4):
        harness.tick()
    assert len(harness.objectives()) == 2
    info = harness.get()
    assert info.spec.status == sp.AGENT_SCHEDULE_STATUS_ACTIVE
    assert not info.info.HasField("next_fire_at")
    assert info.info.remaining_fires == 0


def test_retries_back_off_exponentially_then_fail(harness):
    harness.create(
        schedule=_every(3600),
        retry_policy=sp.RetryPolicy(
            max_attempts=3,
            initial_backoff=duration_pb2.Duration(seconds=10),
            backoff_multiplier=3.0,
        ),
    )
    harness.tick(timedelta(hours=1))
    [first] = harness.claim()
    harness.fail(first, retryable=True)
    assert harness.claim() == []  # backing off
    harness.clock.advance(timedelta(seconds=10))
    [second] = harness.claim()
    assert second.info.attempt == 2
    assert second.spec.trigger_kind == op.TRIGGER_KIND_RETRY
    assert second.info.retry_of == first.metadata.id
    assert second.spec.scheduled_time == first.spec.scheduled_time
    harness.fail(second, retryable=True)
    harness.clock.advance(timedelta(seconds=29))
    assert harness.claim() == []
    harness.clock.advance(timedelta(seconds=1))  # 10 s * 3
    [third] = harness.claim()
    harness.fail(third, retryable=True)  # attempts spent
    assert harness.statuses() == ["FAILED", "FAILED", "FAILED"]
    assert harness.get().info.consecutive_failure_count == 1
    assert harness.get().info.last_objective_status == S.OBJECTIVE_STATUS_FAILED


def test_expired_lease_and_execution_timeout_time_out(harness):
    harness.create(schedule=_every(3600), execution_timeout=duration_pb2.Duration(seconds=45))
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim(lease_seconds=30)
    harness.clock.advance(timedelta(seconds=31))
    harness.server.engine.run_pass()  # the reaper runs after every pass
    assert harness.statuses() == ["TIMED_OUT"]
    with pytest.raises(grpc.RpcError) as caught:
        harness.complete(objective)
    assert failure_of(caught.value).reason == "LEASE_NOT_HELD"

    harness.tick(timedelta(hours=1))
    [objective] = harness.claim(lease_seconds=30)
    harness.clock.advance(timedelta(seconds=25))
    harness.heartbeat(objective)
    harness.clock.advance(timedelta(seconds=21))  # lease still good, but 46 s > execution_timeout
    harness.server.engine.run_pass()
    assert harness.statuses() == ["TIMED_OUT", "TIMED_OUT"]
    assert "execution_timeout" in harness.objectives()[-1].info.error


@pytest.mark.parametrize("call", ["heartbeat", "complete", "fail"])
def test_work_reported_after_the_lease_expired_is_refused_before_the_reaper_runs(harness, call):
    harness.create(schedule=_every(3600))
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim(lease_seconds=30)
    harness.clock.advance(timedelta(seconds=30.6))  # no pass: the reaper has not run
    with pytest.raises(grpc.RpcError) as caught:
        getattr(harness, call)(objective)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert failure_of(caught.value).reason == "LEASE_EXPIRED"
    assert harness.statuses() == ["RUNNING"]  # nothing of the late call was written
    harness.server.engine.run_pass()
    assert harness.statuses() == ["TIMED_OUT"]


def test_work_reported_within_the_lease_is_accepted(harness):
    harness.create(schedule=_every(3600))
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim(lease_seconds=30)
    harness.clock.advance(timedelta(seconds=29.9))
    harness.heartbeat(objective)  # the lease now runs to 59.9 s
    harness.clock.advance(timedelta(seconds=29.9))
    harness.complete(objective)
    assert harness.statuses() == ["SUCCEEDED"]


def test_pause_on_failure_pauses_with_a_note(harness):
    harness.create(schedule=_every(3600), pause_on_failure=True)
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim()
    harness.fail(objective)
    schedule = harness.get()
    assert schedule.spec.status == sp.AGENT_SCHEDULE_STATUS_PAUSED
    assert objective.metadata.id in schedule.spec.notes
    assert not schedule.info.HasField("next_fire_at")


def test_finishing_promotes_the_oldest_buffered_fire(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_BUFFER_ALL)
    harness.tick()
    harness.tick()
    harness.tick()
    [running] = harness.claim()
    harness.complete(running)
    assert harness.statuses() == ["SUCCEEDED", "PENDING", "BUFFERED"]
    assert harness.get().info.consecutive_failure_count == 0


def test_cancel_promotes_too_and_cannot_cancel_twice(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_BUFFER_ONE)
    harness.tick()
    harness.tick()
    first = harness.objectives()[0]
    request = ob.CancelObjectiveRequest(
        workspace_id=harness.workspace_id,
        agent_id=harness.agent_id,
        objective_id=first.metadata.id,
        reason="not needed",
    )
    cancelled = harness.objectives_stub.CancelObjective(request)
    assert cancelled.info.status == S.OBJECTIVE_STATUS_CANCELLED
    assert harness.statuses() == ["CANCELLED", "PENDING"]
    with pytest.raises(grpc.RpcError) as caught:
        harness.objectives_stub.CancelObjective(request)
    assert failure_of(caught.value).code == grpc.StatusCode.FAILED_PRECONDITION


def test_trigger_makes_an_objective_each_time_unless_the_request_id_repeats(harness, schedules):
    harness.create(schedule=_every(3600))
    first = schedules.TriggerAgentSchedule(pb.TriggerAgentScheduleRequest(**harness.ids))
    second = schedules.TriggerAgentSchedule(pb.TriggerAgentScheduleRequest(**harness.ids))
    assert first.metadata.id != second.metadata.id
    assert first.spec.trigger_kind == op.TRIGGER_KIND_MANUAL
    keyed = pb.TriggerAgentScheduleRequest(**harness.ids, request_id="run-now-1")
    assert (
        schedules.TriggerAgentSchedule(keyed).metadata.id
        == schedules.TriggerAgentSchedule(keyed).metadata.id
    )
    assert len(harness.objectives()) == 3
    assert harness.get().info.total_fires == 0  # manual fires do not count as scheduled fires


def test_backfill_fires_each_past_time_once(harness, schedules):
    harness.create(schedule=_every(15 * 60))
    request = pb.BackfillAgentScheduleRequest(**harness.ids, overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    request.start_time.FromDatetime(START - timedelta(hours=1))
    request.end_time.FromDatetime(START)
    result = schedules.BackfillAgentSchedule(request)
    assert (result.created_count, result.existing_count) == (4, 0)
    assert [o.spec.trigger_kind for o in result.objectives] == [op.TRIGGER_KIND_BACKFILL] * 4
    again = schedules.BackfillAgentSchedule(request)
    assert (again.created_count, again.existing_count) == (0, 4)
    request.end_time.FromDatetime(harness.clock.now() + timedelta(hours=1))
    with pytest.raises(grpc.RpcError) as caught:
        schedules.BackfillAgentSchedule(request)
    assert "end_time" in failure_of(caught.value).violations


def test_claim_hands_each_objective_to_one_worker(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    harness.tick()
    harness.tick()
    first = harness.claim(worker="a")
    second = harness.claim(worker="b")
    third = harness.claim(worker="c")
    assert len(first) == len(second) == 1
    assert third == []
    assert first[0].metadata.id != second[0].metadata.id
    assert first[0].info.status == S.OBJECTIVE_STATUS_RUNNING
    assert first[0].info.worker_id == "a"
    assert (
        datetime.fromisoformat(first[0].info.lease_expires_at.ToJsonString()) > harness.clock.now()
    )


def test_raising_max_fires_after_the_limit_resumes_firing(harness, schedules):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW, max_fires=1)
    harness.tick()
    harness.tick()
    assert len(harness.objectives()) == 1
    schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**harness.ids))
    resumed = schedules.ResumeAgentSchedule(pb.ResumeAgentScheduleRequest(**harness.ids))
    assert not resumed.info.HasField("next_fire_at")  # still at its limit
    raised = schedules.UpdateAgentSchedule(
        pb.UpdateAgentScheduleRequest(**harness.ids, spec=sp.AgentScheduleSpec(max_fires=2))
    )
    assert raised.info.remaining_fires == 1
    harness.tick()
    assert len(harness.objectives()) == 2


def _agent_with_variations(agents, workspace_id, mode):
    from sundial.v1 import agent_pb2, agent_service_pb2, metadata_pb2

    return agents.CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id,
            metadata=metadata_pb2.CreateResourceMetadata(name="varied"),
            spec=agent_pb2.AgentSpec(
                variations=[agent_pb2.AgentVariation(id=v, name=v) for v in ("a", "b", "c")],
                variation_selection_mode=mode,
            ),
        )
    )


def test_the_agent_chooses_the_variation_of_each_fire(
    server, agents, schedules, objectives, workspace_id, clock
):
    from sundial.v1 import agent_pb2

    agent = _agent_with_variations(
        agents, workspace_id, agent_pb2.VARIATION_SELECTION_MODE_ROUND_ROBIN
    )
    harness = Harness(server, schedules, objectives, workspace_id, agent, clock)
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    for _ in range(4):
        harness.tick()
    harness.schedules.TriggerAgentSchedule(pb.TriggerAgentScheduleRequest(**harness.ids))
    # Four fires cycle a, b, c, a; the manual trigger continues the count.
    assert [o.spec.variation_id for o in harness.objectives()] == list("abcab")


def test_a_schedule_that_names_a_variation_keeps_it(
    server, agents, schedules, objectives, workspace_id, clock
):
    from sundial.v1 import agent_pb2

    agent = _agent_with_variations(
        agents, workspace_id, agent_pb2.VARIATION_SELECTION_MODE_ROUND_ROBIN
    )
    harness = Harness(server, schedules, objectives, workspace_id, agent, clock)
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW, variation_id="c")
    for _ in range(3):
        harness.tick()
    assert [o.spec.variation_id for o in harness.objectives()] == list("ccc")
