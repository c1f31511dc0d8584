"""sundial.v1.AgentService."""

import grpc
from google.protobuf import empty_pb2

from sundial.api.converters import from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import page_request, update_mask_of
from sundial.domain.agents import Agent, AgentSpec
from sundial.domain.metadata import MetadataInput
from sundial.service.agents import AgentService
from sundial.v1 import agent_pb2, agent_service_pb2, agent_service_pb2_grpc


class AgentServicer(agent_service_pb2_grpc.AgentServiceServicer):
    def __init__(self, agents: AgentService, principal: PrincipalResolver) -> None:
        self._agents = agents
        self._principal = principal

    def CreateAgent(
        self, request: agent_service_pb2.CreateAgentRequest, context: grpc.ServicerContext
    ) -> agent_pb2.Agent:
        agent = self._agents.create(
            self._principal(context),
            request.workspace_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, AgentSpec, "spec"),
            request_id=request.request_id,
            validate_only=request.validate_only,
        )
        return agent_to_proto(agent)

    def GetAgent(
        self, request: agent_service_pb2.GetAgentRequest, context: grpc.ServicerContext
    ) -> agent_pb2.Agent:
        agent = self._agents.get(self._principal(context), request.workspace_id, request.agent_id)
        return agent_to_proto(agent)

    def ListAgents(
        self, request: agent_service_pb2.ListAgentsRequest, context: grpc.ServicerContext
    ) -> agent_service_pb2.ListAgentsResponse:
        page = self._agents.list_agents(
            self._principal(context), request.workspace_id, page_request(request)
        )
        return agent_service_pb2.ListAgentsResponse(
            agents=[agent_to_proto(agent) for agent in page.items],
            next_page_token=page.next_page_token,
        )

    def UpdateAgent(
        self, request: agent_service_pb2.UpdateAgentRequest, context: grpc.ServicerContext
    ) -> agent_pb2.Agent:
        agent = self._agents.update(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, AgentSpec, "spec"),
            update_mask=update_mask_of(request.update_mask),
            etag=request.etag,
        )
        return agent_to_proto(agent)

    def DeleteAgent(
        self, request: agent_service_pb2.DeleteAgentRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._agents.delete(
            self._principal(context),
            request.workspace_id,
            request.agent_id,
            etag=request.etag,
            force=request.force,
        )
        return empty_pb2.Empty()


def agent_to_proto(agent: Agent) -> agent_pb2.Agent:
    return to_proto(agent, agent_pb2.Agent())
