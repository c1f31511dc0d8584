"""Chain run use cases (sundial.v1.ChainService's TriggerChain, ListChainRuns, GetChainRun,
CancelChainRun). The steps of a run happen in the transactions of the changes that cause
them (service/chain_steps.py); these are the user's handles on it."""

from typing import Any

from sundial.domain.chains import ALL_CHAINS, ChainRun, ChainRunStatus, ChainTriggerKind
from sundial.domain.clock import Clock
from sundial.domain.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from sundial.domain.ids import IdPrefix, new_id
from sundial.domain.listing import Page
from sundial.domain.principals import Principal
from sundial.metrics import Metrics
from sundial.service.chain_steps import ChainSteps, RunStart, StepReport
from sundial.service.chains import require_chain
from sundial.service.filtering import enum_value
from sundial.service.idempotency import (
    RequestKey,
    create_or_replay,
    find_replay,
    record_request,
    request_key,
)
from sundial.service.listing import page_of, prepare_query
from sundial.service.notifier import Notifier
from sundial.service.pagination import PageRequest
from sundial.service.tenancy import require_workspace
from sundial.service.validation import MAX_DATA_BYTES, Violations, check_request_id, json_size
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

_FILTERABLE = {
    "status": enum_value(ChainRunStatus, "CHAIN_RUN_STATUS_"),
    "schedule_id": None,
    "trigger_kind": enum_value(ChainTriggerKind, "CHAIN_TRIGGER_KIND_"),
}


class ChainRunService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        notifier: Notifier,
        *,
        steps: ChainSteps | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._notifier = notifier
        self._steps = steps or ChainSteps()
        self._metrics = metrics or Metrics()

    def trigger(
        self,
        principal: Principal,
        workspace_id: str,
        chain_id: str,
        *,
        request_id: str = "",
        data: Any = None,
    ) -> ChainRun:
        """Starts a run now (its roots' objectives are created with it). A retry with the same
        request id returns the run the first call started; FAILED_PRECONDITION when the
        chain's overlap policy (SKIP, the default) refuses a second run."""
        violations = Violations()
        check_request_id(violations, request_id)
        if data is not None and not isinstance(data, dict):
            violations.add("data", "data must be a JSON object (its fields go to the roots)")
        elif data is not None and json_size(data) > MAX_DATA_BYTES:
            violations.add("data", f"data is larger than {MAX_DATA_BYTES} bytes")
        violations.raise_if_any()
        key = request_key(workspace_id, "TriggerChain", request_id, chain_id, data)
        return create_or_replay(key, lambda: self._trigger_once(principal, key, chain_id, data))

    def _trigger_once(
        self, principal: Principal, key: RequestKey, chain_id: str, data: Any
    ) -> ChainRun:
        workspace_id = key.scope_id
        with UnitOfWork(self._database, write=True) as uow:
            replayed_id = find_replay(uow, self._clock, key)
            if replayed_id is not None:
                return _require_run(uow, workspace_id, chain_id, replayed_id)
            # Locked: two triggers of one chain decide its overlap policy one after the other.
            chain = require_chain(uow, principal, workspace_id, chain_id, for_update=True)
            now = self._clock.now()
            start = RunStart(
                trigger_kind=ChainTriggerKind.MANUAL,
                scheduled_time=now,
                request_key=(
                    f"request:{key.request_id}"
                    if key.request_id
                    else f"fresh:{new_id(IdPrefix.CHAIN_RUN)}"
                ),
                profile_id=principal.profile_id,
                data=data,
            )
            report = self._steps.start(uow, chain, start, now)
            if not report.run_id:
                raise FailedPreconditionError(
                    f"not triggered: {report.skipped_reason} (overlap policy "
                    f"{chain.spec.overlap_policy.name})",
                    reason="TRIGGER_SKIPPED",
                )
            record_request(uow, self._clock, key, report.run_id)
            run = _require_run(uow, workspace_id, chain_id, report.run_id)
            uow.commit()
        self._committed(report)
        return run

    def list(
        self, principal: Principal, workspace_id: str, chain_id: str, request: PageRequest
    ) -> Page[ChainRun]:
        scope_chain = "" if chain_id in ("", ALL_CHAINS) else chain_id
        prepared = prepare_query(
            request, _FILTERABLE, scope=("chain_runs", workspace_id, scope_chain), newest_first=True
        )
        with UnitOfWork(self._database, write=False) as uow:
            if scope_chain:
                require_chain(uow, principal, workspace_id, scope_chain)
            else:
                require_workspace(uow, principal, workspace_id)
            return page_of(
                prepared, uow.chain_runs.list_page(workspace_id, scope_chain, prepared.query)
            )

    def get(self, principal: Principal, workspace_id: str, chain_id: str, run_id: str) -> ChainRun:
        with UnitOfWork(self._database, write=False) as uow:
            require_workspace(uow, principal, workspace_id)
            return _require_run(uow, workspace_id, chain_id, run_id)

    def cancel(
        self,
        principal: Principal,
        workspace_id: str,
        chain_id: str,
        run_id: str,
        *,
        reason: str = "",
    ) -> ChainRun:
        """Cancels a RUNNING run: its running objectives are cancelled and its waiting nodes
        never start. FAILED_PRECONDITION when it ended already."""
        if len(reason) > 4096:
            raise InvalidArgumentError.single("reason", "reason is at most 4096 characters")
        with UnitOfWork(self._database, write=True) as uow:
            require_workspace(uow, principal, workspace_id)
            seen = _require_run(uow, workspace_id, chain_id, run_id)
            # The objectives first, then the run: the order an objective's end locks them
            # in, so a worker completing one meanwhile waits instead of deadlocking.
            for node in seen.info.nodes:
                for objective_id in node.objective_ids[-1:]:
                    uow.objectives.get(workspace_id, objective_id, for_update=True)
            run = uow.chain_runs.get(workspace_id, run_id, for_update=True)
            assert run is not None
            if run.info.status is not ChainRunStatus.RUNNING:
                raise FailedPreconditionError(
                    f"chain run {run_id!r} already ended as {run.info.status.name}",
                    reason="CHAIN_RUN_FINISHED",
                )
            report = self._steps.cancel(uow, run, reason, self._clock.now())
            cancelled = _require_run(uow, workspace_id, chain_id, run_id)
            uow.commit()
        self._committed(report)
        return cancelled

    def _committed(self, report: StepReport) -> None:
        report.outbox.record(self._metrics)
        if report.agent_ids:
            self._notifier.objectives_available(sorted(report.agent_ids))


def _require_run(uow: UnitOfWork, workspace_id: str, chain_id: str, run_id: str) -> ChainRun:
    run = uow.chain_runs.get(workspace_id, run_id)
    if run is None or chain_id not in (run.spec.chain_id, ALL_CHAINS):
        raise NotFoundError("chain run", run_id)
    return run
