"""Issue 14's "Done when" cases not driven through a server elsewhere, each through one.

Two servers, both the real gRPC API and a real local HTTP receiver
(tests/support/webhook_receiver.py), with every state change made over the public API:

- One `sundial serve` process for the module (real clock, `--allow-private-webhook-targets`),
  its engine role firing, pushing and dispatching by itself: every event type an objective or
  a schedule causes (succeeded, failed, cancelled, timed out by a PUSH target that hangs,
  auto-paused, fire skipped, schedule finished), an event webhook's schedule filter and
  condition, result deliveries with a true, a false and
  an undecidable condition and in Slack format, an agent's default deliveries, a retry
  carrying the same `webhook-id`, redeliver, and disable then enable. Waits poll with a
  bounded deadline.
- The in-process `SundialServer` of tests/support/servers.py on a FakeClock (api role only:
  the test runs the firing pass and the dispatcher itself), for what needs the clock moved:
  missed fires, the dead letter after the 24 h retry window, the webhook disabled after days
  of failure with its `webhook.disabled` event, and the SSRF guard of a server without the
  allow flag. A subprocess cannot take a fake clock, hence this server.

Push success and failure then retry are in tests/e2e/test_push_agents.py; the connect-time
refusal of rows written into the store, in tests/e2e/test_deliveries.py. Signatures are
checked with `standardwebhooks`: `verify` on the real clock, and on the fake clock (whose
timestamps `verify` would call stale) by comparing `sign` over the same id, timestamp and
body with the header."""

import json
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2
from standardwebhooks import Webhook

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import (
    agent_pb2,
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.e2e.test_serve import Process
from tests.support.auth import ADMIN_SECRET
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings
from tests.support.webhook_receiver import Received, Receiver, Reply, receiving

DEADLINE_SECONDS = 60
RPC_TIMEOUT = 10
E = webhook_pb2
Status = objective_pb2.ObjectiveStatus
Delivered = webhook_pb2.DeliveryStatus


@dataclass
class Api:
    """The stubs of one server and the workspace the tests work in."""

    workspace: str
    agents: agent_service_pb2_grpc.AgentServiceStub
    schedules: agent_schedule_service_pb2_grpc.AgentScheduleServiceStub
    objectives: objective_service_pb2_grpc.ObjectiveServiceStub
    webhooks: webhook_service_pb2_grpc.WebhookServiceStub

    @classmethod
    def over(cls, channel: grpc.Channel, workspace: str) -> "Api":
        return cls(
            workspace,
            agent_service_pb2_grpc.AgentServiceStub(channel),
            agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel),
            objective_service_pb2_grpc.ObjectiveServiceStub(channel),
            webhook_service_pb2_grpc.WebhookServiceStub(channel),
        )

    def webhook(self, name: str, url: str, *events: int, **spec: Any) -> Any:
        return self.webhooks.CreateWebhook(
            webhook_service_pb2.CreateWebhookRequest(
                workspace_id=self.workspace,
                metadata=metadata_pb2.CreateResourceMetadata(name=name),
                spec=E.WebhookSpec(url=url, event_types=events, **spec),
            ),
            timeout=RPC_TIMEOUT,
        )

    def agent(self, name: str, **spec: Any) -> Any:
        return self.agents.CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=self.workspace,
                metadata=metadata_pb2.CreateResourceMetadata(name=name),
                spec=agent_pb2.AgentSpec(**spec),
            ),
            timeout=RPC_TIMEOUT,
        )

    def schedule(self, agent_id: str, name: str, **spec: Any) -> str:
        spec.setdefault(
            "schedule",
            agent_schedule_pb2.AgentScheduleSpecSchedule(
                intervals=[
                    agent_schedule_pb2.ScheduleInterval(every=duration_pb2.Duration(seconds=3600))
                ]
            ),
        )
        spec.setdefault("overlap_policy", agent_schedule_pb2.OVERLAP_POLICY_ALLOW)
        created = self.schedules.CreateAgentSchedule(
            agent_schedule_service_pb2.CreateAgentScheduleRequest(
                workspace_id=self.workspace,
                agent_id=agent_id,
                metadata=metadata_pb2.CreateResourceMetadata(name=name),
                spec=agent_schedule_pb2.AgentScheduleSpec(initial_message="work", **spec),
            ),
            timeout=RPC_TIMEOUT,
        )
        return str(created.metadata.id)

    def trigger(self, agent_id: str, schedule_id: str) -> str:
        triggered = self.schedules.TriggerAgentSchedule(
            agent_schedule_service_pb2.TriggerAgentScheduleRequest(
                workspace_id=self.workspace, agent_id=agent_id, schedule_id=schedule_id
            ),
            timeout=RPC_TIMEOUT,
        )
        return str(triggered.metadata.id)

    def claim(self, agent_id: str, count: int = 1) -> list[str]:
        claimed = self.objectives.ClaimObjectives(
            objective_service_pb2.ClaimObjectivesRequest(
                workspace_id=self.workspace,
                agent_id=agent_id,
                worker_id="w1",
                max_objectives=count,
            ),
            timeout=RPC_TIMEOUT,
        ).objectives
        return [o.metadata.id for o in claimed]

    def complete(self, agent_id: str, objective_id: str, output: Any = None) -> None:
        self.objectives.CompleteObjective(
            objective_service_pb2.CompleteObjectiveRequest(
                workspace_id=self.workspace,
                agent_id=agent_id,
                objective_id=objective_id,
                worker_id="w1",
                output=None
                if output is None
                else json_format.ParseDict(output, struct_pb2.Value()),
            ),
            timeout=RPC_TIMEOUT,
        )

    def fail(self, agent_id: str, objective_id: str) -> None:
        self.objectives.FailObjective(
            objective_service_pb2.FailObjectiveRequest(
                workspace_id=self.workspace,
                agent_id=agent_id,
                objective_id=objective_id,
                worker_id="w1",
                error="disk full",
            ),
            timeout=RPC_TIMEOUT,
        )

    def finish_one(self, agent_id: str, schedule_id: str, output: Any = None) -> str:
        """Triggers the schedule, claims its objective and completes it; returns its id."""
        objective_id = self.trigger(agent_id, schedule_id)
        assert self.claim(agent_id) == [objective_id]
        self.complete(agent_id, objective_id, output)
        return objective_id

    def deliveries(self, webhook_id: str) -> list[Any]:
        return list(
            self.webhooks.ListDeliveries(
                webhook_service_pb2.ListDeliveriesRequest(
                    workspace_id=self.workspace, webhook_id=webhook_id, page_size=1000
                ),
                timeout=RPC_TIMEOUT,
            ).deliveries
        )

    def delivery(self, webhook_id: str, delivery_id: str) -> Any:
        return self.webhooks.GetDelivery(
            webhook_service_pb2.GetDeliveryRequest(
                workspace_id=self.workspace, webhook_id=webhook_id, delivery_id=delivery_id
            ),
            timeout=RPC_TIMEOUT,
        )

    def get_webhook(self, webhook_id: str) -> Any:
        return self.webhooks.GetWebhook(
            webhook_service_pb2.GetWebhookRequest(
                workspace_id=self.workspace, webhook_id=webhook_id
            ),
            timeout=RPC_TIMEOUT,
        )

    def redeliver(self, webhook_id: str, delivery_id: str) -> Any:
        return self.webhooks.RedeliverDelivery(
            webhook_service_pb2.RedeliverDeliveryRequest(
                workspace_id=self.workspace, webhook_id=webhook_id, delivery_id=delivery_id
            ),
            timeout=RPC_TIMEOUT,
        )

    def enable(self, webhook_id: str) -> Any:
        return self.webhooks.EnableWebhook(
            webhook_service_pb2.EnableWebhookRequest(
                workspace_id=self.workspace, webhook_id=webhook_id
            ),
            timeout=RPC_TIMEOUT,
        )


def _eventually(check: Callable[[], Any]) -> Any:
    """Polls `check` until it returns something true, up to DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    pause = threading.Event()
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        pause.wait(0.1)
    pytest.fail(f"not so within {DEADLINE_SECONDS} s: {check.__doc__}")


def _on(receiver: Receiver, path: str) -> list[Received]:
    with receiver.lock:
        return [r for r in receiver.requests if r.path == path]


def _verified(secret: str, request: Received) -> dict[str, Any]:
    # verify() raises unless the signature over id, timestamp and body is the secret's.
    body: dict[str, Any] = Webhook(secret).verify(request.body.decode(), request.headers)
    return body


def _signed_by(secret: str, request: Received) -> bool:
    """The signature is the secret's over the request's id, timestamp and body (`sign`
    rather than `verify`: a fake clock's timestamp is no later than `verify`'s tolerance)."""
    headers = request.headers
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], at, request.body.decode())
    return expected in headers["webhook-signature"].split(" ")


def _seconds(value: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=value)


def _every(seconds: int) -> agent_schedule_pb2.AgentScheduleSpecSchedule:
    return agent_schedule_pb2.AgentScheduleSpecSchedule(
        intervals=[agent_schedule_pb2.ScheduleInterval(every=_seconds(seconds))]
    )


# --- a `sundial serve` process, real clock -------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as running_receiver:
        yield running_receiver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    database = tmp_path_factory.mktemp("delivery-events") / "sundial.db"
    process = Process(
        "serve",
        "--database-url",
        f"sqlite:///{database}",
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "",
        "--drain-delay",
        "0",
        "--allow-private-webhook-targets",
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        with authorized_channel(f"127.0.0.1:{port}", ADMIN_SECRET) as channel:
            yield Api.over(channel, workspace)
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(timeout=60) == 0
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(timeout=30)


@pytest.mark.slow
def test_every_ending_of_objectives_and_schedules_is_announced_signed(served, receiver):
    api = served
    worker = api.agent("worker").metadata.id
    receiver.reply("/hang", hold=threading.Event())
    pushed = api.agent(
        "hanging",
        mode=agent_pb2.AGENT_MODE_PUSH,
        push=agent_pb2.PushTarget(url=receiver.url("/hang"), timeout=_seconds(1)),
    ).metadata.id
    events = [
        E.EVENT_TYPE_OBJECTIVE_SUCCEEDED,
        E.EVENT_TYPE_OBJECTIVE_FAILED,
        E.EVENT_TYPE_OBJECTIVE_TIMED_OUT,
        E.EVENT_TYPE_OBJECTIVE_CANCELLED,
        E.EVENT_TYPE_SCHEDULE_AUTO_PAUSED,
        E.EVENT_TYPE_FIRE_SKIPPED,
        E.EVENT_TYPE_SCHEDULE_FINISHED,
    ]
    webhook = api.webhook(
        "everything", receiver.url("/events"), *events, agent_ids=(worker, pushed)
    )

    manual = api.schedule(worker, "manual")
    # Filtered to one schedule, and of its endings the condition keeps the failure.
    picky = api.webhook(
        "picky",
        receiver.url("/picky"),
        E.EVENT_TYPE_OBJECTIVE_SUCCEEDED,
        E.EVENT_TYPE_OBJECTIVE_FAILED,
        schedule_ids=[manual],
        condition='type == "objective.failed"',
    )
    succeeded, failed, cancelled = (api.trigger(worker, manual) for _ in range(3))
    assert sorted(api.claim(worker, 3)) == sorted([succeeded, failed, cancelled])
    api.complete(worker, succeeded, {"rows": 3})
    api.fail(worker, failed)
    api.objectives.CancelObjective(
        objective_service_pb2.CancelObjectiveRequest(
            workspace_id=api.workspace, agent_id=worker, objective_id=cancelled, reason="no"
        ),
        timeout=RPC_TIMEOUT,
    )
    fragile = api.schedule(worker, "fragile", pause_on_failure=True)
    broke = api.trigger(worker, fragile)
    assert api.claim(worker) == [broke]
    api.fail(worker, broke)
    # Nobody claims these: the first fire stays in flight, so the next ones are skipped.
    skipping = api.schedule(
        worker,
        "skipping",
        schedule=_every(1),
        overlap_policy=agent_schedule_pb2.OVERLAP_POLICY_SKIP,
    )
    once_at = timestamp_pb2.Timestamp(seconds=int(time.time()) + 2)
    once = api.schedule(
        worker, "once", schedule=agent_schedule_pb2.AgentScheduleSpecSchedule(at=[once_at])
    )
    hanging = api.schedule(pushed, "hang", schedule=_every(1), max_fires=1)

    expected = {
        ("objective.succeeded", succeeded),
        ("objective.failed", failed),
        ("objective.cancelled", cancelled),
        ("objective.failed", broke),
        ("schedule.auto_paused", fragile),
        ("fire.skipped", skipping),
        ("schedule.finished", once),
        ("schedule.finished", hanging),
        ("objective.timed_out", hanging),
    }

    def announced() -> set[tuple[str, str]]:
        """every expected event reached the receiver"""
        seen = {_about(_verified(webhook.info.secret, r)) for r in _on(receiver, "/events")}
        return seen if expected <= seen else set()

    seen = _eventually(announced)
    # The skips would go on every second, for the module's other tests to wade through.
    api.schedules.PauseAgentSchedule(
        agent_schedule_service_pb2.PauseAgentScheduleRequest(
            workspace_id=api.workspace, agent_id=worker, schedule_id=skipping
        ),
        timeout=RPC_TIMEOUT,
    )
    assert {kind for kind, _ in seen} == {
        "objective.succeeded",
        "objective.failed",
        "objective.cancelled",
        "objective.timed_out",
        "schedule.auto_paused",
        "fire.skipped",
        "schedule.finished",
    }
    bodies = [_verified(webhook.info.secret, r) for r in _on(receiver, "/events")]
    ending = next(b for b in bodies if b["type"] == "objective.succeeded")
    assert ending["workspaceId"] == api.workspace
    assert ending["data"]["objective"]["info"]["output"] == {"rows": 3}
    timed_out = next(b for b in bodies if b["type"] == "objective.timed_out")
    assert timed_out["data"]["objective"]["info"]["error"] == "push: no response within 1 s"
    paused = next(b for b in bodies if b["type"] == "schedule.auto_paused")
    assert paused["data"]["schedule"] == {"id": fragile, "name": "fragile", "agentId": worker}
    assert broke in paused["data"]["reason"]
    skipped = next(b for b in bodies if b["type"] == "fire.skipped")
    assert skipped["data"]["reason"] == "previous objective still in flight"
    [picked] = api.deliveries(picky.metadata.id)
    assert picked.spec.objective_id == failed
    [request] = _eventually(lambda: _on(receiver, "/picky"))
    assert _verified(picky.info.secret, request)["type"] == "objective.failed"
    # Each request is one delivery the API lists, sent once (nothing here failed).
    ids = [r.headers["webhook-id"] for r in _on(receiver, "/events")]
    listed = {d.metadata.id: d for d in api.deliveries(webhook.metadata.id)}
    assert set(ids) <= set(listed)
    assert len(ids) == len(set(ids))
    assert all(
        (listed[i].info.status, listed[i].info.attempts, listed[i].info.last_http_status)
        == (Delivered.DELIVERY_STATUS_DELIVERED, 1, 200)
        for i in ids
    )


def _about(body: dict[str, Any]) -> tuple[str, str]:
    """An event's type and what it is about: the objective of an ending (the schedule of a
    PUSH agent's, whose objective ids the test never sees), else the schedule."""
    data = body["data"]
    if body["type"].startswith("objective.") and body["type"] != "objective.timed_out":
        return body["type"], data["objective"]["metadata"]["id"]
    if "objective" in data:
        return body["type"], data["objective"]["spec"]["scheduleId"]
    return body["type"], data["schedule"]["id"]


@pytest.mark.slow
def test_results_go_where_their_conditions_hold_as_json_or_slack(served, receiver):
    api = served
    agent = api.agent("quotes").metadata.id
    result = api.webhook("result", receiver.url("/result"))
    never = api.webhook("never", receiver.url("/never"))
    slack = api.webhook("slack", receiver.url("/slack"))
    undecidable = api.webhook("undecidable", receiver.url("/undecidable"))
    schedule = api.schedule(
        agent,
        "prices",
        deliveries=[
            E.ResultDelivery(
                webhook_id=result.metadata.id, condition="output.price_change_pct > 0.05"
            ),
            E.ResultDelivery(
                webhook_id=never.metadata.id, condition="output.price_change_pct > 0.5"
            ),
            E.ResultDelivery(webhook_id=slack.metadata.id, format=E.WEBHOOK_FORMAT_SLACK_MARKDOWN),
            # Type-checks (output is dynamic) but the output has no `volume`.
            E.ResultDelivery(webhook_id=undecidable.metadata.id, condition="output.volume > 10"),
        ],
    )

    objective = api.finish_one(
        agent, schedule, {"price_change_pct": 0.07, "summary": "ACME up *7%* <b>"}
    )

    [json_request] = _eventually(lambda: _on(receiver, "/result"))
    body = _verified(result.info.secret, json_request)
    assert body["type"] == "objective.result"
    assert body["data"]["objective"]["metadata"]["id"] == objective
    assert body["data"]["objective"]["info"]["output"]["price_change_pct"] == 0.07
    [slack_request] = _eventually(lambda: _on(receiver, "/slack"))
    message = _verified(slack.info.secret, slack_request)
    assert list(message) == ["text"]
    lines = message["text"].split("\n")
    assert lines[0] == "*Objective SUCCEEDED*"
    assert f"schedule *prices* (`{schedule}`), agent *quotes* (`{agent}`)" in lines
    assert "*price_change_pct*: 0.07" in lines
    assert "*summary*: ACME up *7%* &lt;b&gt;" in lines
    # A false condition writes no delivery at all; the true ones were each sent once.
    assert api.deliveries(never.metadata.id) == []
    assert _on(receiver, "/never") == []
    [delivered] = api.deliveries(result.metadata.id)
    assert delivered.spec.result
    assert delivered.spec.objective_id == objective
    assert delivered.metadata.id == json_request.headers["webhook-id"]
    # A condition that fails at run time says why on a delivery that is never sent.
    [undecided] = api.deliveries(undecidable.metadata.id)
    assert undecided.info.status == Delivered.DELIVERY_STATUS_CONDITION_ERROR
    assert undecided.info.last_error.startswith("condition: ")
    assert "volume" in undecided.info.last_error
    assert _on(receiver, "/undecidable") == []


@pytest.mark.slow
def test_a_schedule_naming_no_deliveries_delivers_to_its_agents(served, receiver):
    api = served
    webhook = api.webhook("agent-default", receiver.url("/agent-default"))
    agent = api.agent(
        "defaulted",
        deliveries=[
            E.ResultDelivery(webhook_id=webhook.metadata.id, condition='status == "FAILED"')
        ],
    ).metadata.id
    schedule = api.schedule(agent, "plain")
    api.finish_one(agent, schedule)  # succeeded: the agent's condition is false
    failing = api.trigger(agent, schedule)
    assert api.claim(agent) == [failing]
    api.fail(agent, failing)

    [request] = _eventually(lambda: _on(receiver, "/agent-default"))
    body = _verified(webhook.info.secret, request)
    assert body["data"]["objective"]["metadata"]["id"] == failing
    assert body["data"]["objective"]["info"]["error"] == "disk full"
    [delivery] = api.deliveries(webhook.metadata.id)
    assert delivery.spec.objective_id == failing


@pytest.mark.slow
def test_a_retry_and_a_redelivery_carry_the_id_and_a_disabled_webhook_waits(served, receiver):
    api = served
    agent = api.agent("flaky-target").metadata.id
    schedule = api.schedule(agent, "s")
    # Retry-After keeps the failed attempt visible for 3 s (jitter may wait up to 10 s).
    receiver.reply("/flaky", status=503, headers={"Retry-After": "3"}, then=Reply(status=204))
    webhook = api.webhook(
        "flaky", receiver.url("/flaky"), E.EVENT_TYPE_OBJECTIVE_SUCCEEDED, agent_ids=(agent,)
    )
    hook_id, secret = webhook.metadata.id, webhook.info.secret

    api.finish_one(agent, schedule)

    [delivery] = api.deliveries(hook_id)
    delivery_id = delivery.metadata.id

    def failed_once() -> Any:
        """the first attempt's 503 is on the delivery, a retry due"""
        got = api.delivery(hook_id, delivery_id)
        return got if got.info.attempts == 1 else None

    failed = _eventually(failed_once)
    assert failed.info.status == Delivered.DELIVERY_STATUS_PENDING
    assert (failed.info.last_http_status, failed.info.last_error) == (503, "http_status: HTTP 503")
    waited = failed.info.next_attempt_at.ToDatetime() - failed.info.last_attempt_at.ToDatetime()
    assert waited >= timedelta(seconds=3)

    def delivered(attempts: int) -> Callable[[], Any]:
        def check() -> Any:
            """the delivery was delivered with the attempts expected"""
            got = api.delivery(hook_id, delivery_id)
            done = got.info.status == Delivered.DELIVERY_STATUS_DELIVERED
            return got if done and got.info.attempts == attempts else None

        return check

    assert _eventually(delivered(2)).info.last_http_status == 204
    api.redeliver(hook_id, delivery_id)
    _eventually(delivered(3))
    requests = _on(receiver, "/flaky")
    assert [r.headers["webhook-id"] for r in requests] == [delivery_id] * 3
    assert len({r.body for r in requests}) == 1
    assert all(_verified(secret, r)["type"] == "objective.succeeded" for r in requests)

    disabled = api.webhooks.DisableWebhook(
        webhook_service_pb2.DisableWebhookRequest(
            workspace_id=api.workspace, webhook_id=hook_id, reason="maintenance"
        ),
        timeout=RPC_TIMEOUT,
    )
    assert (disabled.info.state, disabled.info.disabled_reason) == (
        E.WEBHOOK_STATE_DISABLED,
        "maintenance",
    )
    later = api.finish_one(agent, schedule)
    [waiting] = [d for d in api.deliveries(hook_id) if d.spec.objective_id == later]
    assert (waiting.info.status, waiting.info.attempts) == (Delivered.DELIVERY_STATUS_PENDING, 0)

    assert api.enable(hook_id).info.state == E.WEBHOOK_STATE_ENABLED

    def sent() -> Any:
        """the delivery that waited for the webhook was sent once it was enabled"""
        got = api.delivery(hook_id, waiting.metadata.id)
        return got if got.info.status == Delivered.DELIVERY_STATUS_DELIVERED else None

    assert _eventually(sent).info.attempts == 1
    assert _on(receiver, "/flaky")[-1].headers["webhook-id"] == waiting.metadata.id


# --- the in-process server on a fake clock -------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "sundial.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    # On a whole minute, so a minutely schedule fires exactly when the test moves it there.
    return FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))


@dataclass
class Faked:
    """The in-process server (its engine, pusher and dispatcher run by the test) and its API."""

    server: SundialServer
    api: Api

    def dispatch(self) -> int:
        return self.server.dispatcher.dispatch_due()


@contextmanager
def _in_process(url: str, clock: FakeClock, *, allow_private: bool) -> Iterator[Faked]:
    settings = server_settings(url, allow_private_webhook_targets=allow_private)
    with running(settings, clock) as server:
        address = f"127.0.0.1:{server.port}"
        with authorized_channel(address, ADMIN_SECRET) as channel:
            yield Faked(server, Api.over(channel, server.bootstrap.default_workspace.id))


@pytest.fixture
def faked(sqlite_url: str, clock: FakeClock) -> Iterator[Faked]:
    with _in_process(sqlite_url, clock, allow_private=True) as made:
        yield made


def test_fires_older_than_the_catchup_window_are_announced_missed(faked, clock, receiver):
    api = faked.api
    agent = api.agent("late").metadata.id
    webhook = api.webhook("missed", receiver.url("/missed"), E.EVENT_TYPE_FIRE_MISSED)
    schedule = api.schedule(agent, "minutely", schedule=_every(60), catchup_window=_seconds(30))
    clock.advance(timedelta(minutes=1))
    faked.server.engine.run_pass()
    assert faked.dispatch() == 0  # it fired on time: nothing missed

    clock.advance(timedelta(minutes=3))  # as if the engine had been down
    faked.server.engine.run_pass()
    assert faked.dispatch() == 1

    [request] = _on(receiver, "/missed")
    assert _signed_by(webhook.info.secret, request)
    body = json.loads(request.body)
    assert body["type"] == "fire.missed"
    assert body["data"]["schedule"]["id"] == schedule
    assert body["data"]["count"] == 2  # the third of the three fell inside the window
    [delivery] = api.deliveries(webhook.metadata.id)
    assert delivery.metadata.id == request.headers["webhook-id"]
    assert delivery.info.status == Delivered.DELIVERY_STATUS_DELIVERED


def test_a_dead_letter_after_the_window_then_the_webhook_disabled_enabled_and_redelivered(
    faked, clock, receiver
):
    api = faked.api
    start = clock.now()
    agent = api.agent("reporter").metadata.id
    schedule = api.schedule(agent, "s")
    receiver.reply("/down", status=500, body=b"oops")
    down = api.webhook("down", receiver.url("/down"), E.EVENT_TYPE_OBJECTIVE_SUCCEEDED)
    watcher = api.webhook("watcher", receiver.url("/watch"), E.EVENT_TYPE_WEBHOOK_DISABLED)
    down_id = down.metadata.id
    api.finish_one(agent, schedule)
    [first] = api.deliveries(down_id)
    first_id = first.metadata.id

    while True:
        faked.dispatch()
        got = api.delivery(down_id, first_id)
        if got.info.status != Delivered.DELIVERY_STATUS_PENDING:
            break
        clock.set(got.info.next_attempt_at.ToDatetime(tzinfo=UTC))

    info = got.info
    requests = _on(receiver, "/down")
    assert info.status == Delivered.DELIVERY_STATUS_DEAD_LETTER
    assert info.attempts == len(requests) > 10
    assert (info.last_http_status, info.last_error) == (500, "http_status: HTTP 500")
    assert not info.HasField("next_attempt_at")
    assert start < info.last_attempt_at.ToDatetime(tzinfo=UTC) <= start + timedelta(hours=24)
    assert {r.headers["webhook-id"] for r in requests} == {first_id}
    assert all(_signed_by(down.info.secret, r) for r in requests)
    # One day of failure does not disable it; five do, at its next failed attempt.
    assert api.get_webhook(down_id).info.state == E.WEBHOOK_STATE_ENABLED
    clock.set(start + timedelta(days=5))
    waiting = api.finish_one(agent, schedule)
    assert faked.dispatch() == 1

    hook = api.get_webhook(down_id).info
    assert hook.state == E.WEBHOOK_STATE_DISABLED
    assert "1 dead-lettered" in hook.disabled_reason
    assert hook.failing_since.ToDatetime(tzinfo=UTC) == start
    assert faked.dispatch() == 1  # the webhook.disabled event, to the watcher
    [event] = _on(receiver, "/watch")
    assert _signed_by(watcher.info.secret, event)
    announced = json.loads(event.body)
    assert announced["type"] == "webhook.disabled"
    assert announced["data"] == {"webhookId": down_id, "reason": hook.disabled_reason}
    [pending] = [d for d in api.deliveries(down_id) if d.spec.objective_id == waiting]
    clock.set(pending.info.next_attempt_at.ToDatetime(tzinfo=UTC))
    assert faked.dispatch() == 0  # due, but its webhook is disabled

    receiver.reply("/down", status=200)
    api.enable(down_id)
    assert faked.dispatch() == 1
    assert api.delivery(down_id, pending.metadata.id).info.status == (
        Delivered.DELIVERY_STATUS_DELIVERED
    )
    redelivered = api.redeliver(down_id, first_id)
    assert redelivered.info.status == Delivered.DELIVERY_STATUS_PENDING
    assert faked.dispatch() == 1
    again = api.delivery(down_id, first_id).info
    assert (again.status, again.attempts) == (
        Delivered.DELIVERY_STATUS_DELIVERED,
        info.attempts + 1,
    )
    last = _on(receiver, "/down")[-1]
    assert last.headers["webhook-id"] == first_id
    assert last.body == requests[0].body


def test_without_the_allow_flag_private_targets_are_refused_when_written_and_when_sent(
    sqlite_url, clock, receiver, monkeypatch
):
    # A public-looking name that resolves to this machine, as a rebinding DNS answer would.
    rebound = "rebound.example.com"
    resolve = socket.getaddrinfo

    def resolving_rebound_to_loopback(host: Any, *args: Any, **kwargs: Any) -> Any:
        return resolve("127.0.0.1" if host == rebound else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolving_rebound_to_loopback)
    with _in_process(sqlite_url, clock, allow_private=False) as guarded:
        api = guarded.api
        refusals = {
            receiver.url("/hook"): "the scheme must be https",
            f"https://127.0.0.1:{receiver.port}/hook": "loopback",
            f"https://[::1]:{receiver.port}/hook": "loopback",
            "https://10.1.2.3/hook": "private",
            "https://169.254.169.254/latest/meta-data": "metadata",
        }
        for url, why in refusals.items():
            with pytest.raises(grpc.RpcError) as caught:
                api.webhook("private", url, E.EVENT_TYPE_OBJECTIVE_SUCCEEDED)
            refused = failure_of(caught.value)
            assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
            assert list(refused.violations) == ["spec.url"]
            assert why in refused.violations["spec.url"], url
        for host in ("127.0.0.1", "localhost"):
            with pytest.raises(grpc.RpcError) as caught:
                api.webhook(
                    "private", f"https://{host}:{receiver.port}/hook", E.EVENT_TYPE_FIRE_MISSED
                )
            assert list(failure_of(caught.value).violations) == ["spec.url"]
            with pytest.raises(grpc.RpcError) as caught:
                api.agent(
                    "private",
                    mode=agent_pb2.AGENT_MODE_PUSH,
                    push=agent_pb2.PushTarget(url=f"https://{host}:{receiver.port}/push"),
                )
            assert list(failure_of(caught.value).violations) == ["spec.push.url"]

        # Any other name passes the URL check; what it resolves to is refused at connect time.
        by_name = f"https://{rebound}:{receiver.port}"
        webhook = api.webhook("by-name", f"{by_name}/hook", E.EVENT_TYPE_OBJECTIVE_SUCCEEDED)
        agent = api.agent("worker").metadata.id
        api.finish_one(agent, api.schedule(agent, "s"))
        assert guarded.dispatch() == 1
        [delivery] = api.deliveries(webhook.metadata.id)
        assert (delivery.info.status, delivery.info.attempts) == (
            Delivered.DELIVERY_STATUS_PENDING,
            1,
        )
        assert delivery.info.last_error.startswith("refused_by_guard: refused to connect to ")
        assert _on(receiver, "/hook") == _on(receiver, "/push") == []
