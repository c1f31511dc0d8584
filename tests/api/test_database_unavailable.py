"""A SQLite database that vanished, was replaced or became unwritable under a running server:
writes answer UNAVAILABLE (REST 503 with Retry-After), never an acknowledgement that a restart
would not find; health and /readyz say NOT_SERVING; and an outage that ends (the file is
writable again) ends by itself."""

import shutil
import subprocess
import time
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from sundial.api.client import authorized_channel
from sundial.server import SundialServer
from sundial.v1 import (
    agent_schedule_service_pb2,
    agent_schedule_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
)
from tests.api.schedule_requests import create_request
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET, AUTHORIZATION
from tests.support.servers import running, server_settings

DEADLINE_SECONDS = 30
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
CREATES_WHILE_BROKEN = 5


def _chattr(flag: str, path: Path) -> None:
    subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True, timeout=30)


def _chattr_works(directory: Path) -> bool:
    probe = directory / "chattr-probe"
    probe.touch()
    try:
        _chattr("+i", probe)
    except (OSError, subprocess.SubprocessError):
        return False
    _chattr("-i", probe)
    probe.unlink()
    return True


def _remove_directory(path: Path) -> None:
    shutil.rmtree(path.parent)


def _replace_file(path: Path) -> None:
    copy = path.with_name("copy.db")
    shutil.copyfile(path, copy)
    copy.replace(path)


BREAKS: dict[str, Callable[[Path], None]] = {
    "directory-removed": _remove_directory,
    "file-replaced": _replace_file,
    "file-immutable": lambda path: _chattr("+i", path),
}


class Served:
    """A server on a SQLite file in a directory of its own, with one agent."""

    def __init__(self, server: SundialServer, channel: grpc.Channel, path: Path) -> None:
        self.server = server
        self.path = path
        self.workspace = server.bootstrap.default_workspace.id
        self.health = health_pb2_grpc.HealthStub(channel)
        self.schedules = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(channel)
        self.agent = (
            agent_service_pb2_grpc.AgentServiceStub(channel)
            .CreateAgent(
                agent_service_pb2.CreateAgentRequest(
                    workspace_id=self.workspace,
                    metadata=metadata_pb2.CreateResourceMetadata(name="helper"),
                )
            )
            .metadata.id
        )

    def create(self, name: str) -> grpc.StatusCode:
        try:
            self.schedules.CreateAgentSchedule(
                create_request(self.workspace, self.agent, name), timeout=30
            )
        except grpc.RpcError as error:
            return typing.cast(grpc.Call, error).code()
        return grpc.StatusCode.OK

    def rest_create(self, name: str) -> tuple[int, dict[str, str]]:
        path = f"/v1/workspaces/{self.workspace}/agents/{self.agent}/schedules"
        body = {
            "metadata": {"name": name},
            "spec": {"initialMessage": "hi", "schedule": {"intervals": [{"every": "3600s"}]}},
        }
        reply = call(self.server.http_port, "POST", path, body, {"Authorization": AUTHORIZATION})
        return reply.status, reply.headers

    def health_status(self, service: str = "") -> int:
        request = health_pb2.HealthCheckRequest(service=service)
        return int(self.health.Check(request, timeout=10).status)

    def ready_status(self) -> int:
        return call(self.server.http_port, "GET", "/readyz").status

    def wait_for_health(self, status: int) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while self.health_status() != status:
            assert time.monotonic() < deadline, f"health never became {status}"
            time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path, sqlite_template: Path, clock) -> Iterator[Served]:
    path = tmp_path / "data" / "sundial.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    settings = server_settings(f"sqlite:///{path}", http_address="127.0.0.1:0")
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        try:
            yield Served(server, channel, path)
        finally:
            # Let the temporary directory be removed.
            if path.exists() and "i" in _attributes(path):
                _chattr("-i", path)


def _attributes(path: Path) -> str:
    listed = subprocess.run(
        ["lsattr", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    return listed.stdout.split(" ", 1)[0] if listed.returncode == 0 else ""


@pytest.mark.parametrize("break_database", BREAKS.values(), ids=BREAKS.keys())
def test_writes_answer_unavailable_and_health_not_serving_when_the_file_is_not_the_one_opened(
    served: Served, break_database: Callable[[Path], None], tmp_path: Path
):
    if break_database is BREAKS["file-immutable"] and not _chattr_works(tmp_path):
        pytest.skip("chattr +i is not supported here")
    assert served.create("before") == grpc.StatusCode.OK
    assert served.health_status() == SERVING

    break_database(served.path)

    codes = [served.create(f"lost-{n}") for n in range(CREATES_WHILE_BROKEN)]
    assert codes == [grpc.StatusCode.UNAVAILABLE] * CREATES_WHILE_BROKEN
    served.wait_for_health(NOT_SERVING)
    assert served.health_status("sundial.v1.AgentScheduleService") == NOT_SERVING
    status, headers = served.rest_create("lost-rest")
    assert status == 503
    assert headers["retry-after"] == "1"
    assert served.ready_status() == 503


def test_unavailable_carries_retry_info(served: Served):
    _replace_file(served.path)
    with pytest.raises(grpc.RpcError) as caught:
        served.schedules.CreateAgentSchedule(
            create_request(served.workspace, served.agent, "lost"), timeout=30
        )
    status = rpc_status.from_call(caught.value)
    assert status is not None
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1


def test_an_immutable_file_made_writable_again_serves_again_by_itself(
    served: Served, tmp_path: Path
):
    if not _chattr_works(tmp_path):
        pytest.skip("chattr +i is not supported here")
    _chattr("+i", served.path)
    assert served.create("refused") == grpc.StatusCode.UNAVAILABLE
    served.wait_for_health(NOT_SERVING)

    _chattr("-i", served.path)

    served.wait_for_health(SERVING)
    assert served.ready_status() == 200
    assert served.create("after") == grpc.StatusCode.OK
    listed = served.schedules.ListAgentSchedules(
        agent_schedule_service_pb2.ListAgentSchedulesRequest(
            workspace_id=served.workspace, agent_id=served.agent
        )
    )
    assert sorted(s.metadata.name for s in listed.agent_schedules) == ["after"]


def test_no_write_acknowledged_after_the_file_was_replaced_is_lost(served: Served):
    """The replacing file is what a restart opens: every acknowledged create must be in it."""
    acknowledged = ["before"] if served.create("before") == grpc.StatusCode.OK else []
    _replace_file(served.path)
    for n in range(CREATES_WHILE_BROKEN):
        if served.create(f"after-{n}") == grpc.StatusCode.OK:
            acknowledged.append(f"after-{n}")
    served.server.stop()

    settings = server_settings(f"sqlite:///{served.path}")
    with running(settings, served.server.clock) as restarted:
        found = _names_in(restarted, served)
    assert set(acknowledged) <= found
    assert acknowledged == ["before"]


def _names_in(server: SundialServer, served: Served) -> set[str]:
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
        listed = agent_schedule_service_pb2_grpc.AgentScheduleServiceStub(
            channel
        ).ListAgentSchedules(
            agent_schedule_service_pb2.ListAgentSchedulesRequest(
                workspace_id=served.workspace, agent_id=served.agent
            )
        )
    return {schedule.metadata.name for schedule in listed.agent_schedules}
