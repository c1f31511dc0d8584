"""Failed authentication is rate-limited per client, over gRPC and REST alike, and a caller
cannot dodge the limit by claiming to be someone else; a valid generated key still gets in
from an address that is limited, while the abuser's bad key is refused with when to retry."""

from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from sundial.domain.clock import FakeClock
from sundial.server import SundialServer
from sundial.v1 import (
    access_pb2,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
    workspace_service_pb2,
    workspace_service_pb2_grpc,
)
from tests.gateway.client import call
from tests.support.auth import AUTHORIZATION
from tests.support.rpc import failure_of
from tests.support.servers import running, server_settings

BURST = 3
PER_MINUTE = 6.0  # one more failure every 10 s


@pytest.fixture
def limited(database_url: str, clock: FakeClock) -> Iterator[SundialServer]:
    settings = server_settings(
        database_url,
        http_address="127.0.0.1:0",
        auth_failure_burst=BURST,
        auth_failure_per_minute=PER_MINUTE,
    )
    with running(settings, clock) as server:
        yield server


def _list(server: SundialServer, authorization: str, **extra: str) -> grpc.StatusCode:
    metadata = (("authorization", authorization), *extra.items())
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
        request = workspace_service_pb2.ListWorkspacesRequest(
            account_id=server.bootstrap.account.id
        )
        try:
            stub.ListWorkspaces(request, metadata=metadata)
        except grpc.RpcError as error:
            return failure_of(error).code
    return grpc.StatusCode.OK


def _rest(server: SundialServer, authorization: str) -> int:
    path = f"/v1/accounts/{server.bootstrap.account.id}/workspaces"
    return call(server.http_port, "GET", path, headers={"Authorization": authorization}).status


def test_failures_beyond_the_burst_are_refused_until_the_bucket_refills(limited, clock):
    assert _list(limited, AUTHORIZATION) == grpc.StatusCode.OK
    for _ in range(BURST):
        assert _list(limited, "Bearer wrong-secret-0123456789") == (grpc.StatusCode.UNAUTHENTICATED)
    # Now even the right key is refused, before it is looked at, over both transports: it is
    # an operator's own secret (SUNDIAL_BOOTSTRAP_API_KEY), which may be weak, so a limited
    # client is not told whether it guessed right.
    assert _list(limited, AUTHORIZATION) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _rest(limited, AUTHORIZATION) == 429
    clock.advance(timedelta(seconds=10))
    assert _list(limited, AUTHORIZATION) == grpc.StatusCode.OK


def test_the_refusal_says_when_to_retry(limited):
    for _ in range(BURST):
        _list(limited, "Bearer wrong-secret-0123456789")
    with grpc.insecure_channel(f"127.0.0.1:{limited.port}") as channel:
        stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
        request = workspace_service_pb2.ListWorkspacesRequest(
            account_id=limited.bootstrap.account.id
        )
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListWorkspaces(request, metadata=(("authorization", AUTHORIZATION),))
    assert failure_of(caught.value).code == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(caught.value)
    assert status is not None
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert info.retry_delay.seconds == 10


def test_rest_failures_count_against_the_rest_client(limited):
    for _ in range(BURST):
        assert _rest(limited, "Bearer wrong-secret-0123456789") == 401
    assert _rest(limited, AUTHORIZATION) == 429


def test_claiming_another_client_address_does_not_dodge_the_limit(limited):
    spoof = {"x-sundial-client": "203.0.113.9", "x-sundial-gateway": "guessed-token"}
    for _ in range(BURST):
        assert _list(limited, "Bearer wrong-secret-0123456789", **spoof) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
    # The failures were counted against this caller's real address, not the claimed one.
    assert _list(limited, AUTHORIZATION) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_rest_clients_cannot_send_the_gateways_own_metadata(limited):
    headers = {
        "Authorization": "Bearer wrong-secret-0123456789",
        "Grpc-Metadata-X-Sundial-Client": "203.0.113.9",
    }
    path = f"/v1/accounts/{limited.bootstrap.account.id}/workspaces"
    for _ in range(BURST):
        assert call(limited.http_port, "GET", path, headers=headers).status == 401
    assert _rest(limited, AUTHORIZATION) == 429


BAD_GENERATED_KEY = "Bearer sdl_" + "x" * 43  # a generated key's shape, but no such key


def _generated_key(server: SundialServer) -> str:
    """The secret of a new admin key, generated by the server."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        key = api_key_service_pb2_grpc.ApiKeyServiceStub(channel).CreateApiKey(
            api_key_service_pb2.CreateApiKeyRequest(
                account_id=server.bootstrap.account.id,
                metadata=metadata_pb2.CreateResourceMetadata(name="ci"),
                spec=api_key_pb2.ApiKeySpec(role=access_pb2.ROLE_ADMIN),
            ),
            metadata=(("authorization", AUTHORIZATION),),
        )
    return f"Bearer {key.info.secret}"


def _retry_delay(error: grpc.RpcError) -> int:
    status = rpc_status.from_call(error)
    assert status is not None
    [retry] = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    info = error_details_pb2.RetryInfo()
    retry.Unpack(info)
    return info.retry_delay.seconds


def test_a_generated_key_gets_in_from_a_limited_address_over_grpc(limited):
    valid = _generated_key(limited)
    for _ in range(BURST):
        assert _list(limited, BAD_GENERATED_KEY) == grpc.StatusCode.UNAUTHENTICATED
    assert _list(limited, valid) == grpc.StatusCode.OK
    assert _list(limited, valid) == grpc.StatusCode.OK  # and again: not counted
    with grpc.insecure_channel(f"127.0.0.1:{limited.port}") as channel:
        stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
        request = workspace_service_pb2.ListWorkspacesRequest(
            account_id=limited.bootstrap.account.id
        )
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListWorkspaces(request, metadata=(("authorization", BAD_GENERATED_KEY),))
    assert failure_of(caught.value).code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _retry_delay(caught.value) == 10


def test_a_generated_key_gets_in_from_a_limited_address_over_rest(limited):
    valid = _generated_key(limited)
    path = f"/v1/accounts/{limited.bootstrap.account.id}/workspaces"
    for _ in range(BURST):
        assert _rest(limited, BAD_GENERATED_KEY) == 401
    ok = call(limited.http_port, "GET", path, headers={"Authorization": valid})
    assert ok.status == 200
    assert len(ok.json()["workspaces"]) == 1
    refused = call(limited.http_port, "GET", path, headers={"Authorization": BAD_GENERATED_KEY})
    assert refused.status == 429
    assert refused.headers["retry-after"] == "10"
    assert _rest(limited, valid) == 200  # the abuser's refusals did not lock it out
