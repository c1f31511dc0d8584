"""The admin API through a real server: accounts, workspaces, API keys and profiles, and
role and tenant enforcement end to end."""

from contextlib import contextmanager
from datetime import UTC, timedelta

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from sundial.api.client import authorized_channel
from sundial.v1 import (
    access_pb2,
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    metadata_pb2,
    objective_service_pb2,
    objective_service_pb2_grpc,
    profile_pb2,
    profile_service_pb2,
    profile_service_pb2_grpc,
    workspace_service_pb2,
    workspace_service_pb2_grpc,
)
from tests.support.rpc import failure_of

DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture
def account_id(server):
    return server.bootstrap.account.id


@pytest.fixture
def keys(channel):
    return api_key_service_pb2_grpc.ApiKeyServiceStub(channel)


@pytest.fixture
def profiles(channel):
    return profile_service_pb2_grpc.ProfileServiceStub(channel)


@pytest.fixture
def workspaces(channel):
    return workspace_service_pb2_grpc.WorkspaceServiceStub(channel)


@contextmanager
def _as(server, secret):
    with authorized_channel(f"127.0.0.1:{server.port}", secret) as channel:
        yield channel


def _failure(call, request):
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return failure_of(caught.value)


def _key_request(account_id, role=access_pb2.ROLE_EDITOR, name="key", **spec):
    return api_key_service_pb2.CreateApiKeyRequest(
        account_id=account_id,
        metadata=metadata_pb2.CreateResourceMetadata(name=name),
        spec=api_key_pb2.ApiKeySpec(role=role, **spec),
    )


def _new_key(keys, account_id, role=access_pb2.ROLE_EDITOR, **spec):
    return keys.CreateApiKey(_key_request(account_id, role, **spec))


def _timestamp(moment):
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _create_agent(channel, workspace_id, name="agent"):
    return agent_service_pb2_grpc.AgentServiceStub(channel).CreateAgent(
        agent_service_pb2.CreateAgentRequest(
            workspace_id=workspace_id, metadata=metadata_pb2.CreateResourceMetadata(name=name)
        )
    )


def _list_workspaces(channel, account_id):
    stub = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
    return stub.ListWorkspaces(workspace_service_pb2.ListWorkspacesRequest(account_id=account_id))


# Accounts and workspaces


def test_get_account_returns_the_callers_own(channel, server, account_id):
    accounts = account_service_pb2_grpc.AccountServiceStub(channel)
    account = accounts.GetAccount(account_service_pb2.GetAccountRequest(account_id=account_id))
    assert account.id == account_id
    assert account.name == "default"


def test_another_or_made_up_account_reads_alike(channel, server):
    accounts = account_service_pb2_grpc.AccountServiceStub(channel)
    other = server.tenancy.create_account("other").account.id
    messages = []
    for account_id in (other, "acct_made_up"):
        failure = _failure(
            accounts.GetAccount, account_service_pb2.GetAccountRequest(account_id=account_id)
        )
        assert failure.code == DENIED
        assert failure.reason == "PERMISSION_DENIED"
        messages.append(failure.message.replace(account_id, "<id>"))
    assert messages[0] == messages[1]


def test_create_get_and_page_through_workspaces(workspaces, server, account_id):
    made = [
        workspaces.CreateWorkspace(
            workspace_service_pb2.CreateWorkspaceRequest(
                account_id=account_id, workspace=account_pb2.Workspace(name=f"ws-{n}")
            )
        )
        for n in range(3)
    ]
    got = workspaces.GetWorkspace(
        workspace_service_pb2.GetWorkspaceRequest(account_id=account_id, workspace_id=made[1].id)
    )
    assert got == made[1]
    assert got.account_id == account_id

    seen, token, pages = [], "", 0
    while True:
        page = workspaces.ListWorkspaces(
            workspace_service_pb2.ListWorkspacesRequest(
                account_id=account_id, page_size=1, page_token=token
            )
        )
        pages += 1
        assert len(page.workspaces) == 1
        seen.extend(w.id for w in page.workspaces)
        token = page.next_page_token
        if not token:
            break
    assert pages == 4
    assert seen == sorted(seen)
    assert set(seen) == {server.bootstrap.default_workspace.id, *(w.id for w in made)}


def test_create_workspace_request_id_returns_the_same_workspace(workspaces, account_id):
    request = workspace_service_pb2.CreateWorkspaceRequest(
        account_id=account_id, workspace=account_pb2.Workspace(name="once"), request_id="req-ws"
    )
    first = workspaces.CreateWorkspace(request)
    assert workspaces.CreateWorkspace(request) == first
    listed = workspaces.ListWorkspaces(
        workspace_service_pb2.ListWorkspacesRequest(account_id=account_id)
    )
    assert [w.name for w in listed.workspaces].count("once") == 1


# API keys


def test_secret_is_shown_once_and_authenticates(keys, server, account_id):
    request = _key_request(account_id, access_pb2.ROLE_VIEWER)
    request.request_id = "req-key"
    created = keys.CreateApiKey(request)
    assert created.info.secret.startswith("sdl_")
    assert created.info.secret_hint == created.info.secret[-4:]

    got = keys.GetApiKey(
        api_key_service_pb2.GetApiKeyRequest(account_id=account_id, api_key_id=created.metadata.id)
    )
    listed = keys.ListApiKeys(api_key_service_pb2.ListApiKeysRequest(account_id=account_id))
    retried = keys.CreateApiKey(request)

    assert got.info.secret == ""
    assert got.info.secret_hint == created.info.secret_hint
    assert created.metadata.id in [k.metadata.id for k in listed.api_keys]
    assert all(k.info.secret == "" for k in listed.api_keys)
    assert retried.metadata.id == created.metadata.id
    assert retried.info.secret == ""
    with _as(server, created.info.secret) as channel:
        assert _list_workspaces(channel, account_id).workspaces


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        ("VIEWER", ["GetAgent", "ListAgents"], ["CreateAgent", "ClaimObjectives"]),
        ("WORKER", ["ClaimObjectives"], ["ListAgents", "GetAgent", "CreateAgent"]),
        ("EDITOR", ["CreateAgent", "ListAgents", "ClaimObjectives"], ["CreateApiKey"]),
    ],
    ids=["viewer", "worker", "editor"],
)
def test_roles_are_enforced_end_to_end(
    keys, server, account_id, workspace_id, agent, role, allowed, denied
):
    key = _new_key(keys, account_id, access_pb2.Role.Value(f"ROLE_{role}"))
    agent_id = agent.metadata.id
    with _as(server, key.info.secret) as channel:
        agent_stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        objective_stub = objective_service_pb2_grpc.ObjectiveServiceStub(channel)
        key_stub = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
        calls = {
            "GetAgent": lambda: agent_stub.GetAgent(
                agent_service_pb2.GetAgentRequest(workspace_id=workspace_id, agent_id=agent_id)
            ),
            "ListAgents": lambda: agent_stub.ListAgents(
                agent_service_pb2.ListAgentsRequest(workspace_id=workspace_id)
            ),
            "CreateAgent": lambda: _create_agent(channel, workspace_id),
            "ClaimObjectives": lambda: objective_stub.ClaimObjectives(
                objective_service_pb2.ClaimObjectivesRequest(
                    workspace_id=workspace_id, agent_id=agent_id, worker_id="w1"
                )
            ),
            "CreateApiKey": lambda: key_stub.CreateApiKey(_key_request(account_id)),
        }
        for name in allowed:
            calls[name]()
        for name in denied:
            with pytest.raises(grpc.RpcError) as caught:
                calls[name]()
            failure = failure_of(caught.value)
            assert failure.code == DENIED, name
            assert f"{role.lower()} role lacks" in failure.message, name


def test_scoped_key_reaches_only_its_workspace(
    keys, server, account_id, workspace_id, other_workspace_id
):
    key = _new_key(keys, account_id, access_pb2.ROLE_EDITOR, workspace_ids=[workspace_id])
    with _as(server, key.info.secret) as channel:
        assert _create_agent(channel, workspace_id).metadata.workspace_id == workspace_id
        workspaces = workspace_service_pb2_grpc.WorkspaceServiceStub(channel)
        got = workspaces.GetWorkspace(
            workspace_service_pb2.GetWorkspaceRequest(
                account_id=account_id, workspace_id=workspace_id
            )
        )
        assert got.id == workspace_id
        with pytest.raises(grpc.RpcError) as other:
            _create_agent(channel, other_workspace_id)
        with pytest.raises(grpc.RpcError) as account_level:
            _list_workspaces(channel, account_id)
    assert failure_of(other.value).code == DENIED
    assert other_workspace_id in failure_of(other.value).message
    assert failure_of(account_level.value).code == DENIED
    assert "every workspace" in failure_of(account_level.value).message


def test_another_accounts_admin_is_denied_everywhere(server, account_id, workspace_id, agent):
    other = server.tenancy.create_account("other")
    with _as(server, other.admin_key.info.secret) as channel:
        agents = agent_service_pb2_grpc.AgentServiceStub(channel)
        accounts = account_service_pb2_grpc.AccountServiceStub(channel)
        keys = api_key_service_pb2_grpc.ApiKeyServiceStub(channel)
        calls = [
            lambda: agents.GetAgent(
                agent_service_pb2.GetAgentRequest(
                    workspace_id=workspace_id, agent_id=agent.metadata.id
                )
            ),
            lambda: _create_agent(channel, workspace_id),
            lambda: accounts.GetAccount(
                account_service_pb2.GetAccountRequest(account_id=account_id)
            ),
            lambda: _list_workspaces(channel, account_id),
            lambda: keys.CreateApiKey(_key_request(account_id)),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert failure_of(caught.value).code == DENIED
        # Its own account still works.
        assert _list_workspaces(channel, other.account.id).workspaces[0].account_id == (
            other.account.id
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.spec.ClearField("role"), "spec.role"),
        (lambda r: r.spec.workspace_ids.append("ws_made_up"), "spec.workspace_ids[0]"),
        (lambda r: r.spec.expire_time.FromSeconds(1), "spec.expire_time"),
        (lambda r: r.metadata.ClearField("name"), "metadata.name"),
    ],
    ids=["no-role", "unknown-workspace", "expired", "no-name"],
)
def test_create_api_key_names_the_bad_field(keys, account_id, change, field):
    request = _key_request(account_id)
    change(request)
    failure = _failure(keys.CreateApiKey, request)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [field]


def test_create_api_key_refuses_an_expire_time_of_now(keys, account_id, clock):
    request = _key_request(account_id, expire_time=_timestamp(clock.now()))
    assert list(_failure(keys.CreateApiKey, request).violations) == ["spec.expire_time"]


def test_revoked_key_is_unauthenticated_and_revoking_again_keeps_the_time(
    keys, server, account_id, clock
):
    key = _new_key(keys, account_id)
    revoke = api_key_service_pb2.RevokeApiKeyRequest(
        account_id=account_id, api_key_id=key.metadata.id
    )
    with _as(server, key.info.secret) as channel:
        _list_workspaces(channel, account_id)  # cached as valid
        revoked_at = clock.now()
        first = keys.RevokeApiKey(revoke)
        # At once, well within the authenticator's cache TTL.
        with pytest.raises(grpc.RpcError) as caught:
            _list_workspaces(channel, account_id)
    clock.advance(timedelta(minutes=5))
    second = keys.RevokeApiKey(revoke)
    assert failure_of(caught.value).code == UNAUTHENTICATED
    assert "revoked" in failure_of(caught.value).message
    assert first.info.revoke_time.ToDatetime(tzinfo=UTC) == revoked_at
    assert second.info.revoke_time == first.info.revoke_time


def test_revoking_an_unknown_key_is_not_found(keys, account_id):
    failure = _failure(
        keys.RevokeApiKey,
        api_key_service_pb2.RevokeApiKeyRequest(account_id=account_id, api_key_id="key_nope"),
    )
    assert failure.code == grpc.StatusCode.NOT_FOUND


def test_expired_key_is_unauthenticated(keys, server, account_id, clock):
    expire = clock.now() + timedelta(hours=1)
    key = _new_key(keys, account_id, expire_time=_timestamp(expire))
    with _as(server, key.info.secret) as channel:
        _list_workspaces(channel, account_id)
        clock.advance(timedelta(hours=1))
        with pytest.raises(grpc.RpcError) as caught:
            _list_workspaces(channel, account_id)
    assert failure_of(caught.value).code == UNAUTHENTICATED
    assert "expired" in failure_of(caught.value).message


def test_agent_records_the_key_profile_that_created_it(keys, server, account_id, workspace_id):
    key = _new_key(keys, account_id, access_pb2.ROLE_EDITOR)
    with _as(server, key.info.secret) as channel:
        agent = _create_agent(channel, workspace_id)
        got = agent_service_pb2_grpc.AgentServiceStub(channel).GetAgent(
            agent_service_pb2.GetAgentRequest(workspace_id=workspace_id, agent_id=agent.metadata.id)
        )
    assert server.bootstrap.admin_key is not None
    assert key.info.key_profile_id != server.bootstrap.admin_key.info.key_profile_id
    assert got.metadata.profile_id == key.info.key_profile_id
    assert got.info.created_by.metadata.id == key.info.key_profile_id
    assert got.info.created_by.spec.type == profile_pb2.PROFILE_TYPE_API_KEY


# Profiles


def _profile_request(account_id, email="ada@example.com", **spec):
    return profile_service_pb2.CreateProfileRequest(
        account_id=account_id,
        metadata=metadata_pb2.CreateResourceMetadata(name="Ada"),
        spec=profile_pb2.ProfileSpec(email=email, **spec),
    )


def test_create_profile_makes_a_user_and_refuses_a_duplicate_email(profiles, account_id):
    created = profiles.CreateProfile(
        _profile_request(account_id, "Ada@Example.com", role=access_pb2.ROLE_VIEWER)
    )
    assert created.spec.type == profile_pb2.PROFILE_TYPE_USER
    assert created.spec.email == "ada@example.com"
    assert created.spec.role == access_pb2.ROLE_VIEWER
    got = profiles.GetProfile(
        profile_service_pb2.GetProfileRequest(account_id=account_id, profile_id=created.metadata.id)
    )
    assert got == created

    failure = _failure(profiles.CreateProfile, _profile_request(account_id, "ada@example.com"))
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("email", "spec", "field"),
    [
        ("bot@example.com", {"type": profile_pb2.PROFILE_TYPE_API_KEY}, "spec.type"),
        ("bot@example.com", {"type": profile_pb2.PROFILE_TYPE_SYSTEM}, "spec.type"),
        ("not-an-email", {}, "spec.email"),
        ("", {}, "spec.email"),
        ("a@example.com", {"workspace_ids": ["ws_made_up"]}, "spec.workspace_ids[0]"),
    ],
    ids=["api-key-type", "system-type", "bad-email", "no-email", "unknown-workspace"],
)
def test_create_profile_names_the_bad_field(profiles, account_id, email, spec, field):
    failure = _failure(profiles.CreateProfile, _profile_request(account_id, email, **spec))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failure.violations) == [field]


def test_update_profile_changes_grants_under_the_mask(
    profiles, account_id, workspace_id, other_workspace_id
):
    created = profiles.CreateProfile(
        _profile_request(account_id, role=access_pb2.ROLE_VIEWER, workspace_ids=[workspace_id])
    )
    updated = profiles.UpdateProfile(
        profile_service_pb2.UpdateProfileRequest(
            account_id=account_id,
            profile_id=created.metadata.id,
            metadata=metadata_pb2.CreateResourceMetadata(name="ignored"),
            spec=profile_pb2.ProfileSpec(
                role=access_pb2.ROLE_EDITOR, workspace_ids=[other_workspace_id]
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.role", "spec.workspace_ids"]),
        )
    )
    assert updated.spec.role == access_pb2.ROLE_EDITOR
    assert list(updated.spec.workspace_ids) == [other_workspace_id]
    assert updated.metadata.name == "Ada"
    assert updated.spec.email == "ada@example.com"


def test_update_profile_refuses_grants_on_an_api_key_profile(keys, profiles, account_id):
    key = _new_key(keys, account_id, access_pb2.ROLE_VIEWER)
    failure = _failure(
        profiles.UpdateProfile,
        profile_service_pb2.UpdateProfileRequest(
            account_id=account_id,
            profile_id=key.info.key_profile_id,
            spec=profile_pb2.ProfileSpec(role=access_pb2.ROLE_ADMIN),
            update_mask=field_mask_pb2.FieldMask(paths=["spec.role"]),
        ),
    )
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.role" in failure.violations
