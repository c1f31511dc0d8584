"""sundial.v1.ChainService: chains (service/chains.py) and their runs (a ChainRuns: the run
service of service/chain_runs.py)."""

import grpc
from google.protobuf import empty_pb2

from sundial.api.converters import from_proto, json_from_proto, to_proto
from sundial.api.principal import PrincipalResolver
from sundial.api.requests import page_request_of, update_mask_of
from sundial.domain.chains import Chain, ChainRun, ChainSpec
from sundial.domain.metadata import MetadataInput
from sundial.service.chains import ChainRuns, ChainService
from sundial.v1 import chain_pb2, chain_service_pb2, chain_service_pb2_grpc

pb = chain_service_pb2


class ChainServicer(chain_service_pb2_grpc.ChainServiceServicer):
    def __init__(self, chains: ChainService, runs: ChainRuns, principal: PrincipalResolver) -> None:
        self._chains = chains
        self._runs = runs
        self._principal = principal

    def CreateChain(
        self, request: pb.CreateChainRequest, context: grpc.ServicerContext
    ) -> chain_pb2.Chain:
        chain = self._chains.create(
            self._principal(context),
            request.workspace_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, ChainSpec, "spec"),
            request_id=request.request_id,
            validate_only=request.validate_only,
        )
        return chain_to_proto(chain)

    def GetChain(
        self, request: pb.GetChainRequest, context: grpc.ServicerContext
    ) -> chain_pb2.Chain:
        chain = self._chains.get(self._principal(context), request.workspace_id, request.chain_id)
        return chain_to_proto(chain)

    def ListChains(
        self, request: pb.ListChainsRequest, context: grpc.ServicerContext
    ) -> pb.ListChainsResponse:
        page = self._chains.list_chains(
            self._principal(context),
            request.workspace_id,
            page_request_of(request.page_size, request.page_token, request.filter),
        )
        return pb.ListChainsResponse(
            chains=[chain_to_proto(chain) for chain in page.items],
            next_page_token=page.next_page_token,
        )

    def UpdateChain(
        self, request: pb.UpdateChainRequest, context: grpc.ServicerContext
    ) -> chain_pb2.Chain:
        chain = self._chains.update(
            self._principal(context),
            request.workspace_id,
            request.chain_id,
            from_proto(request.metadata, MetadataInput, "metadata"),
            from_proto(request.spec, ChainSpec, "spec"),
            update_mask=update_mask_of(request.update_mask),
            etag=request.etag,
            validate_only=request.validate_only,
        )
        return chain_to_proto(chain)

    def DeleteChain(
        self, request: pb.DeleteChainRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._chains.delete(
            self._principal(context), request.workspace_id, request.chain_id, etag=request.etag
        )
        return empty_pb2.Empty()

    def TriggerChain(
        self, request: pb.TriggerChainRequest, context: grpc.ServicerContext
    ) -> chain_pb2.ChainRun:
        run = self._runs.trigger(
            self._principal(context),
            request.workspace_id,
            request.chain_id,
            request_id=request.request_id,
            data=json_from_proto(request.data) if request.HasField("data") else None,
        )
        return chain_run_to_proto(run)

    def ListChainRuns(
        self, request: pb.ListChainRunsRequest, context: grpc.ServicerContext
    ) -> pb.ListChainRunsResponse:
        page = self._runs.list(
            self._principal(context),
            request.workspace_id,
            request.chain_id,
            page_request_of(request.page_size, request.page_token, request.filter),
        )
        return pb.ListChainRunsResponse(
            runs=[chain_run_to_proto(run) for run in page.items],
            next_page_token=page.next_page_token,
        )

    def GetChainRun(
        self, request: pb.GetChainRunRequest, context: grpc.ServicerContext
    ) -> chain_pb2.ChainRun:
        run = self._runs.get(
            self._principal(context), request.workspace_id, request.chain_id, request.run_id
        )
        return chain_run_to_proto(run)

    def CancelChainRun(
        self, request: pb.CancelChainRunRequest, context: grpc.ServicerContext
    ) -> chain_pb2.ChainRun:
        run = self._runs.cancel(
            self._principal(context),
            request.workspace_id,
            request.chain_id,
            request.run_id,
            reason=request.reason,
        )
        return chain_run_to_proto(run)


def chain_to_proto(chain: Chain) -> chain_pb2.Chain:
    return to_proto(chain, chain_pb2.Chain())


def chain_run_to_proto(run: ChainRun) -> chain_pb2.ChainRun:
    return to_proto(run, chain_pb2.ChainRun())
