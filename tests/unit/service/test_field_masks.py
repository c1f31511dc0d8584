from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from sundial.domain.errors import InvalidArgumentError
from sundial.domain.metadata import MetadataInput
from sundial.domain.schedules import AgentScheduleSpec, RetryPolicy, ScheduleRules
from sundial.service.field_masks import apply_paths, check_paths, populated_paths
from sundial.service.updates import Writable, merge_update


@dataclass(frozen=True)
class Inner:
    a: int = 0
    b: str = ""


@dataclass(frozen=True)
class Outer:
    inner: Inner = field(default_factory=Inner)
    tags: dict[str, str] = field(default_factory=dict)
    optional: RetryPolicy | None = None


def test_populated_paths_are_the_non_default_leaves():
    value = Outer(inner=Inner(b="x"), tags={"k": "v"}, optional=RetryPolicy(max_attempts=2))
    assert populated_paths(value) == ["inner.b", "tags", "optional.max_attempts"]
    assert populated_paths(Outer()) == []


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["inner.a"], Outer(inner=Inner(a=9, b="keep"), tags={"old": "1"})),
        (["inner"], Outer(inner=Inner(a=9, b=""), tags={"old": "1"})),
        (["tags.new"], Outer(inner=Inner(b="keep"), tags={"old": "1", "new": "2"})),
        (["tags.old"], Outer(inner=Inner(b="keep"), tags={})),
        (["tags"], Outer(inner=Inner(b="keep"), tags={"new": "2"})),
        (
            ["optional.max_attempts"],
            Outer(inner=Inner(b="keep"), tags={"old": "1"}, optional=RetryPolicy()),
        ),
    ],
    ids=["leaf", "message", "map-key-set", "map-key-removed", "whole-map", "absent-optional"],
)
def test_apply_paths(paths, expected):
    current = Outer(inner=Inner(b="keep"), tags={"old": "1"})
    patch = Outer(inner=Inner(a=9), tags={"new": "2"})
    assert apply_paths(current, patch, paths) == expected


def test_check_paths_drops_output_only_and_rejects_unknown():
    assert check_paths(Outer(), ["inner.a", "info.x"], ignored_prefixes=("info.",)) == ["inner.a"]
    with pytest.raises(InvalidArgumentError) as caught:
        check_paths(Outer(), ["inner.zzz"], ignored_prefixes=())
    assert caught.value.violations[0].field == "update_mask"
    with pytest.raises(InvalidArgumentError):
        check_paths(Outer(), ["tags.a.b"], ignored_prefixes=())


def test_merge_update_star_replaces_everything():
    current = Writable(MetadataInput(name="a", labels={"x": "1"}), AgentScheduleSpec(notes="n"))
    patch = Writable(
        MetadataInput(name="b"), AgentScheduleSpec(schedule=ScheduleRules(timezone="UTC"))
    )
    merged = merge_update(current, patch, ["*"])
    assert merged == patch
    partial = merge_update(current, patch, None)
    assert partial.metadata == MetadataInput(name="b", labels={"x": "1"})
    assert partial.spec == AgentScheduleSpec(notes="n", schedule=ScheduleRules(timezone="UTC"))
    deep = merge_update(
        current,
        Writable(MetadataInput(), AgentScheduleSpec(catchup_window=timedelta(1))),
        ["spec.catchup_window"],
    )
    assert deep.spec.catchup_window == timedelta(days=1)
