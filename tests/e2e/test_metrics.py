"""The real `sundial serve`: /metrics scraped while schedules fire, skip and miss and an
objective fails; the counters move by exactly what the schedules report, and the log has
one line per event. Also /metrics on an address of its own (--metrics-address)."""

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import duration_pb2
from prometheus_client.parser import text_string_to_metric_families

from sundial.api.client import authorized_channel
from sundial.v1 import agent_schedule_pb2 as sp
from sundial.v1 import agent_schedule_service_pb2 as pb
from sundial.v1 import (
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2_grpc,
)
from sundial.v1 import objective_service_pb2 as ob
from tests.api.schedule_requests import create_request, schedule_spec
from tests.e2e.test_serve import Process
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET

FIRE_TIMEOUT = 60.0


def _serve(tmp_path: Path, *extra: str) -> Process:
    return Process(
        "serve",
        "--database-url",
        f"sqlite:///{tmp_path / 'sundial.db'}",
        "--grpc-address",
        "127.0.0.1:0",
        "--http-address",
        "127.0.0.1:0",
        "--drain-delay",
        "0",
        *extra,
        env={"SUNDIAL_BOOTSTRAP_API_KEY": ADMIN_SECRET},
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, int, int]]:
    process = _serve(tmp_path)
    try:
        grpc_port = int(process.wait_for_line(r"serving gRPC on 127\.0\.0\.1:(\d+)")[1])
        http_port = int(process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1])
        process.workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        yield process, grpc_port, http_port
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = call(port, "GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _every_second(**fields):
    return schedule_spec(
        schedule=sp.AgentScheduleSpecSchedule(
            intervals=[sp.ScheduleInterval(every=duration_pb2.Duration(seconds=1))]
        ),
        **fields,
    )


def test_metrics_move_as_schedules_fire_skip_miss_and_fail(served):
    process, grpc_port, http_port = served
    with authorized_channel(f"127.0.0.1:{grpc_port}", ADMIN_SECRET) as channel:
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        objectives = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
        workspace = process.workspace
        agent = agents.CreateAgent(
            agent_service_pb2.CreateAgentRequest(
                workspace_id=workspace, metadata=metadata_pb2.CreateResourceMetadata(name="m")
            )
        ).metadata.id
        before = _scrape(http_port)
        assert _value(before, "sundial_fires_total", outcome="created") == 0
        # Fires once, then skips every second while that objective is in flight.
        skipping = schedules.CreateAgentSchedule(
            create_request(
                workspace,
                agent,
                "skipping",
                spec=_every_second(overlap_policy=sp.OVERLAP_POLICY_SKIP),
            )
        )
        # No catch-up at all: every fire is a little late, so every fire is missed.
        missing = schedules.CreateAgentSchedule(
            create_request(
                workspace,
                agent,
                "missing",
                spec=_every_second(catchup_window=duration_pb2.Duration(seconds=0)),
            )
        )
        deadline = time.monotonic() + FIRE_TIMEOUT
        while True:
            samples = _scrape(http_port)
            if (
                _value(samples, "sundial_fires_total", outcome="skipped") >= 1
                and _value(samples, "sundial_fires_total", outcome="missed") >= 1
            ):
                break
            assert time.monotonic() < deadline, f"no skip and miss yet: {samples}"
            time.sleep(0.2)
        # Paused, the schedules stand still: their counts and the metrics must agree.
        for schedule in (skipping, missing):
            ids = {
                "workspace_id": workspace,
                "agent_id": agent,
                "schedule_id": schedule.metadata.id,
            }
            schedules.PauseAgentSchedule(pb.PauseAgentScheduleRequest(**ids))
        infos = [
            schedules.GetAgentSchedule(
                pb.GetAgentScheduleRequest(
                    workspace_id=workspace, agent_id=agent, schedule_id=s.metadata.id
                )
            ).info
            for s in (skipping, missing)
        ]
        pending = objectives.ListObjectives(
            ob.ListObjectivesRequest(workspace_id=workspace, agent_id=agent, page_size=1000)
        ).objectives
        samples = _scrape(http_port)
        assert _value(samples, "sundial_fires_total", outcome="created") == sum(
            i.total_fires for i in infos
        )
        assert _value(samples, "sundial_fires_total", outcome="skipped") == sum(
            i.skipped_fires for i in infos
        )
        assert _value(samples, "sundial_fires_total", outcome="missed") == sum(
            i.missed_fires for i in infos
        )
        assert _value(samples, "sundial_fire_lag_seconds_count") == len(pending)
        assert _value(samples, "sundial_objectives_pending") == len(pending)
        assert _value(samples, "sundial_engine_pass_duration_seconds_count") >= 2
        assert _value(samples, "sundial_engine_last_pass_timestamp_seconds") > 0

        [claimed] = objectives.ClaimObjectives(
            ob.ClaimObjectivesRequest(workspace_id=workspace, agent_id=agent, worker_id="w1")
        ).objectives
        objectives.FailObjective(
            ob.FailObjectiveRequest(
                workspace_id=workspace,
                agent_id=agent,
                objective_id=claimed.metadata.id,
                worker_id="w1",
                error="exit 3",
            )
        )
        after = _scrape(http_port)
        assert _value(after, "sundial_objectives_finished_total", status="FAILED") == 1
        assert _value(after, "sundial_objective_duration_seconds_count", status="FAILED") == 1
        assert _value(after, "sundial_objectives_pending") == len(pending) - 1
        create = {
            "grpc_service": "sundial.v1.AgentScheduleService",
            "grpc_method": "CreateAgentSchedule",
        }
        assert _value(after, "sundial_grpc_server_handled_total", **create, grpc_code="OK") == 2
        scrapes = _value(
            after, "sundial_http_requests_total", method="GET", route="/metrics", status="200"
        )
        assert scrapes >= 3

    process.popen.send_signal(signal.SIGTERM)
    _, stderr = process.finish()
    assert process.popen.returncode == 0
    fired = re.findall(rf"INFO sundial.engine: fired schedule {skipping.metadata.id}: .*", stderr)
    assert len(fired) == infos[0].total_fires
    assert f"workspace_id={workspace}" in fired[0]
    assert f"agent_id={agent}" in fired[0]
    assert re.search(
        rf"INFO sundial.engine: skipped 1 fire\(s\) of schedule {skipping.metadata.id}: "
        r"previous objective still in flight",
        stderr,
    )
    assert re.search(
        rf"INFO sundial.engine: missed \d+ fire\(s\) of schedule {missing.metadata.id}", stderr
    )
    assert re.search(
        rf"INFO sundial.objectives: objective {claimed.metadata.id} .* "
        r"failed after 1 attempt\(s\): exit 3",
        stderr,
    )
    # RPC access lines are at DEBUG without --access-log.
    assert "sundial.rpc: rpc " not in stderr


def test_metrics_on_an_address_of_their_own_and_not_on_the_rest_port(tmp_path: Path):
    process = _serve(tmp_path, "--metrics-address", "127.0.0.1:0", "--access-log")
    try:
        http_port = int(process.wait_for_line(r"serving REST on 127\.0\.0\.1:(\d+)")[1])
        metrics_port = int(process.wait_for_line(r"serving metrics on 127\.0\.0\.1:(\d+)")[1])
        samples = _scrape(metrics_port)
        assert ("sundial_fires_total", (("outcome", "created"),)) in samples
        assert call(http_port, "GET", "/metrics").status == 404
        workspace = process.wait_for_line(r"default workspace: (ws_\w+)")[1]
        # An RPC (refused: no credentials), whose access line --access-log puts at INFO.
        assert call(http_port, "GET", f"/v1/workspaces/{workspace}/agents").status == 401
        process.popen.send_signal(signal.SIGTERM)
        _, stderr = process.finish()
        assert "sundial.rpc: rpc " in stderr  # --access-log: at INFO
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(timeout=30)
