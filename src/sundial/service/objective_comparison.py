"""Objectives of one schedule side by side (seed 000's compare_runs): their status,
duration and attempts, and every path where their `output` or `data` differ.

The diff is written here rather than taken from a library: deepdiff and jsondiff compare
two documents, while a comparison here lines up N of them by path and says, for each
path where they disagree, what each one holds there (or that it lacks the path)."""

from collections.abc import Sequence
from typing import Any

from sundial.domain.errors import InvalidArgumentError, NotFoundError
from sundial.domain.insight import ComparedObjective, ComparedValue, Comparison, ValueDifference
from sundial.domain.objectives import Objective
from sundial.domain.principals import Principal
from sundial.service.schedules import require_schedule
from sundial.store.database import Database
from sundial.store.unit_of_work import UnitOfWork

MIN_COMPARED = 2
MAX_COMPARED = 10
_ABSENT = ComparedValue(present=False)


class ComparisonService:
    def __init__(self, database: Database) -> None:
        self._database = database

    def compare(
        self,
        principal: Principal,
        workspace_id: str,
        agent_id: str,
        schedule_id: str,
        objective_ids: Sequence[str],
    ) -> Comparison:
        _check_ids(objective_ids)
        with UnitOfWork(self._database, write=False) as uow:
            require_schedule(uow, principal, workspace_id, agent_id, schedule_id)
            objectives: list[Objective] = []
            for objective_id in objective_ids:
                objective = uow.objectives.get(workspace_id, objective_id)
                if objective is None or objective.spec.schedule_id != schedule_id:
                    raise NotFoundError("objective", objective_id)
                objectives.append(objective)
        differences: list[ValueDifference] = []
        _diff(
            "output",
            [_Slot(o.info.output is not None, o.info.output) for o in objectives],
            differences,
        )
        _diff(
            "data", [_Slot(o.spec.data is not None, o.spec.data) for o in objectives], differences
        )
        return Comparison(
            objectives=tuple(_compared(o) for o in objectives), differences=tuple(differences)
        )


def _check_ids(objective_ids: Sequence[str]) -> None:
    count = len(objective_ids)
    if not MIN_COMPARED <= count <= MAX_COMPARED:
        raise InvalidArgumentError.single(
            "objective_ids",
            f"compare {MIN_COMPARED} to {MAX_COMPARED} objectives, got {count}",
        )
    seen: set[str] = set()
    for index, objective_id in enumerate(objective_ids):
        if objective_id in seen:
            raise InvalidArgumentError.single(
                f"objective_ids[{index}]", f"{objective_id!r} is listed twice"
            )
        seen.add(objective_id)


def _compared(objective: Objective) -> ComparedObjective:
    info = objective.info
    duration = (
        info.completed_at - info.started_at
        if info.started_at is not None and info.completed_at is not None
        else None
    )
    return ComparedObjective(
        objective_id=objective.metadata.id,
        status=info.status,
        attempt=info.attempt,
        trigger_kind=objective.spec.trigger_kind,
        scheduled_time=objective.spec.scheduled_time,
        duration=duration,
    )


class _Slot:
    """One objective's value at a path, or its absence."""

    __slots__ = ("present", "value")

    def __init__(self, present: bool, value: Any = None) -> None:
        self.present = present
        self.value = value


def _diff(path: str, slots: list[_Slot], out: list[ValueDifference]) -> None:
    """Appends the paths under `path` where the slots disagree. Objects are compared
    member by member, lists item by item; where the kinds differ (an object and a number,
    or a missing value), the whole values are reported at `path`."""
    present = [slot.value for slot in slots if slot.present]
    if not present:
        return  # none has the path
    if len(present) == len(slots) and all(_same(value, present[0]) for value in present):
        return
    if len(present) == len(slots) and all(isinstance(v, dict) for v in present):
        for key in sorted({key for value in present for key in value}):
            _diff(
                f"{path}.{key}",
                [_Slot(key in slot.value, slot.value.get(key)) for slot in slots],
                out,
            )
        return
    if len(present) == len(slots) and all(isinstance(v, list) for v in present):
        for index in range(max(len(value) for value in present)):
            _diff(
                f"{path}[{index}]",
                [
                    _Slot(
                        index < len(slot.value),
                        slot.value[index] if index < len(slot.value) else None,
                    )
                    for slot in slots
                ],
                out,
            )
        return
    out.append(
        ValueDifference(
            path,
            tuple(ComparedValue(True, slot.value) if slot.present else _ABSENT for slot in slots),
        )
    )


def _same(left: Any, right: Any) -> bool:
    """JSON equality: 1 and 1.0 are the same number, but true is not 1."""
    return bool(_canonical(left) == _canonical(right))


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(_canonical(v) for v in value))
    return ("other", repr(value))
