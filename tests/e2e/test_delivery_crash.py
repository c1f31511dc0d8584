"""At least once across crashes: real `sundial serve --roles engine` processes killed with
SIGKILL at random moments while 60 PUSH schedules fire every second. Each objective is
posted to the agent's push target, its result to a result webhook (the schedules'
`deliveries`) and its ending to an event webhook. Afterwards every ended objective's result
and event reached the receiver, every delivery row is DELIVERED, every request's signature
verifies, and a message that came more than once came each time under the same
`webhook-id` (at least once, never as two different messages). On SQLite one engine is
killed at least 10 times, every 2-6 s, over at least 40 s; on PostgreSQL one of two replicas
is killed once. Each kill lands among pushes and deliveries in flight (a restarted engine
catches up a burst of the fires it missed), so a message lost or sent as two shows; more
schedules only make a longer backlog to drain through SQLite's single writer."""

import json
import random
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier

from sundial.api.client import authorized_channel
from sundial.store.database import Database
from sundial.v1 import (
    agent_pb2,
    agent_schedule_pb2,
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    webhook_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from tests.e2e.test_serve import Process
from tests.e2e.workload import kill, start_engine, stop
from tests.support.auth import ADMIN_SECRET
from tests.support.webhook_receiver import Receiver, receiving

SCHEDULES = 60
KILLS = 10
MIN_RUN_SECONDS = 40
ENGINE_FLAGS = ("--allow-private-webhook-targets",)
STALL_SECONDS = 60
ENDINGS = (
    webhook_pb2.EVENT_TYPE_OBJECTIVE_SUCCEEDED,
    webhook_pb2.EVENT_TYPE_OBJECTIVE_FAILED,
    webhook_pb2.EVENT_TYPE_OBJECTIVE_TIMED_OUT,
    webhook_pb2.EVENT_TYPE_OBJECTIVE_CANCELLED,
)
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED")

pytestmark = pytest.mark.slow(seconds=90)


@dataclass(frozen=True)
class Secrets:
    results: str
    events: str


def _setup(url: str, receiver: Receiver, fire_for: timedelta) -> Secrets:
    """Through the API of a short-lived `sundial serve`: a PUSH agent posting to the
    receiver, a result webhook, an event webhook for every ending, and the schedules, which
    fire for `fire_for` from their creation (not from the start of the set-up, which takes
    many seconds on a loaded machine)."""
    process = Process(
        "serve",
        "--roles",
        "api",
        "--database-url",
        url,
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "--drain-delay",
        "0",
        *ENGINE_FLAGS,
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )
    try:
        port = process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1]
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        with authorized_channel(f"127.0.0.1:{port}", ADMIN_SECRET) as channel:
            webhooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
            results = webhooks.CreateWebhook(
                webhook_service_pb2.CreateWebhookRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="results"),
                    spec=webhook_pb2.WebhookSpec(url=receiver.url("/results")),
                ),
                timeout=30,
            )
            events = webhooks.CreateWebhook(
                webhook_service_pb2.CreateWebhookRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="events"),
                    spec=webhook_pb2.WebhookSpec(url=receiver.url("/events"), event_types=ENDINGS),
                ),
                timeout=30,
            )
            agent = agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
                agent_service_pb2.CreateAgentRequest(
                    workspace_id=workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="pushed"),
                    spec=agent_pb2.AgentSpec(
                        mode=agent_pb2.AGENT_MODE_PUSH,
                        push=agent_pb2.PushTarget(
                            url=receiver.url("/push"), timeout=duration_pb2.Duration(seconds=5)
                        ),
                    ),
                ),
                timeout=30,
            )
            end = timestamp_pb2.Timestamp()
            end.FromDatetime(datetime.now(UTC) + fire_for)
            spec = agent_schedule_pb2.AgentScheduleSpec(
                initial_message="tick",
                schedule=agent_schedule_pb2.AgentScheduleSpecSchedule(
                    intervals=[
                        agent_schedule_pb2.ScheduleInterval(every=duration_pb2.Duration(seconds=1))
                    ],
                    end_time=end,
                ),
                overlap_policy=agent_schedule_pb2.OVERLAP_POLICY_ALLOW,
                deliveries=[webhook_pb2.ResultDelivery(webhook_id=results.metadata.id)],
            )
            agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(
                channel
            ).BatchCreateAgentSchedules(
                agent_schedule_service_pb2.BatchCreateAgentSchedulesRequest(
                    workspace_id=workspace,
                    agent_id=agent.metadata.id,
                    requests=[
                        agent_schedule_service_pb2.CreateAgentScheduleRequest(
                            metadata=metadata_pb2.CreateResourceMetadata(name=f"s{index}"),
                            spec=spec,
                        )
                        for index in range(SCHEDULES)
                    ],
                ),
                timeout=60,
            )
        process.popen.terminate()
        assert process.popen.wait(timeout=60) == 0
        return Secrets(results.info.secret, events.info.secret)
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(timeout=30)


@contextmanager
def _receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        receiver.reply("/push", body=b'{"price_change_pct": 0.07}')
        yield receiver


def _settled(url: str) -> tuple[int, int]:
    """(schedules or objectives not yet done, deliveries not yet delivered)."""
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            open_objectives = connection.execute(
                text(
                    "SELECT count(*) FROM objectives WHERE status NOT IN "
                    "('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')"
                )
            ).scalar_one()
            unfinished = connection.execute(
                text("SELECT count(*) FROM agent_schedules WHERE next_fire_at IS NOT NULL")
            ).scalar_one()
            undelivered = connection.execute(
                text("SELECT count(*) FROM deliveries WHERE status != 'DELIVERED'")
            ).scalar_one()
    finally:
        database.dispose()
    return open_objectives + unfinished, undelivered


def _ended_objectives(url: str) -> dict[str, str]:
    database = Database(url)
    try:
        with database.reader.connect() as connection:
            return dict(
                connection.execute(text("SELECT id, status FROM objectives")).tuples().all()
            )
    finally:
        database.dispose()


def _drain(url: str, engines: list[subprocess.Popen[bytes]], log: Path) -> None:
    """Lets the engines run until every schedule has finished, every objective has ended and
    every delivery is delivered, then stops them. Slow is fine (a loaded machine pushes
    fewer objectives a second); no progress for a minute is a failure, with every thread's
    stack of the engines in the message."""
    last, stalled_since = _settled(url), time.monotonic()
    while last != (0, 0) and time.monotonic() - stalled_since < STALL_SECONDS:
        time.sleep(1)
        now = _settled(url)
        if now != last:
            last, stalled_since = now, time.monotonic()
    if last != (0, 0):
        for engine in engines:
            engine.send_signal(signal.SIGABRT)
            engine.wait(timeout=30)
        pytest.fail(
            f"no progress for {STALL_SECONDS} s at {last} (open work, undelivered); the "
            f"engines' last output:\n{log.read_text(errors='replace')[-6000:]}"
        )
    assert [stop(engine) for engine in engines] == [0] * len(engines)
    assert _settled(url) == (0, 0)


@dataclass(frozen=True)
class Verdict:
    objectives: int
    requests: int
    cut: int  # requests whose sender died before the body was sent
    duplicates: int  # requests whose webhook-id had been received before
    missing: int  # ended objectives whose result or event never arrived
    split: int  # messages received under two different webhook-ids


def _verdict(receiver: Receiver, secrets: Secrets, ended: dict[str, str]) -> Verdict:
    verifiers = {"/results": Verifier(secrets.results), "/events": Verifier(secrets.events)}
    ids_of: defaultdict[tuple[str, str, str], set[str]] = defaultdict(set)
    seen: set[str] = set()
    duplicates = requests = cut = 0
    for request in list(receiver.requests):
        if request.path not in verifiers:
            continue
        if len(request.body) < int(request.headers.get("content-length", "0")):
            cut += 1  # its sender was killed mid-request: never answered, so sent again
            continue
        requests += 1
        verifiers[request.path].verify(request.body, request.headers)
        message_id = request.headers["webhook-id"]
        duplicates += message_id in seen
        seen.add(message_id)
        body = json.loads(request.body)
        objective = body["data"]["objective"]
        ids_of[(request.path, body["type"], objective["metadata"]["id"])].add(message_id)
    missing = 0
    for objective_id, status in ended.items():
        wanted = (
            ("/results", "objective.result"),
            ("/events", f"objective.{status.lower()}"),
        )
        missing += sum(1 for path, kind in wanted if not ids_of.get((path, kind, objective_id)))
    split = sum(1 for ids in ids_of.values() if len(ids) > 1)
    return Verdict(len(ended), requests, cut, duplicates, missing, split)


def _check(verdict: Verdict, seconds: float) -> None:
    assert verdict.missing == 0
    assert verdict.split == 0
    assert verdict.objectives >= SCHEDULES * seconds // 2


def test_sigkill_at_random_moments_delivers_every_result_and_event_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'delivery.db'}"
    with _receiver() as receiver:
        secrets = _setup(url, receiver, timedelta(seconds=MIN_RUN_SECONDS + 10))
        chaos = random.Random(20261203)
        started = time.monotonic()
        kills = 0
        log = tmp_path / "engines.log"
        engine = start_engine(url, *ENGINE_FLAGS, log=log)
        # Real time is the point: the engine fires and delivers on the wall clock while it
        # is killed.
        while kills < KILLS or time.monotonic() - started < MIN_RUN_SECONDS:
            time.sleep(chaos.uniform(2.0, 6.0))
            kill(engine)
            kills += 1
            engine = start_engine(url, *ENGINE_FLAGS, log=log)
        _drain(url, [engine], log)
        verdict = _verdict(receiver, secrets, _ended_objectives(url))
    print(
        f"delivery crash test: {kills} SIGKILLs over {time.monotonic() - started:.0f}s: {verdict}"
    )
    assert kills >= KILLS
    _check(verdict, MIN_RUN_SECONDS)


@pytest.mark.postgres
def test_two_replicas_on_postgresql_one_killed_deliver_every_result_and_event(
    postgres_cluster, tmp_path
):
    url = postgres_cluster.create_database("delivery", template="sundial_template")
    with _receiver() as receiver:
        secrets = _setup(url, receiver, timedelta(seconds=25))
        log = tmp_path / "engines.log"
        replicas = [start_engine(url, *ENGINE_FLAGS, log=log) for _ in range(2)]
        time.sleep(8)
        kill(replicas[1])
        time.sleep(4)
        replicas[1] = start_engine(url, *ENGINE_FLAGS, log=log)
        _drain(url, replicas, log)
        verdict = _verdict(receiver, secrets, _ended_objectives(url))
    print(f"delivery replica test: {verdict}")
    _check(verdict, 20)
