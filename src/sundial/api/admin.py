"""The admin API: sundial.v1.AccountService, WorkspaceService, ProfileService and
ApiKeyService. The auth interceptor has already checked that the caller is an admin of
the request's account (or, for reads, may read it)."""

import grpc

from sundial.api.converters import from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import page_request_of, update_mask_of
from sundial.domain.metadata import MetadataInput
from sundial.domain.tenancy import ApiKey, ApiKeySpec, Profile, ProfileSpec
from sundial.service.api_keys import ApiKeyService
from sundial.service.profiles import ProfileService
from sundial.service.tenancy import TenancyService
from sundial.v1 import (
    account_pb2,
    account_service_pb2,
    account_service_pb2_grpc,
    api_key_pb2,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    profile_pb2,
    profile_service_pb2,
    profile_service_pb2_grpc,
    workspace_service_pb2,
    workspace_service_pb2_grpc,
)


class AccountServicer(account_service_pb2_grpc.AccountServiceServicer):
    def __init__(self, tenancy: TenancyService, principal: PrincipalResolver) -> None:
        self._tenancy = tenancy
        self._principal = principal

    def GetAccount(
        self, request: account_service_pb2.GetAccountRequest, context: grpc.ServicerContext
    ) -> account_pb2.Account:
        account = self._tenancy.get_account(self._principal(context), request.account_id)
        return to_proto(account, account_pb2.Account())


class WorkspaceServicer(workspace_service_pb2_grpc.WorkspaceServiceServicer):
    def __init__(self, tenancy: TenancyService, principal: PrincipalResolver) -> None:
        self._tenancy = tenancy
        self._principal = principal

    def CreateWorkspace(
        self,
        request: workspace_service_pb2.CreateWorkspaceRequest,
        context: grpc.ServicerContext,
    ) -> account_pb2.Workspace:
        workspace = self._tenancy.create_workspace(
            self._principal(context), request.workspace.name, request.request_id
        )
        return to_proto(workspace, account_pb2.Workspace())

    def GetWorkspace(
        self, request: workspace_service_pb2.GetWorkspaceRequest, context: grpc.ServicerContext
    ) -> account_pb2.Workspace:
        workspace = self._tenancy.get_workspace(self._principal(context), request.workspace_id)
        return to_proto(workspace, account_pb2.Workspace())

    def ListWorkspaces(
        self,
        request: workspace_service_pb2.ListWorkspacesRequest,
        context: grpc.ServicerContext,
    ) -> workspace_service_pb2.ListWorkspacesResponse:
        page = self._tenancy.list_workspaces(
            self._principal(context), page_request_of(request.page_size, request.page_token, "")
        )
        return workspace_service_pb2.ListWorkspacesResponse(
            workspaces=[to_proto(w, account_pb2.Workspace()) for w in page.items],
            next_page_token=page.next_page_token,
        )


class ProfileServicer(profile_service_pb2_grpc.ProfileServiceServicer):
    def __init__(self, profiles: ProfileService, principal: PrincipalResolver) -> None:
        self._profiles = profiles
        self._principal = principal

    def CreateProfile(
        self, request: profile_service_pb2.CreateProfileRequest, context: grpc.ServicerContext
    ) -> profile_pb2.Profile:
        profile = self._profiles.create(
            self._principal(context),
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, ProfileSpec, "spec"),
            request_id=request.request_id,
        )
        return _profile_to_proto(profile)

    def GetProfile(
        self, request: profile_service_pb2.GetProfileRequest, context: grpc.ServicerContext
    ) -> profile_pb2.Profile:
        return _profile_to_proto(self._profiles.get(self._principal(context), request.profile_id))

    def ListProfiles(
        self, request: profile_service_pb2.ListProfilesRequest, context: grpc.ServicerContext
    ) -> profile_service_pb2.ListProfilesResponse:
        page = self._profiles.list_profiles(
            self._principal(context), page_request_of(request.page_size, request.page_token, "")
        )
        return profile_service_pb2.ListProfilesResponse(
            profiles=[_profile_to_proto(p) for p in page.items],
            next_page_token=page.next_page_token,
        )

    def UpdateProfile(
        self, request: profile_service_pb2.UpdateProfileRequest, context: grpc.ServicerContext
    ) -> profile_pb2.Profile:
        profile = self._profiles.update(
            self._principal(context),
            request.profile_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, ProfileSpec, "spec"),
            update_mask=update_mask_of(request.update_mask),
        )
        return _profile_to_proto(profile)


class ApiKeyServicer(api_key_service_pb2_grpc.ApiKeyServiceServicer):
    def __init__(self, keys: ApiKeyService, principal: PrincipalResolver) -> None:
        self._keys = keys
        self._principal = principal

    def CreateApiKey(
        self, request: api_key_service_pb2.CreateApiKeyRequest, context: grpc.ServicerContext
    ) -> api_key_pb2.ApiKey:
        key = self._keys.create(
            self._principal(context),
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, ApiKeySpec, "spec"),
            request_id=request.request_id,
        )
        return _key_to_proto(key)

    def GetApiKey(
        self, request: api_key_service_pb2.GetApiKeyRequest, context: grpc.ServicerContext
    ) -> api_key_pb2.ApiKey:
        return _key_to_proto(self._keys.get(self._principal(context), request.api_key_id))

    def ListApiKeys(
        self, request: api_key_service_pb2.ListApiKeysRequest, context: grpc.ServicerContext
    ) -> api_key_service_pb2.ListApiKeysResponse:
        page = self._keys.list_keys(
            self._principal(context), page_request_of(request.page_size, request.page_token, "")
        )
        return api_key_service_pb2.ListApiKeysResponse(
            api_keys=[_key_to_proto(k) for k in page.items], next_page_token=page.next_page_token
        )

    def RevokeApiKey(
        self, request: api_key_service_pb2.RevokeApiKeyRequest, context: grpc.ServicerContext
    ) -> api_key_pb2.ApiKey:
        return _key_to_proto(self._keys.revoke(self._principal(context), request.api_key_id))


def _profile_to_proto(profile: Profile) -> profile_pb2.Profile:
    return to_proto(profile, profile_pb2.Profile())


def _key_to_proto(key: ApiKey) -> api_key_pb2.ApiKey:
    return to_proto(key, api_key_pb2.ApiKey())
