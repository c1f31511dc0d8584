"""Agent use cases. A PUSH agent's signing secret is the user's (spec.push.secret) or,
when none was given, one the server makes and returns once, in info.push_secret of the
answer of the call that made it; later reads show only info.push_secret_hint."""

from dataclasses import replace

from sundial.domain.agents import Agent, AgentSpec
from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.metadata import MetadataInput
from sundial.domain.principals import Principal
from sundial.service.chains import refuse_if_in_chains
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.listing import page_of, prepare_query
from sundial.service.pagination import PageRequest
from sundial.service.push_targets import check_push
from sundial.service.tenancy import require_workspace
from sundial.service.updates import Writable, check_etag, merge_update, new_metadata
from sundial.service.validation import (
    Violations,
    check_agent_spec,
    check_delivery_webhooks,
    check_metadata,
    check_request_id,
    named_webhooks,
)
from sundial.service.webhook_signing import generate_secret
from sundial.store.database import Database
from sundial.store.repositories.agents import without_secret
from sundial.store.unit_of_work import UnitOfWork

_FILTERABLE = {"name": None, "external_id": None, "bundle_key": None}


class AgentService:
    def __init__(
        self, database: Database, clock: Clock, *, allow_private_push_targets: bool = False
    ) -> None:
        """`allow_private_push_targets`: push URLs may be http and name private, loopback
        or link-local addresses (the server's --allow-private-webhook-targets)."""
        self._database = database
        self._clock = clock
        self._allow_private = allow_private_push_targets

    def _check_spec(self, violations: Violations, spec: AgentSpec) -> None:
        check_agent_spec(violations, spec)
        check_push(violations, spec, allow_private=self._allow_private)

    def create(
        self,
        principal: Principal,
        workspace_id: str,
        metadata: MetadataInput,
        spec: AgentSpec,
        *,
        request_id: str = "",
        validate_only: bool = False,
    ) -> Agent:
        violations = Violations()
        check_metadata(violations, metadata)
        self._check_spec(violations, spec)
        check_request_id(violations, request_id)
        if violations.items or validate_only:
            # Every problem at once: the webhooks the deliveries name are looked up too.
            with UnitOfWork(self._database, write=False) as uow:
                require_workspace(uow, principal, workspace_id)
                _check_webhooks(uow, workspace_id, spec, violations)
        violations.raise_if_any()

        if validate_only:
            now = self._clock.now()
            return Agent(
                metadata=new_metadata(principal, workspace_id, "", metadata, now),
                spec=without_secret(spec),
            )

        key = request_key(workspace_id, "CreateAgent", request_id, metadata, spec)
        return create_or_replay(
            key, lambda: self._create_once(principal, key, workspace_id, metadata, spec)
        )

    def _create_once(
        self,
        principal: Principal,
        key: RequestKey,
        workspace_id: str,
        metadata: MetadataInput,
        spec: AgentSpec,
    ) -> Agent:
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return require_agent(uow, principal, workspace_id, replayed_id)
            require_workspace(uow, principal, workspace_id)
            violations = Violations()
            _check_webhooks(uow, workspace_id, spec, violations)
            violations.raise_if_any()
            agent_id = new_id(IdPrefix.AGENT)
            now = self._clock.now()
            given = spec.push.secret if spec.push is not None else ""
            secret = (given or generate_secret()) if spec.pushed else ""
            uow.agents.add(
                Agent(
                    metadata=new_metadata(principal, workspace_id, agent_id, metadata, now),
                    spec=spec,
                ),
                push_secret=secret,
            )
            record_request(uow, self._clock, key, agent_id)
            # Answered as a Get will read it.
            created = require_agent(uow, principal, workspace_id, agent_id)
            uow.commit()
        return _with_made_secret(created, secret if secret != given else "")

    def get(self, principal: Principal, workspace_id: str, agent_id: str) -> Agent:
        with UnitOfWork(self._database, write=False) as uow:
            return require_agent(uow, principal, workspace_id, agent_id)

    def list_agents(
        self, principal: Principal, workspace_id: str, request: PageRequest
    ) -> Page[Agent]:
        prepared = prepare_query(request, _FILTERABLE, scope=("agents", workspace_id))
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            return page_of(prepared, uow.agents.list(workspace_id, prepared.query))

    def update(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        metadata: MetadataInput,
        spec: AgentSpec,
        *,
        update_mask: list[str] | None,
        etag: str = "",
    ) -> Agent:
        with UnitOfWork(self._database, write=True) as uow:
            current = require_agent(uow, principal, workspace_id, agent_id, for_update=True)
            check_etag(current.metadata, etag)
            updated = merge_update(
                Writable.of(current.metadata, current.spec),
                Writable(metadata, spec),
                update_mask,
            )
            violations = Violations()
            check_metadata(violations, updated.metadata)
            self._check_spec(violations, updated.spec)
            _check_webhooks(uow, workspace_id, updated.spec, violations)
            violations.raise_if_any()
            agent = replace(
                current,
                metadata=updated.apply_to(current.metadata, self._clock.now()),
                spec=updated.spec,
            )
            secret, made = _secret_after_update(current, updated.spec)
            uow.agents.update(agent, push_secret=secret)
            uow.commit()
        return _with_made_secret(self.get(principal, workspace_id, agent_id), made)

    def delete(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        *,
        etag: str = "",
        force: bool = False,
    ) -> None:
        with UnitOfWork(self._database, write=True) as uow:
            agent = require_agent(uow, principal, workspace_id, agent_id, for_update=True)
            check_etag(agent.metadata, etag)
            if agent.info.schedule_count and not force:
                raise FailedPreconditionError(
                    f"agent {agent_id!r} still has {agent.info.schedule_count} schedule(s); "
                    "delete them first or set force to delete them with the agent",
                    reason="AGENT_HAS_SCHEDULES",
                )
            refuse_if_in_chains(uow, workspace_id, agent_id=agent_id)
            uow.agents.delete(workspace_id, agent_id)
            uow.commit()


def _secret_after_update(current: Agent, spec: AgentSpec) -> tuple[str | None, str]:
    """The push secret to store (None: keep the stored one) and the one the server made
    ("" when it made none). A PUSH agent keeps its secret unless the update gives a new one;
    it gets one when it becomes PUSH without; a PULL agent has none."""
    if not spec.pushed:
        return "", ""
    given = spec.push.secret if spec.push is not None else ""
    if given:
        return given, ""
    if current.info.push_secret_hint:
        return None, ""
    made = generate_secret()
    return made, made


def _with_made_secret(agent: Agent, secret: str) -> Agent:
    if not secret:
        return agent
    return replace(agent, info=replace(agent.info, push_secret=secret))


def _check_webhooks(
    uow: UnitOfWork, workspace_id: str, spec: AgentSpec, violations: Violations
) -> None:
    """The webhooks the agent's deliveries name exist in its workspace."""
    existing = uow.outbox.webhook_ids_in(workspace_id, named_webhooks(spec.deliveries))
    check_delivery_webhooks(violations, spec.deliveries, existing)


def require_agent(
    uow: UnitOfWork,
    principal: Principal,
    workspace_id: str,
    agent_id: str,
    *,
    for_update: bool = False,
) -> Agent:
    """The agent, if it exists in a workspace of the principal's account; NOT_FOUND otherwise."""
    require_workspace(uow, principal, workspace_id)
    agent = uow.agents.get(workspace_id, agent_id, for_update=for_update)
    if agent is None:
        raise NotFoundError("agent", agent_id)
    return agent


def require_agent_spec(
    uow: UnitOfWork, principal: Principal, workspace_id: str, agent_id: str
) -> AgentSpec:
    """Only the agent's spec, for checking a schedule against its variations; NOT_FOUND as
    require_agent. Cheaper: no creator, no count of schedules."""
    require_workspace(uow, principal, workspace_id)
    spec = uow.agents.spec_of(workspace_id, agent_id)
    if spec is None:
        raise NotFoundError("agent", agent_id)
    return spec
