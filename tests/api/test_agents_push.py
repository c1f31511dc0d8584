"""PUSH agents through a real server, over gRPC and REST: the push target's checks name
the field, the signing secret is made once and shown once (then only its hint), updates keep
or replace it, and PULL workers cannot claim a PUSH agent's objectives."""

import json
import logging
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2
from sqlalchemy import create_engine, text

from sundial.api.client import authorized_channel
from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.service.webhook_signing import generate_secret
from sundial.v1 import (
    agent_pb2,
    agent_service_pb2,
    agent_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
)
from tests.gateway.client import call
from tests.support.auth import ADMIN_SECRET, AUTHORIZATION
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

pb = agent_service_pb2
URL = "https://agent.example.com/run"
PUSH = agent_pb2.AGENT_MODE_PUSH


@pytest.fixture
def server(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    with running(server_settings(database_url, http_address="127.0.0.1:0"), clock) as server:
        yield server


@pytest.fixture
def agents(server: SundialServer) -> Iterator[agent_service_pb2_grpc.AgentServiceStub]:
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
        yield agent_service_pb2_grpc.AgentServiceStub(channel)


def _create(agents, server, spec: agent_pb2.AgentSpec, **request) -> agent_pb2.Agent:
    return agents.CreateAgent(
        pb.CreateAgentRequest(
            workspace_id=server.bootstrap.default_workspace.id,
            metadata=metadata_pb2.CreateResourceMetadata(name="pushed"),
            spec=spec,
            **request,
        )
    )


def _get(agents, server, agent_id: str) -> agent_pb2.Agent:
    return agents.GetAgent(
        pb.GetAgentRequest(workspace_id=server.bootstrap.default_workspace.id, agent_id=agent_id)
    )


def _update(agents, server, agent_id: str, spec: agent_pb2.AgentSpec, *paths: str):
    return agents.UpdateAgent(
        pb.UpdateAgentRequest(
            workspace_id=server.bootstrap.default_workspace.id,
            agent_id=agent_id,
            spec=spec,
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        )
    )


def _push(**fields) -> agent_pb2.AgentSpec:
    return agent_pb2.AgentSpec(mode=PUSH, push=agent_pb2.PushTarget(**{"url": URL, **fields}))


def test_a_push_agent_without_a_secret_gets_one_shown_only_in_the_create_answer(agents, server):
    created = _create(agents, server, _push(headers={"x-team": "cx"}))

    secret = created.info.push_secret
    assert secret.startswith("whsec_")
    assert created.info.push_secret_hint == secret[-4:]
    assert created.spec.push.secret == ""
    got = _get(agents, server, created.metadata.id)
    assert got.info.push_secret == ""
    assert got.info.push_secret_hint == secret[-4:]
    assert got.spec == _push(headers={"x-team": "cx"})


def test_a_given_secret_is_kept_never_returned_and_replaced_by_an_update(agents, server):
    given = generate_secret()
    created = _create(agents, server, _push(secret=given))
    assert created.info.push_secret == ""
    assert created.info.push_secret_hint == given[-4:]

    # An update that names no secret keeps it.
    kept = _update(agents, server, created.metadata.id, _push(), "spec.push")
    assert kept.info.push_secret_hint == given[-4:]
    assert kept.info.push_secret == ""

    newer = generate_secret()
    replaced = _update(agents, server, created.metadata.id, _push(secret=newer), "spec.push")
    assert replaced.info.push_secret_hint == newer[-4:]
    assert replaced.spec.push.secret == ""


def test_becoming_pull_drops_the_secret_and_becoming_push_makes_one(agents, server):
    created = _create(agents, server, _push())
    pull = _update(
        agents, server, created.metadata.id, agent_pb2.AgentSpec(), "spec.mode", "spec.push"
    )
    assert pull.info.push_secret_hint == ""
    assert not pull.spec.HasField("push")

    push = _update(agents, server, created.metadata.id, _push(), "spec.mode", "spec.push")
    assert push.info.push_secret.startswith("whsec_")
    assert push.info.push_secret != created.info.push_secret


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (agent_pb2.AgentSpec(mode=PUSH), "spec.push", "required"),
        (_push(url=""), "spec.push.url", "required"),
        (agent_pb2.AgentSpec(push=agent_pb2.PushTarget(url=URL)), "spec.push", "only for"),
        (
            agent_pb2.AgentSpec(mode=agent_pb2.AGENT_MODE_PULL, push=agent_pb2.PushTarget(url=URL)),
            "spec.push",
            "only for",
        ),
        (_push(url="http://agent.example.com/run"), "spec.push.url", "must be https"),
        (_push(url="ftp://agent.example.com/"), "spec.push.url", "must be https"),
        (_push(url="https://10.1.2.3/run"), "spec.push.url", "private address"),
        (_push(url="https://[::1]/run"), "spec.push.url", "loopback"),
        (_push(url="https://169.254.169.254/"), "spec.push.url", "metadata"),
        (_push(url="https://localhost:8443/"), "spec.push.url", "this machine"),
        (_push(url="https://user:pw@agent.example.com/"), "spec.push.url", "credentials"),
        (_push(url="https://agent.example.com:99999/"), "spec.push.url", "not a valid URL"),
        (_push(url="https:///run"), "spec.push.url", "no host"),
        (_push(timeout=duration_pb2.Duration(seconds=0)), "spec.push.timeout", "above 0"),
        (_push(timeout=duration_pb2.Duration(seconds=601)), "spec.push.timeout", "at most 600s"),
        (_push(headers={"webhook-id": "x"}), "spec.push.headers[webhook-id]", "set by Sundial"),
        (_push(headers={"bad name": "x"}), "spec.push.headers[bad name]", "header name"),
        (_push(headers={"x-a": "1\n2"}), "spec.push.headers[x-a]", "control"),
        (_push(secret="hunter2"), "spec.push.secret", "whsec_"),
        (_push(secret="whsec_c2hvcnQ="), "spec.push.secret", "24 to 64 bytes"),
    ],
    ids=[
        "push-missing",
        "url-missing",
        "push-on-default-mode",
        "push-on-pull",
        "http",
        "ftp",
        "private-ip",
        "loopback-ip",
        "metadata-ip",
        "localhost",
        "credentials",
        "bad-port",
        "no-host",
        "zero-timeout",
        "long-timeout",
        "reserved-header",
        "bad-header-name",
        "header-control-character",
        "secret-format",
        "secret-short",
    ],
)
def test_a_bad_push_spec_names_the_field(agents, server, spec, field, words):
    with pytest.raises(grpc.RpcError) as caught:
        _create(agents, server, spec)
    failure = failure_of(caught.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [field]
    assert words in failure.violations[field]


def test_the_same_checks_hold_on_update(agents, server):
    created = _create(agents, server, _push())
    with pytest.raises(grpc.RpcError) as caught:
        _update(agents, server, created.metadata.id, _push(url="https://10.0.0.1/"), "spec.push")
    assert list(failure_of(caught.value).violations) == ["spec.push.url"]


def test_over_rest_the_secret_is_shown_once_and_violations_name_the_field(server):
    path = f"/v1/workspaces/{server.bootstrap.default_workspace.id}/agents"
    headers = {"Authorization": AUTHORIZATION}
    body = {
        "metadata": {"name": "rest"},
        "spec": {"mode": "AGENT_MODE_PUSH", "push": {"url": URL, "timeout": "5s"}},
    }
    created = call(server.http_port, "POST", path, body, headers)
    assert created.status == 200
    agent = created.json()
    assert agent["spec"]["push"] == {"url": URL, "timeout": "5s"}
    assert agent["info"]["pushSecret"].startswith("whsec_")
    got = call(server.http_port, "GET", f"{path}/{agent['metadata']['id']}", headers=headers)
    assert "pushSecret" not in got.json()["info"]
    assert got.json()["info"]["pushSecretHint"] == agent["info"]["pushSecret"][-4:]

    body["spec"]["push"]["url"] = "http://agent.example.com/"
    refused = call(server.http_port, "POST", path, body, headers)
    assert refused.status == 400
    assert list(refused.violations) == ["spec.push.url"]


def test_with_the_allow_flag_http_and_loopback_targets_are_accepted(database_url, clock):
    settings = server_settings(database_url, allow_private_webhook_targets=True)
    with (
        running(settings, clock) as server,
        authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel,
    ):
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        created = _create(stub, server, _push(url="http://127.0.0.1:8080/run"))
    assert created.spec.push.url == "http://127.0.0.1:8080/run"


def test_a_worker_claiming_for_a_push_agent_is_refused_naming_the_agent(agents, server):
    created = _create(agents, server, _push())
    with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
        stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ClaimObjectives(
                objective_service_pb2.ClaimObjectivesRequest(
                    workspace_id=server.bootstrap.default_workspace.id,
                    agent_id=created.metadata.id,
                    worker_id="w",
                )
            )
    failure = failure_of(caught.value)
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "AGENT_IS_PUSH")
    assert created.metadata.id in failure.message


def test_the_secret_is_stored_only_in_its_column_and_never_logged(database_url, clock, caplog):
    caplog.set_level(logging.DEBUG)
    given = generate_secret()
    settings = server_settings(database_url, http_address="127.0.0.1:0", access_log=True)
    with running(settings, clock) as server:
        path = f"/v1/workspaces/{server.bootstrap.default_workspace.id}/agents"
        body = {"metadata": {"name": "given"}, "spec": {"mode": "AGENT_MODE_PUSH",
                "push": {"url": URL, "secret": given}}, "requestId": "once"}  # fmt: skip
        headers = {"Authorization": AUTHORIZATION}
        assert call(server.http_port, "POST", path, body, headers).status == 200
        with authorized_channel(f"127.0.0.1:{server.port}", ADMIN_SECRET) as channel:
            made = _create(agent_service_pb2_grpc.AgentServiceStub(channel), server, _push())
    assert "CreateAgent" in caplog.text  # the calls were logged: the search looked at them
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT spec, push_secret FROM agents")).all()
    finally:
        engine.dispose()
    secrets = [given, made.info.push_secret]
    assert sorted(row[1] for row in rows) == sorted(secrets)
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in json.dumps(row[0]) for row in rows)
