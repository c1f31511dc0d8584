"""What a firing pass writes besides its objectives and the schedules' new positions: the
chain runs that chain schedules' fires start, and the outbox's deliveries of the pass's
events (fires missed or skipped, schedules finished, objectives a newer fire cancelled).

Both run in the pass's transaction, on its connection, so each is written exactly when the
fires that cause it are. They are kept apart from service/firing.py because most passes
have neither: each step first asks cheaply whether it has anything to do."""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sundial.domain.chains import ChainTriggerKind
from sundial.domain.schedules import AgentSchedule
from sundial.domain.webhooks import EventType, Webhook
from sundial.engine.planner import FirePlan
from sundial.service.chain_steps import ChainSteps, RunStart, StepReport
from sundial.service.outbox import Outbox, OutboxReport, ScheduleEvent
from sundial.store.firing import DueRow, NewFire, ScheduleAdvance
from sundial.store.repositories.outbox import OutboxRepository
from sundial.store.unit_of_work import JoinedWork

logger = logging.getLogger("sundial.engine")

MISSED_REASON = "older than the schedule's catch-up window"


class Decided(NamedTuple):
    """One schedule's part of a pass: its locked row, its plan and the objectives it makes."""

    row: DueRow
    plan: FirePlan
    created: list[NewFire]


def start_chains(
    chains: ChainSteps,
    joined_work: JoinedWork,
    fires: list[NewFire],
    chain_ids: dict[str, str],
    advances: list[ScheduleAdvance],
    now: datetime,
) -> tuple[list[NewFire], StepReport]:
    """Starts the chain runs of the pass's fires of chain schedules (`chain_ids`: schedule
    id to chain id, for the schedules that name one), in the pass's transaction (each fire's
    run key makes it once, like an objective's fire key); returns the other fires, whose
    objectives the pass inserts. A fire the chain's overlap policy refuses counts as the
    schedule's skipped fire (in `advances`, changed in place)."""
    report = StepReport()
    chain_fires = [f for f in fires if f.schedule.id in chain_ids]
    if not chain_fires:
        return fires, report
    with joined_work as work:
        for fire in chain_fires:
            row = fire.schedule
            chain_id = chain_ids[row.id]
            chain = work.chains.get(row.workspace_id, chain_id, for_update=True)
            if chain is None:
                logger.warning(
                    "schedule %s fired at %s, but its chain %s is gone",
                    row.id,
                    fire.scheduled_time.isoformat(),
                    chain_id,
                    extra={"event": "chain_missing", "schedule_id": row.id},
                )
                continue
            start = RunStart(
                trigger_kind=ChainTriggerKind.SCHEDULED,
                scheduled_time=fire.scheduled_time,
                request_key=f"fire:{row.id}@{fire.scheduled_time.isoformat()}",
                profile_id=row.profile_id,
                schedule_id=row.id,
            )
            started = chains.start(work, chain, start, now)
            at = next(i for i, a in enumerate(advances) if a.id == row.id)
            # No objective of the schedule's own exists to point at.
            advances[at] = replace(advances[at], last_objective_id="")
            if started.skipped_reason:
                advances[at] = replace(
                    advances[at],
                    fired=advances[at].fired - 1,
                    skipped=advances[at].skipped + 1,
                    skip_reason=started.skipped_reason,
                )
                logger.info(
                    "schedule %s fired at %s; its chain %s did not start: %s",
                    row.id,
                    fire.scheduled_time.isoformat(),
                    chain_id,
                    started.skipped_reason,
                    extra={"event": "chain_skipped", "schedule_id": row.id},
                )
            report.merge(started)
    return [f for f in fires if f.schedule.id not in chain_ids], report


def write_outbox(
    outbox: Outbox,
    repository: OutboxRepository,
    joined_work: Callable[[], JoinedWork],
    decided: Sequence[Decided],
    now: datetime,
    report: OutboxReport,
) -> OutboxReport:
    """The deliveries of the pass's events and of the objectives it cancelled
    (CANCEL_OTHER), on the pass's connection (`joined_work` opens repositories there).
    Most passes have neither and read no webhook; the others read the webhooks of their
    workspaces in one query, and nothing more when there are none. Adds to `report`
    (what the pass's chain runs wrote)."""
    events: list[ScheduleEvent] = []
    ended: list[tuple[DueRow, str]] = []
    for row, plan, created in decided:
        # Cheap tests first: this loop runs for every fire of every pass.
        if plan.missed or plan.skipped or plan.next_nominal_at is None:
            events.extend(_events_of(row, plan))
        # A fire superseded within the pass is its first one (all before the last are).
        if plan.cancel_ids or (created and created[0].status == "CANCELLED"):
            ended.extend((row, objective_id) for objective_id in _cancelled_ids(plan, created))
    if not events and not ended:
        return report
    workspaces = {e.workspace_id for e in events} | {row.workspace_id for row, _ in ended}
    webhooks = repository.webhooks_in(workspaces)
    if not webhooks:
        return report
    report.merge(outbox.schedule_events(repository, events, now, webhooks=webhooks))
    by_workspace: dict[str, list[Webhook]] = defaultdict(list)
    for webhook in webhooks:
        by_workspace[webhook.metadata.workspace_id].append(webhook)
    ended = [(row, objective_id) for row, objective_id in ended if row.workspace_id in by_workspace]
    if not ended:
        return report
    with joined_work() as work:
        schedules: dict[str, AgentSchedule | None] = {}
        for row, objective_id in ended:
            if row.id not in schedules:
                schedules[row.id] = work.schedules.get(row.workspace_id, row.id)
            report.merge(
                outbox.objective_ended(
                    work,
                    objective_id,
                    row.workspace_id,
                    schedules[row.id],
                    now,
                    webhooks=by_workspace[row.workspace_id],
                )
            )
    return report


def _cancelled_ids(plan: FirePlan, created: list[NewFire]) -> list[str]:
    """The objectives a plan ends CANCELLED: those in flight that a newer fire cancels, and
    those of its own fires that a later fire of the same pass superseded."""
    return [*plan.cancel_ids, *(f.objective_id for f in created if f.status == "CANCELLED")]


def _events_of(row: DueRow, plan: FirePlan) -> list[ScheduleEvent]:
    """What one schedule's plan announces: its missed fires, its skipped fires, and its end
    (no fire time left: end_time, max_fires, the last one-shot time)."""
    events = []

    def event(kind: EventType, times: list[datetime], count: int, reason: str) -> None:
        events.append(
            ScheduleEvent(
                kind,
                account_id=row.account_id,
                workspace_id=row.workspace_id,
                schedule_id=row.id,
                agent_id=row.agent_id,
                scheduled_times=tuple(times),
                count=count,
                reason=reason,
            )
        )

    if plan.missed:
        event(EventType.FIRE_MISSED, plan.missed_times, plan.missed, MISSED_REASON)
    if plan.skipped:
        event(EventType.FIRE_SKIPPED, plan.skipped_times, plan.skipped, plan.skip_reason)
    if plan.next_nominal_at is None:
        event(EventType.SCHEDULE_FINISHED, [], plan.scheduled_fires, "no fire time left")
    return events
