"""A chain run's steps, each inside the transaction of the change that causes it: a run's
start (a trigger, or a schedule's fire) creates the roots' objectives; an objective's final
end (complete, fail after retries, timeout, cancel) resolves its node's edges and creates
the objectives of the nodes that become ready. Committing that transaction commits the end
and the next steps together, so a crash can neither lose a step nor make one twice: a node
leaves WAITING once (ChainRunRepository.start_node), and its first objective has the fire
key (run, node) besides.

Every step locks the run's row first, so the ends of two upstream nodes of one fan-in are
applied one after the other, and the second sees the first. The rules themselves are pure
(domain/chain_steps.py); this module reads and writes what they decide."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sundial.domain.agents import choose_variation
from sundial.domain.chain_steps import (
    StepEdge,
    StepNode,
    next_steps,
    node_status_of,
    resolve_edges,
)
from sundial.domain.chains import (
    CONDITION_VARIABLES,
    Chain,
    ChainNode,
    ChainNodeStatus,
    ChainRun,
    ChainRunSpec,
    ChainRunStatus,
    ChainSpec,
    ChainTriggerKind,
)
from sundial.domain.conditions import compile_condition
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.objectives import Objective, ObjectiveStatus, TriggerKind
from sundial.domain.schedules import OverlapPolicy, RetryPolicy
from sundial.domain.webhooks import EventType
from sundial.service.outbox import Outbox, OutboxReport
from sundial.store.firing import new_objective_row
from sundial.store.repositories.agents import AgentRepository
from sundial.store.repositories.chain_runs import ChainRunRepository, NewRun
from sundial.store.repositories.chains import ChainRepository
from sundial.store.repositories.objectives import ObjectiveRepository
from sundial.store.repositories.outbox import OutboxRepository
from sundial.store.repositories.schedules import ScheduleRepository

logger = logging.getLogger("sundial.chains")

# How a run's end is announced (a cancelled run has no event type of its own).
_ENDED_EVENTS = {
    ChainRunStatus.SUCCEEDED: EventType.CHAIN_RUN_SUCCEEDED,
    ChainRunStatus.FAILED: EventType.CHAIN_RUN_FAILED,
}


class ChainWork(Protocol):
    """What the steps read and write with: a UnitOfWork, or the firing pass's JoinedWork."""

    agents: AgentRepository
    schedules: ScheduleRepository
    objectives: ObjectiveRepository
    outbox: OutboxRepository
    chains: ChainRepository
    chain_runs: ChainRunRepository


@dataclass(slots=True)
class StepReport:
    """What a step did, for the caller to act on once its transaction committed: the
    agents that got objectives (to wake their workers) and the outbox's decisions."""

    agent_ids: set[str] = field(default_factory=set)
    outbox: OutboxReport = field(default_factory=OutboxReport)
    run_id: str = ""  # the run a start made (or found), "" when it did not start one
    skipped_reason: str = ""  # why a start made no run (the overlap policy)

    def merge(self, other: "StepReport") -> None:
        self.agent_ids |= other.agent_ids
        self.outbox.merge(other.outbox)


@dataclass(frozen=True, slots=True)
class RunStart:
    """What starts a run: by hand (MANUAL, `request_key` from the request id) or by a
    schedule's fire (SCHEDULED, the key names the fire)."""

    trigger_kind: ChainTriggerKind
    scheduled_time: datetime
    request_key: str
    profile_id: str
    schedule_id: str = ""
    data: Any = None


class ChainSteps:
    def __init__(self, outbox: Outbox | None = None) -> None:
        self._outbox = outbox or Outbox()

    # --- starting a run -------------------------------------------------------------------

    def start(self, work: ChainWork, chain: Chain, start: RunStart, now: datetime) -> StepReport:
        """Starts a run of `chain` (whose row the caller locked, so that two starts decide
        its overlap policy one after the other) unless the policy says no; a start whose
        request key made a run already gives that run's id and changes nothing."""
        report = StepReport(outbox=OutboxReport())
        chain_id = chain.metadata.id
        existing = work.chain_runs.find_by_request(chain_id, start.request_key)
        if existing is not None:
            report.run_id = existing
            return report
        policy = chain.spec.overlap_policy
        in_flight = work.chain_runs.in_flight_ids(chain_id)
        if in_flight and policy in (OverlapPolicy.UNSPECIFIED, OverlapPolicy.SKIP):
            report.skipped_reason = f"run {in_flight[-1]} of the chain is still running"
            return report
        if in_flight and policy is OverlapPolicy.CANCEL_OTHER:
            for other in in_flight:
                run = work.chain_runs.get(chain.metadata.workspace_id, other, for_update=True)
                if run is not None:
                    report.merge(
                        self.cancel(work, run, "cancelled by a newer run (CANCEL_OTHER)", now)
                    )
        run_id = new_id(IdPrefix.CHAIN_RUN)
        spec = ChainRunSpec(
            chain_id=chain_id,
            trigger_kind=start.trigger_kind,
            schedule_id=start.schedule_id,
            scheduled_time=start.scheduled_time,
            chain_etag=chain.metadata.etag,
            chain_spec=chain.spec,
            data=start.data,
        )
        work.chain_runs.insert(
            NewRun(
                run_id=run_id,
                account_id=chain.metadata.account_id,
                workspace_id=chain.metadata.workspace_id,
                chain_id=chain_id,
                profile_id=start.profile_id,
                trigger_kind=start.trigger_kind.name,
                schedule_id=start.schedule_id,
                scheduled_time=start.scheduled_time,
                request_key=start.request_key,
                spec=spec,
                node_names=[node.name for node in chain.spec.nodes],
            ),
            now,
        )
        work.chains.note_run(chain_id, run_id)
        report.run_id = run_id
        run = work.chain_runs.get(chain.metadata.workspace_id, run_id)
        assert run is not None
        report.outbox.merge(self._announce(work, run, EventType.CHAIN_RUN_STARTED, now))
        report.merge(self._advance(work, run, now))
        return report

    # --- an objective's end ---------------------------------------------------------------

    def objective_ended(
        self, work: ChainWork, objective: Objective, status: ObjectiveStatus, now: datetime
    ) -> StepReport:
        """The final end of a chain node's objective (no retry follows): its node ends, its
        edges resolve, and the nodes that become ready start, in the caller's transaction."""
        report = StepReport()
        run = self._locked_run(work, objective)
        if run is None:
            return report
        name = objective.spec.chain_node
        node = next((n for n in run.info.nodes if n.name == name), None)
        if (
            node is None
            or node.status is not ChainNodeStatus.RUNNING
            or node.objective_ids[-1:] != (objective.metadata.id,)
        ):
            return report
        run_id = run.metadata.id
        work.chain_runs.end_node(run_id, name, node_status_of(status), status, now)
        ended = work.objectives.get(objective.metadata.workspace_id, objective.metadata.id)
        if ended is not None:
            # Conditions that could not be decided, kept on the nodes they did not start.
            resolution = resolve_edges(
                step_edges(run.spec.chain_spec),
                name,
                status,
                ended.info.output,
                ended.spec.data or {},
            )
            for downstream, error in resolution.errors.items():
                work.chain_runs.note_error(run_id, downstream, error, now)
                _log_step_error(run, downstream, error)
        return self._advance(work, run, now)

    def objective_retried(
        self, work: ChainWork, objective: Objective, retry_id: str, now: datetime
    ) -> None:
        """A retry of a node's objective joined the node (which stays RUNNING)."""
        run = self._locked_run(work, objective)
        if run is None:
            return
        for node in run.info.nodes:
            if node.name == objective.spec.chain_node:
                work.chain_runs.add_attempt(
                    run.metadata.id, node.name, (*node.objective_ids, retry_id), now
                )

    def retry_policy(self, work: ChainWork, objective: Objective) -> RetryPolicy | None:
        """The retry policy of a node's objective: its node's schedule's (a node that names
        an agent only is not retried)."""
        if not objective.spec.chain_run_id:
            return None
        run = work.chain_runs.get(objective.metadata.workspace_id, objective.spec.chain_run_id)
        if run is None:
            return None
        node = _node_named(run.spec.chain_spec, objective.spec.chain_node)
        if node is None or not node.schedule_id:
            return None
        schedule = work.schedules.get(objective.metadata.workspace_id, node.schedule_id)
        return None if schedule is None else schedule.spec.retry_policy

    # --- cancelling -----------------------------------------------------------------------

    def cancel(self, work: ChainWork, run: ChainRun, reason: str, now: datetime) -> StepReport:
        """Cancels a RUNNING run (locked by the caller): its in-flight objectives are
        cancelled as CancelObjective would, and no node starts any more."""
        report = StepReport()
        run_id, workspace_id = run.metadata.id, run.metadata.workspace_id
        running = [n for n in run.info.nodes if n.status is ChainNodeStatus.RUNNING]
        ids = [n.objective_ids[-1] for n in running if n.objective_ids]
        # The run ends first, so that no objective's end (below) starts a node.
        work.chain_runs.end_run(run_id, ChainRunStatus.CANCELLED, now)
        work.objectives.cancel(ids, now, reason or "the chain run was cancelled")
        for node in running:
            work.chain_runs.end_node(
                run_id, node.name, ChainNodeStatus.CANCELLED, ObjectiveStatus.CANCELLED, now
            )
        waiting = [n.name for n in run.info.nodes if n.status is ChainNodeStatus.WAITING]
        work.chain_runs.skip_nodes(run_id, waiting, ChainNodeStatus.CANCELLED, now)
        webhooks = work.outbox.webhooks_in([workspace_id])
        for objective_id in ids if webhooks else ():
            report.outbox.merge(
                self._outbox.objective_ended(
                    work, objective_id, workspace_id, None, now, webhooks=webhooks
                )
            )
        logger.info(
            "chain run %s of chain %s cancelled: %s",
            run_id,
            run.spec.chain_id,
            reason,
            extra={"event": "chain_run_cancelled", "chain_run_id": run_id},
        )
        return report

    # --- the steps ------------------------------------------------------------------------

    def _locked_run(self, work: ChainWork, objective: Objective) -> ChainRun | None:
        """The objective's RUNNING run, locked; None when it has none or it ended."""
        run_id = objective.spec.chain_run_id
        if not run_id:
            return None
        run = work.chain_runs.get(objective.metadata.workspace_id, run_id, for_update=True)
        if run is None or run.info.status is not ChainRunStatus.RUNNING:
            return None
        return run

    def _advance(self, work: ChainWork, run: ChainRun, now: datetime) -> StepReport:
        """Applies the rules until nothing more follows: starts ready nodes, skips the ones
        that cannot run, and ends the run when no node waits or runs."""
        report = StepReport()
        run_id, workspace_id = run.metadata.id, run.metadata.workspace_id
        chain = run.spec.chain_spec
        edges = step_edges(chain)
        base = _base_data(chain, run.spec)
        while True:
            states = self._states(work, run_id, edges)
            steps = next_steps(base, edges, states)
            for name, error in steps.errors.items():
                work.chain_runs.note_error(run_id, name, error, now)
                _log_step_error(run, name, error)
            work.chain_runs.skip_nodes(run_id, steps.skip, ChainNodeStatus.SKIPPED, now)
            failed_to_start = False
            for name, data in steps.start.items():
                node = _node_named(chain, name)
                assert node is not None
                started = self._start_node(work, run, node, data, now)
                if started is None:
                    failed_to_start = True
                elif started:
                    report.agent_ids.add(started)
            if not failed_to_start:
                break
        work.chain_runs.touch(run_id, now)
        if steps.status is not ChainRunStatus.RUNNING:
            work.chain_runs.end_run(run_id, steps.status, now)
            ended = work.chain_runs.get(workspace_id, run_id)
            assert ended is not None
            report.outbox.merge(self._announce(work, ended, _ENDED_EVENTS[steps.status], now))
            logger.info(
                "chain run %s of chain %s ended %s",
                run_id,
                run.spec.chain_id,
                steps.status.name,
                extra={
                    "event": "chain_run_ended",
                    "chain_run_id": run_id,
                    "chain_id": run.spec.chain_id,
                    "status": steps.status.name,
                },
            )
        return report

    def _states(
        self, work: ChainWork, run_id: str, edges: Sequence[StepEdge]
    ) -> dict[str, StepNode]:
        """Each node's state, with the edges its end fired (recomputed from its last
        objective, which the rules decide alike every time)."""
        nodes = work.chain_runs.nodes(run_id)
        objectives = work.objectives.of_chain_run(run_id)
        states: dict[str, StepNode] = {}
        for node in nodes:
            if node.status in (ChainNodeStatus.WAITING, ChainNodeStatus.RUNNING):
                states[node.name] = StepNode(status=node.status)
                continue
            if node.status is ChainNodeStatus.SKIPPED:
                states[node.name] = StepNode(status=node.status)
                continue
            last = objectives.get(node.objective_ids[-1]) if node.objective_ids else None
            ended_as = ObjectiveStatus.FAILED if last is None else last.info.status
            output = None if last is None else last.info.output
            data = (node.data if last is None else last.spec.data) or {}
            resolution = resolve_edges(edges, node.name, ended_as, output, data)
            states[node.name] = StepNode(
                status=node.status,
                ended_as=ended_as,
                output=output,
                data=data,
                fired=resolution.fired,
            )
        return states

    def _start_node(
        self, work: ChainWork, run: ChainRun, node: ChainNode, data: dict[str, Any], now: datetime
    ) -> str | None:
        """Creates the node's objective: the agent id it went to, "" when another step
        started the node already, None when it cannot run (its agent or schedule is gone:
        then it ends FAILED, and its edges resolve as a failure's)."""
        workspace_id, run_id = run.metadata.workspace_id, run.metadata.id
        agent_id, message, variation = node.agent_id, node.initial_message, node.variation_id
        if node.schedule_id:
            schedule = work.schedules.get(workspace_id, node.schedule_id)
            if schedule is None:
                self._unstartable(work, run, node, f"schedule {node.schedule_id!r} is gone", now)
                return None
            agent_id = schedule.info.agent_id
            message = message or schedule.spec.initial_message
            variation = variation or schedule.spec.variation_id
            if node.data is None and isinstance(schedule.spec.data, dict):
                data = {**schedule.spec.data, **data}
        agent = work.agents.get(workspace_id, agent_id)
        if agent is None:
            self._unstartable(work, run, node, f"agent {agent_id!r} is gone", now)
            return None
        if not variation:
            variation = choose_variation(
                agent.spec,
                schedule_id=run_id,
                nominal=run.spec.scheduled_time or now,
                sequence=run.spec.chain_spec.nodes.index(node),
            )
        objective_id = new_id(IdPrefix.OBJECTIVE)
        if not work.chain_runs.start_node(run_id, node.name, objective_id, data, now):
            return ""
        work.objectives.insert(
            [
                new_objective_row(
                    objective_id=objective_id,
                    account_id=run.metadata.account_id,
                    workspace_id=workspace_id,
                    agent_id=agent_id,
                    # Not the node's schedule's: a chain's objectives leave its own fires,
                    # overlap policy and counters alone.
                    schedule_id="",
                    profile_id=run.metadata.profile_id,
                    scheduled_time=run.spec.scheduled_time or now,
                    trigger_kind=TriggerKind.MANUAL.name,
                    # The fire key (with the empty schedule and the run's time): one
                    # objective per (run, node), whatever happens.
                    trigger_key=f"{run_id}/{node.name}",
                    status=ObjectiveStatus.PENDING.name,
                    spec={"initial_message": message, "data": data, "variation_id": variation},
                    now=now,
                    chain_run_id=run_id,
                    chain_node=node.name,
                )
            ]
        )
        return agent_id

    def _unstartable(
        self, work: ChainWork, run: ChainRun, node: ChainNode, why: str, now: datetime
    ) -> None:
        if work.chain_runs.fail_unstartable(run.metadata.id, node.name, now):
            work.chain_runs.note_error(run.metadata.id, node.name, f"cannot start: {why}", now)
            _log_step_error(run, node.name, f"cannot start: {why}")

    def _announce(
        self, work: ChainWork, run: ChainRun, kind: EventType, now: datetime
    ) -> OutboxReport:
        return self._outbox.chain_run_event(work.outbox, run, kind, now)


def step_edges(spec: ChainSpec) -> list[StepEdge]:
    """The chain's edges with their expressions compiled (they compiled when the chain was
    written, so an error here means the language changed: such an edge never fires)."""
    edges = []
    for index, edge in enumerate(spec.edges):
        path = f"chain_spec.edges[{index}]"
        condition = (
            compile_condition(edge.condition, f"{path}.condition", CONDITION_VARIABLES)
            if edge.condition
            else None
        )
        mapping = {
            key: compile_condition(text, f"{path}.output_mapping[{key}]", CONDITION_VARIABLES)
            for key, text in edge.output_mapping.items()
        }
        edges.append(
            StepEdge(edge.from_node, edge.to_node, edge.effective_type, condition, mapping)
        )
    return edges


def _base_data(spec: ChainSpec, run: ChainRunSpec) -> dict[str, dict[str, Any]]:
    """Each node's data before its incoming edges' mappings: its own, and for a root the
    trigger's data over it (top-level fields)."""
    targets = {edge.to_node for edge in spec.edges}
    extra = run.data if isinstance(run.data, dict) else {}
    base: dict[str, dict[str, Any]] = {}
    for node in spec.nodes:
        own = dict(node.data) if isinstance(node.data, dict) else {}
        base[node.name] = own if node.name in targets else {**own, **extra}
    return base


def _node_named(spec: ChainSpec, name: str) -> ChainNode | None:
    return next((node for node in spec.nodes if node.name == name), None)


def _log_step_error(run: ChainRun, node: str, error: str) -> None:
    logger.warning(
        "chain run %s, node %s: %s",
        run.metadata.id,
        node,
        error,
        extra={"event": "chain_step_error", "chain_run_id": run.metadata.id, "node": node},
    )
