"""Chain use cases (sundial.v1.ChainService's Create/Get/List/Update/Delete): the chains of
a workspace. Starting, listing and cancelling runs is service/chain_runs.py's
(`ChainRunService`, the signatures in domain/chains.py's docstring).

A chain's spec is checked whole on every write (service/chain_checks.py): its nodes' agents
and schedules must be in the workspace, so a chain that names a deleted agent is refused
when it is written, not when a run reaches that node."""

import logging
from dataclasses import replace
from typing import Any, Protocol

from sundial.domain.agents import AgentSpec
from sundial.domain.chains import Chain, ChainInfo, ChainRun, ChainSpec
from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.service.chain_checks import NodeTargets, check_chain_references, check_chain_spec
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.listing import page_of, prepare_query
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import require_workspace
from sundial.service.updates import Writable, check_etag, merge_update, new_metadata
from sundial.service.validation import Violations, check_metadata, check_request_id
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

logger = logging.getLogger("sundial.chains")

_FILTERABLE = {"name": None, "external_id": None, "bundle_key": None}


class ChainRuns(Protocol):
    """The run use cases the servicer calls (service/chain_runs.py's ChainRunService);
    `chain_id` "-" means every chain of the workspace for `list`, `get` and `cancel`."""

    def trigger(
        self,
        principal: Principal,
        workspace_id: str,
        chain_id: str,
        *,
        request_id: str = "",
        data: Any = None,
    ) -> ChainRun: ...

    def list(
        self, principal: Principal, workspace_id: str, chain_id: str, request: PageRequest
    ) -> Page[ChainRun]: ...

    def get(
        self, principal: Principal, workspace_id: str, chain_id: str, run_id: str
    ) -> ChainRun: ...

    def cancel(
        self,
        principal: Principal,
        workspace_id: str,
        chain_id: str,
        run_id: str,
        *,
        reason: str = "",
    ) -> ChainRun: ...


class ChainService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        metadata: MetadataInput,
        spec: ChainSpec,
        *,
        request_id: str = "",
        validate_only: bool = False,
    ) -> Chain:
        _check(metadata, spec, request_id)
        if validate_only:
            with UnitOfWork(self._database, write=False) as uow:
                require_workspace(uow, principal, workspace_id)
                _check_references(uow, workspace_id, spec)
            return Chain(
                metadata=new_metadata(principal, workspace_id, "", metadata, self._clock.now()),
                spec=spec,
                info=ChainInfo(),
            )
        key = request_key(workspace_id, "CreateChain", request_id, metadata, spec)
        return create_or_replay(
            key, lambda: self._create_once(principal, key, workspace_id, metadata, spec)
        )

    def _create_once(
        self,
        principal: Principal,
        key: RequestKey,
        workspace_id: str,
        metadata: MetadataInput,
        spec: ChainSpec,
    ) -> Chain:
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return require_chain(uow, principal, workspace_id, replayed_id)
            require_workspace(uow, principal, workspace_id)
            _check_references(uow, workspace_id, spec)
            chain_id = new_id(IdPrefix.CHAIN)
            now = self._clock.now()
            uow.chains.add(
                Chain(
                    metadata=new_metadata(principal, workspace_id, chain_id, metadata, now),
                    spec=spec,
                )
            )
            record_request(uow, self._clock, key, chain_id)
            created = require_chain(uow, principal, workspace_id, chain_id)
            uow.commit()
        logger.info(
            "chain %s created in workspace %s by %s (%d nodes, %d edges)",
            chain_id,
            workspace_id,
            principal.profile_id,
            len(spec.nodes),
            len(spec.edges),
        )
        return created

    def get(self, principal: Principal, workspace_id: str, chain_id: str) -> Chain:
        with UnitOfWork(self._database, write=False) as uow:
            return require_chain(uow, principal, workspace_id, chain_id)

    def list_chains(
        self, principal: Principal, workspace_id: str, request: PageRequest
    ) -> Page[Chain]:
        prepared = prepare_query(request, _FILTERABLE, scope=("chains", workspace_id))
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            return page_of(prepared, uow.chains.list(workspace_id, prepared.query))

    def update(
        self,
        principal: Principal,
        workspace_id: str,
        chain_id: str,
        metadata: MetadataInput,
        spec: ChainSpec,
        *,
        update_mask: list[str] | None,
        etag: str = "",
        validate_only: bool = False,
    ) -> Chain:
        """Runs already started keep the spec they snapshotted."""
        with UnitOfWork(self._database, write=not validate_only) as uow:
            current = require_chain(
                uow, principal, workspace_id, chain_id, for_update=not validate_only
            )
            check_etag(current.metadata, etag)
            updated = merge_update(
                Writable.of(current.metadata, current.spec), Writable(metadata, spec), update_mask
            )
            _check(updated.metadata, updated.spec)
            _check_references(uow, workspace_id, updated.spec)
            chain = replace(
                current,
                metadata=updated.apply_to(current.metadata, self._clock.now()),
                spec=updated.spec,
            )
            if validate_only:
                return chain
            uow.chains.update(chain)
            changed = require_chain(uow, principal, workspace_id, chain_id)
            uow.commit()
        return changed

    def delete(
        self, principal: Principal, workspace_id: str, chain_id: str, *, etag: str = ""
    ) -> None:
        with UnitOfWork(self._database, write=True) as uow:
            chain = require_chain(uow, principal, workspace_id, chain_id, for_update=True)
            check_etag(chain.metadata, etag)
            if chain.info.schedule_ids:
                raise FailedPreconditionError(
                    f"chain {chain_id!r} is fired by schedule(s) "
                    f"{', '.join(chain.info.schedule_ids)}; change or delete them first",
                    reason="CHAIN_IN_USE",
                )
            if uow.chains.has_running_runs(chain_id):
                raise FailedPreconditionError(
                    f"chain {chain_id!r} has a RUNNING run; cancel it or let it end first",
                    reason="CHAIN_RUNNING",
                )
            uow.chains.delete(workspace_id, chain_id)
            uow.commit()
        logger.info("chain %s deleted by %s", chain_id, principal.profile_id)


def require_chain(
    uow: UnitOfWork,
    principal: Principal,
    workspace_id: str,
    chain_id: str,
    *,
    for_update: bool = False,
) -> Chain:
    """The chain, if it exists in a workspace of the principal's account; NOT_FOUND
    otherwise."""
    require_workspace(uow, principal, workspace_id)
    chain = uow.chains.get(workspace_id, chain_id, for_update=for_update)
    if chain is None:
        raise NotFoundError("chain", chain_id)
    return chain


def refuse_if_in_chains(
    uow: UnitOfWork, workspace_id: str, *, agent_id: str = "", schedule_id: str = ""
) -> None:
    """FAILED_PRECONDITION when a chain's node runs the agent (or one of its schedules,
    which deleting the agent removes) or the schedule: the chain was checked against them
    when written, and a run would reach a node that cannot start."""
    if agent_id:
        chain_ids = uow.chains.naming_agent(workspace_id, agent_id)
        what, reason = f"agent {agent_id!r} (or one of its schedules)", "AGENT_IN_CHAIN"
    else:
        chain_ids = uow.chains.naming(workspace_id, [schedule_id])
        what, reason = f"schedule {schedule_id!r}", "SCHEDULE_IN_CHAIN"
    if chain_ids:
        raise FailedPreconditionError(
            f"{what} is run by a node of chain(s) {', '.join(chain_ids)}; change or delete "
            "them first",
            reason=reason,
        )


def _check(metadata: MetadataInput, spec: ChainSpec, request_id: str = "") -> None:
    violations = Violations()
    check_metadata(violations, metadata)
    check_request_id(violations, request_id)
    check_chain_spec(violations, spec)
    violations.raise_if_any()


def _check_references(uow: UnitOfWork, workspace_id: str, spec: ChainSpec) -> None:
    """INVALID_ARGUMENT naming every node whose agent or schedule is not in the workspace
    (or whose variation is not its agent's)."""
    schedule_ids = sorted({node.schedule_id for node in spec.nodes if node.schedule_id})
    schedule_agents = {
        schedule.metadata.id: schedule.info.agent_id
        for schedule in uow.schedules.get_many(workspace_id, schedule_ids)
    }
    agents: dict[str, AgentSpec] = {}
    for agent_id in {node.agent_id for node in spec.nodes if node.agent_id} | set(
        schedule_agents.values()
    ):
        agent = uow.agents.spec_of(workspace_id, agent_id)
        if agent is not None:
            agents[agent_id] = agent
    violations = Violations()
    check_chain_references(violations, spec, NodeTargets(agents, schedule_agents))
    violations.raise_if_any()
