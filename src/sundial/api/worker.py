"""`sundial worker`: claims an agent's objectives over gRPC and runs a command for each.

The command gets the objective as ProtoJSON on stdin. Exit 0 completes the objective with
its stdout (as JSON when it parses, else as a string); any other exit fails it, retryable,
with its stderr. While it runs, the lease is kept alive with heartbeats."""

import json
import logging
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import duration_pb2, json_format, struct_pb2

from sundial.api.client import authorized_channel
from sundial.v1 import objective_pb2, objective_service_pb2, objective_service_pb2_grpc

logger = logging.getLogger("sundial.worker")
MAX_REPORTED_ERROR = 4000


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    target: str
    # The key the worker authenticates with (a worker-role key is enough).
    api_key: str = field(repr=False)
    workspace_id: str
    agent_id: str
    worker_id: str
    command: Sequence[str]
    lease_seconds: int = 60
    wait_seconds: int = 20
    max_objectives: int = 1


class Worker:
    def __init__(self, options: WorkerOptions) -> None:
        self._options = options
        self._channel = authorized_channel(options.target, options.api_key)
        self._stub = objective_service_pb2_grpc.ObjectiveServiceStub(self._channel)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, once: bool = False) -> int:
        """Claims and runs objectives until stopped (or, with `once`, one claim round);
        returns how many objectives it ran."""
        ran = 0
        try:
            while not self._stop.is_set():
                claimed = self._claim()
                for objective in claimed:
                    self._run_one(objective)
                    ran += 1
                if once:
                    break
        finally:
            self._channel.close()
        return ran

    def _claim(self) -> list[objective_pb2.Objective]:
        options = self._options
        request = objective_service_pb2.ClaimObjectivesRequest(
            workspace_id=options.workspace_id,
            agent_id=options.agent_id,
            worker_id=options.worker_id,
            max_objectives=options.max_objectives,
            wait=duration_pb2.Duration(seconds=options.wait_seconds),
            lease_duration=duration_pb2.Duration(seconds=options.lease_seconds),
        )
        return list(
            self._stub.ClaimObjectives(request, timeout=options.wait_seconds + 30).objectives
        )

    def _run_one(self, objective: objective_pb2.Objective) -> None:
        objective_id = objective.metadata.id
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(objective_id, done), daemon=True)
        beat.start()
        try:
            result = subprocess.run(
                list(self._options.command),
                input=json_format.MessageToJson(objective),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            done.set()
            beat.join()
        ids = self._ids(objective_id)
        try:
            if result.returncode == 0:
                self._stub.CompleteObjective(
                    objective_service_pb2.CompleteObjectiveRequest(
                        **ids, output=_output(result.stdout)
                    )
                )
                logger.info("objective %s succeeded", objective_id)
            else:
                error = (result.stderr or f"exit code {result.returncode}")[-MAX_REPORTED_ERROR:]
                self._stub.FailObjective(
                    objective_service_pb2.FailObjectiveRequest(**ids, error=error, retryable=True)
                )
                logger.warning("objective %s failed: exit code %d", objective_id, result.returncode)
        except grpc.RpcError as error:
            # The lease may have expired while the command ran: the server decided already.
            logger.warning("could not report objective %s: %s", objective_id, error)

    def _heartbeat(self, objective_id: str, done: threading.Event) -> None:
        interval = max(self._options.lease_seconds / 3, 1)
        while not done.wait(interval):
            try:
                self._stub.HeartbeatObjective(
                    objective_service_pb2.HeartbeatObjectiveRequest(
                        **self._ids(objective_id),
                        lease_duration=duration_pb2.Duration(seconds=self._options.lease_seconds),
                    )
                )
            except grpc.RpcError as error:
                logger.warning("heartbeat for %s failed: %s", objective_id, error)

    def _ids(self, objective_id: str) -> dict[str, str]:
        return {
            "workspace_id": self._options.workspace_id,
            "agent_id": self._options.agent_id,
            "objective_id": objective_id,
            "worker_id": self._options.worker_id,
        }


def _output(stdout: str) -> struct_pb2.Value:
    value = struct_pb2.Value()
    parsed: Any
    try:
        parsed = json.loads(stdout)
    except ValueError:
        parsed = stdout
    json_format.ParseDict(parsed, value)
    return value
