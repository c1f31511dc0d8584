"""`sundial runs ...`: the objectives schedules fired, as a worker reports them."""

import pytest
from google.protobuf import duration_pb2, struct_pb2

from sundial.server import SundialServer
from sundial.v1 import objective_service_pb2, objective_service_pb2_grpc
from tests.cli.conftest import Sundial, as_json, as_yaml, failed, ok

Stub = objective_service_pb2_grpc.ObjectiveServiceStub


@pytest.fixture
def schedule(sundial: Sundial) -> dict[str, str]:
    agent = as_json(sundial("agents", "create", "helper", "-o", "json"))["metadata"]["id"]
    created = as_json(
        sundial("schedules", "create", agent, "--name", "s", "--every", "1h", "--message", "m",
                "-o", "json")
    )  # fmt: skip
    return {"agent": agent, "schedule": created["metadata"]["id"]}


def _trigger(sundial: Sundial, schedule_id: str) -> str:
    return str(
        as_json(sundial("schedules", "trigger", schedule_id, "-o", "json"))["metadata"]["id"]
    )


def _finish(objectives: Stub, server: SundialServer, agent: str, output: str | None) -> None:
    """What `sundial worker` does: claim the run, then complete (or fail) it."""
    ids = {"workspace_id": server.bootstrap.default_workspace.id, "agent_id": agent}
    claimed = objectives.ClaimObjectives(
        objective_service_pb2.ClaimObjectivesRequest(
            **ids, worker_id="w", lease_duration=duration_pb2.Duration(seconds=60)
        )
    ).objectives
    (objective,) = claimed
    done = {**ids, "objective_id": objective.metadata.id, "worker_id": "w"}
    if output is None:
        objectives.FailObjective(
            objective_service_pb2.FailObjectiveRequest(**done, error="boom", retryable=False)
        )
    else:
        objectives.CompleteObjective(
            objective_service_pb2.CompleteObjectiveRequest(
                **done, output=struct_pb2.Value(string_value=output)
            )
        )


def test_list_get_and_output_of_a_finished_run(
    sundial: Sundial, schedule: dict[str, str], objectives: Stub, server: SundialServer
):
    run_id = _trigger(sundial, schedule["schedule"])
    _finish(objectives, server, schedule["agent"], "all done")
    table = ok(sundial("runs", "list"))
    assert table.splitlines()[0].split() == [
        "ID", "AGENT", "SCHEDULE", "STATUS", "TRIGGER", "SCHEDULED", "ATTEMPT",
    ]  # fmt: skip
    row = table.splitlines()[2].split()
    assert row[:5] == [run_id, schedule["agent"], schedule["schedule"], "SUCCEEDED", "MANUAL"]
    listed = as_json(sundial("runs", "list", "--schedule", schedule["schedule"], "-o", "json"))
    assert [run["metadata"]["id"] for run in listed] == [run_id]
    assert as_json(sundial("runs", "list", "--status", "failed", "-o", "json")) == []
    got = as_yaml(sundial("runs", "get", run_id, "-o", "yaml"))
    assert got["info"]["status"] == "OBJECTIVE_STATUS_SUCCEEDED"
    assert ok(sundial("runs", "output", run_id)) == "all done\n"
    assert as_json(
        sundial("runs", "output", run_id, "--agent", schedule["agent"], "-o", "json")
    ) == ("all done")


def test_output_of_a_failed_run_is_its_error(
    sundial: Sundial, schedule: dict[str, str], objectives: Stub, server: SundialServer
):
    run_id = _trigger(sundial, schedule["schedule"])
    _finish(objectives, server, schedule["agent"], None)
    assert failed(sundial("runs", "output", run_id), 1) == "FAILED: boom"
    assert [
        r["metadata"]["id"]
        for r in as_json(sundial("runs", "list", "--status", "failed", "-o", "json"))
    ] == [run_id]


def test_cancel_a_pending_run(sundial: Sundial, schedule: dict[str, str]):
    run_id = _trigger(sundial, schedule["schedule"])
    assert failed(sundial("runs", "output", run_id), 1) == f"{run_id} has no output (PENDING)"
    cancelled = as_json(sundial("runs", "cancel", run_id, "--reason", "not today", "-o", "json"))
    assert cancelled["info"]["status"] == "OBJECTIVE_STATUS_CANCELLED"
    assert failed(sundial("runs", "cancel", "obj_nope"), 3).startswith(
        "sundial runs cancel: NOT_FOUND"
    )
    assert failed(sundial("runs", "list", "--filter", "colour = red"), 2).startswith(
        "sundial runs list: INVALID_ARGUMENT: "
    )
