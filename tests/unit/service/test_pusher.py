"""The pusher against a real local receiver (tests/support/webhook_receiver.py) on SQLite:
what a PUSH agent is sent, how its answers end the attempt (output, retries, timeouts,
Retry-After), that PULL workers cannot claim PUSH objectives, and the loop's wake-ups."""

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import update
from standardwebhooks import Webhook

from sundial.domain.agents import AgentMode, AgentSpec, PushTarget
from sundial.domain.clock import FakeClock
from sundial.domain.errors import FailedPreconditionError, InvalidArgumentError
from sundial.domain.metadata import MetadataInput
from sundial.domain.objectives import ObjectiveStatus
from sundial.domain.schedules import AgentScheduleSpec, ScheduleInterval, ScheduleRules
from sundial.gateway.bodies import objective_json
from sundial.service.objectives import MAX_OUTPUT_BYTES
from sundial.service.pusher import output_of
from sundial.store.database import Database
from sundial.store.models import AgentRow, ObjectiveRow
from sundial.tracing import Tracing
from tests.support.push_agents import PushWorld
from tests.support.webhook_receiver import Receiver, receiving

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# A wait for a thread of the pusher's loop that is far past anything it should take.
BOUND_SECONDS = 20


@pytest.fixture
def clock() -> FakeClock:
    # Near the real time: standardwebhooks refuses signatures more than 5 minutes off.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def database(sqlite_template, tmp_path) -> Iterator[Database]:
    path = tmp_path / "sundial.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def world(database, clock, receiver) -> Iterator[PushWorld]:
    made = PushWorld(database, clock, receiver.url("/agent"), headers={"x-team": "cx"})
    yield made
    made.close()


def pushes(world: PushWorld, outcome: str) -> float:
    value = world.metrics.registry.get_sample_value("sundial_pushes_total", {"outcome": outcome})
    return value or 0.0


def test_a_2xx_completes_the_objective_with_the_json_answer_as_output(world, receiver):
    receiver.reply("/agent", status=200, body=b'{"answer": 42}')
    objective = world.trigger(world.schedule())

    assert world.pusher().push_pending() == 1

    done = world.objective(objective.metadata.id)
    assert done.info.status is ObjectiveStatus.SUCCEEDED
    assert done.info.output == {"answer": 42}
    assert done.info.worker_id == "push:r1"
    [request] = receiver.requests
    sent = json.loads(request.body)
    assert sent["metadata"]["id"] == objective.metadata.id
    assert sent["spec"]["initialMessage"] == "hello"
    assert sent["spec"]["data"] == {"k": 1}
    assert sent["info"]["status"] == "OBJECTIVE_STATUS_RUNNING"
    assert request.headers["x-team"] == "cx"
    assert pushes(world, "succeeded") == 1


def test_the_push_is_signed_per_standard_webhooks_with_the_agents_secret(world, receiver):
    objective = world.trigger(world.schedule())
    world.pusher().push_pending()

    [request] = receiver.requests
    assert request.headers["webhook-id"] == f"{objective.metadata.id}_1"
    verified = Webhook(world.secret).verify(request.body.decode(), request.headers)
    assert verified["metadata"]["id"] == objective.metadata.id


def test_the_push_carries_the_objectives_trace_and_its_claim_joins_it(world, receiver):
    objective = world.trigger(world.schedule())
    with world.database.writer.begin() as connection:
        connection.execute(update(ObjectiveRow).values(trace_parent=TRACEPARENT))
    exporter = InMemorySpanExporter()

    world.pusher(tracing=Tracing(exporter, batch=False)).push_pending()

    [request] = receiver.requests
    assert request.headers["traceparent"] == TRACEPARENT
    [claim] = exporter.get_finished_spans()
    assert claim.name == "sundial.claim"
    assert format(claim.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert claim.attributes["sundial.objective_id"] == objective.metadata.id
    assert claim.attributes["sundial.worker_id"] == "push:r1"


@pytest.mark.parametrize(
    ("body", "output"),
    [(b"", None), (b"  \n", None), (b"done", "done"), (b"[1, 2]", [1, 2]), (b"null", None)],
    ids=["empty", "blank", "text", "json-list", "json-null"],
)
def test_the_output_of_a_2xx_body(body, output):
    assert output_of(body) == output


def test_a_500_is_a_failed_attempt_retried_under_the_policy_until_it_succeeds(
    world, receiver, clock
):
    receiver.reply("/agent", status=500, body=b"it broke")
    first = world.trigger(world.schedule(max_attempts=3))
    pusher = world.pusher()

    assert pusher.push_pending() == 1
    failed, retry = world.attempts()
    assert failed.metadata.id == first.metadata.id
    assert failed.info.status is ObjectiveStatus.FAILED
    assert failed.info.error == "push: HTTP 500: it broke"
    assert retry.info.status is ObjectiveStatus.PENDING
    assert retry.info.available_at == clock.now() + timedelta(seconds=10)

    assert pusher.push_pending() == 0  # not due before its backoff
    clock.advance(timedelta(seconds=10))
    receiver.reply("/agent", status=200, body=b'{"ok": 2}')
    assert pusher.push_pending() == 1

    assert [o.info.status for o in world.attempts()] == [
        ObjectiveStatus.FAILED,
        ObjectiveStatus.SUCCEEDED,
    ]
    assert world.attempts()[1].info.output == {"ok": 2}
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [f"{first.metadata.id}_1", f"{retry.metadata.id}_2"]
    assert (pushes(world, "http_status"), pushes(world, "succeeded")) == (1, 1)


def test_no_answer_within_the_timeout_times_the_attempt_out_and_retries_it(world, receiver, clock):
    world.agents.update(
        world.principal,
        world.workspace_id,
        world.agent_id,
        MetadataInput(),
        AgentSpec(
            mode=AgentMode.PUSH,
            push=PushTarget(url=receiver.url("/slow"), timeout=timedelta(seconds=0.3)),
        ),
        update_mask=["spec.push"],
    )
    receiver.reply("/slow", hold=threading.Event())
    world.trigger(world.schedule(max_attempts=2))

    assert world.pusher().push_pending() == 1

    timed_out, retry = world.attempts()
    assert timed_out.info.status is ObjectiveStatus.TIMED_OUT
    assert timed_out.info.error == "push: no response within 0.3 s"
    assert retry.info.status is ObjectiveStatus.PENDING
    assert pushes(world, "timeout") == 1


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [("120", timedelta(seconds=120)), ("999999", timedelta(hours=6))],
    ids=["seconds", "capped"],
)
def test_a_retry_after_answer_sets_when_the_retry_is_due(
    world, receiver, clock, retry_after, delay
):
    receiver.reply("/agent", status=503, body=b"", headers={"Retry-After": retry_after})
    world.trigger(world.schedule(max_attempts=2))

    world.pusher().push_pending()

    failed, retry = world.attempts()
    assert failed.info.error == "push: HTTP 503"
    assert retry.info.available_at == clock.now() + delay


def test_an_answer_larger_than_the_output_limit_fails_without_retry(world, receiver):
    receiver.reply("/agent", status=200, body=b'"' + b"x" * MAX_OUTPUT_BYTES + b'"')
    world.trigger(world.schedule(max_attempts=3))

    world.pusher().push_pending()

    [failed] = world.attempts()
    assert failed.info.status is ObjectiveStatus.FAILED
    assert "larger than the output limit" in failed.info.error


def test_an_agent_whose_stored_target_cannot_be_used_fails_its_objectives_saying_why(
    world, receiver
):
    with world.database.writer.begin() as connection:
        connection.execute(update(AgentRow).values(push_secret="whsec_damaged"))
    objective = world.trigger(world.schedule(max_attempts=3))

    assert world.pusher().push_pending() == 0

    [failed] = world.attempts()
    assert failed.metadata.id == objective.metadata.id
    assert failed.info.status is ObjectiveStatus.FAILED
    assert failed.info.error.startswith("push: the agent's push target cannot be used: ")
    assert receiver.requests == []


def test_pull_workers_cannot_claim_the_objectives_of_a_push_agent(world):
    world.trigger(world.schedule())
    with pytest.raises(FailedPreconditionError) as caught:
        world.objectives.claim(
            world.principal, world.workspace_id, world.agent_id, worker_id="worker"
        )
    assert caught.value.reason == "AGENT_IS_PUSH"
    assert world.agent_id in caught.value.message


def test_a_worker_cannot_end_or_extend_an_attempt_a_pusher_holds(world):
    objective = world.trigger(world.schedule())
    pusher = world.pusher()
    [push] = pusher.claim(1)
    ids = (world.principal, world.workspace_id, world.agent_id, objective.metadata.id)
    for call in (world.objectives.complete, world.objectives.fail, world.objectives.heartbeat):
        with pytest.raises(InvalidArgumentError) as caught:
            call(*ids, worker_id=pusher.worker_id)
        assert [v.field for v in caught.value.violations] == ["worker_id"]
    pusher.push(push)
    assert world.objective(objective.metadata.id).info.status is ObjectiveStatus.SUCCEEDED


def test_the_pusher_leaves_pull_agents_objectives_to_their_workers(world, receiver):
    pull = world.agents.create(
        world.principal, world.workspace_id, MetadataInput(name="pull"), AgentSpec()
    )
    schedule = world.schedules.create(
        world.principal,
        world.workspace_id,
        pull.metadata.id,
        MetadataInput(name="p"),
        AgentScheduleSpec(
            initial_message="m",
            schedule=ScheduleRules(intervals=(ScheduleInterval(every=timedelta(hours=1)),)),
        ),
    )
    world.triggers.trigger(
        world.principal, world.workspace_id, pull.metadata.id, schedule.metadata.id
    )

    assert world.pusher().push_pending() == 0
    assert receiver.requests == []
    claimed = world.objectives.claim(
        world.principal, world.workspace_id, pull.metadata.id, worker_id="worker"
    )
    assert len(claimed) == 1


def test_the_running_loop_is_woken_by_a_new_objective_and_bounds_concurrency(
    world, receiver, monkeypatch
):
    hold = threading.Event()
    receiver.reply("/agent", hold=hold)
    ended = threading.Semaphore(0)
    record = world.metrics.pushed

    def pushed(outcome: str, seconds: float) -> None:
        record(outcome, seconds)
        ended.release()

    monkeypatch.setattr(world.metrics, "pushed", pushed)
    pusher = world.pusher(concurrency=2)
    world.notifier.on_objectives_available(pusher.wake)
    schedule_id = world.schedule()
    pusher.start()
    try:
        for _ in range(3):
            world.trigger(schedule_id)
        hold.set()
        for _ in range(3):
            assert ended.acquire(timeout=BOUND_SECONDS), "a push never ended"
    finally:
        pusher.stop()
    assert [o.info.status for o in world.attempts()] == [ObjectiveStatus.SUCCEEDED] * 3
    assert receiver.most_in_flight <= 2


def test_the_body_is_the_objectives_protojson(world, receiver):
    objective = world.trigger(world.schedule())
    world.pusher().push_pending()
    running = world.objective(objective.metadata.id)
    [request] = receiver.requests
    sent = json.loads(request.body)
    # What GET would have shown while it ran: the same, but the status and end.
    assert sent["metadata"] == objective_json(running)["metadata"]
    assert sent["spec"] == objective_json(running)["spec"]


def test_stopping_leaves_a_push_still_waiting_after_the_grace_to_its_lease(
    world, receiver, caplog, monkeypatch
):
    hold = threading.Event()
    receiver.reply("/agent", hold=hold)
    pusher = world.pusher()
    sender = world.senders[-1]
    sending, ended = threading.Event(), threading.Event()
    send = sender.send

    def send_and_tell(target, message):
        sending.set()
        try:
            return send(target, message)
        finally:
            ended.set()

    monkeypatch.setattr(sender, "send", send_and_tell)
    objective = world.trigger(world.schedule())
    pusher.start()
    pusher.wake()
    assert sending.wait(BOUND_SECONDS), "the push never started"

    pusher.stop(timedelta(0))

    assert "1 push(es) still waiting" in caplog.text
    assert world.objective(objective.metadata.id).info.status is ObjectiveStatus.RUNNING
    hold.set()
    assert ended.wait(BOUND_SECONDS)
