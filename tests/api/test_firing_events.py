"""What firing tells operators, on a fake clock through the real server: one INFO line per
fire, skip, miss, retry, timeout and auto-pause (with the schedule, agent, objective and
workspace ids), and the metrics that count the same events."""

import logging
from datetime import timedelta

import pytest
from google.protobuf import duration_pb2

from sundial.logs import TextFormatter
from sundial.v1 import agent_schedule_pb2 as sp
from tests.api.test_firing import MINUTE, Harness, _every

ENGINE, OBJECTIVES = "sundial.engine", "sundial.objectives"


@pytest.fixture
def harness(server, schedules, objectives, workspace_id, agent, clock, caplog):
    caplog.set_level(logging.INFO, logger=ENGINE)
    caplog.set_level(logging.INFO, logger=OBJECTIVES)
    return Harness(server, schedules, objectives, workspace_id, agent, clock)


def _events(caplog, event):
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def _value(harness, name, labels=None):
    return harness.server.metrics.registry.get_sample_value(name, labels or {}) or 0.0


def _fires(harness, outcome):
    return _value(harness, "sundial_fires_total", {"outcome": outcome})


def test_each_fire_is_one_info_line_with_its_ids_and_lag(harness, caplog):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    harness.tick(timedelta(seconds=75))  # due at +60 s: 15 s late
    [objective] = harness.objectives()
    [line] = _events(caplog, "fire")
    assert line.levelno == logging.INFO
    assert line.name == ENGINE
    assert (line.schedule_id, line.agent_id, line.workspace_id, line.objective_id) == (
        harness.schedule.metadata.id,
        harness.agent_id,
        harness.workspace_id,
        objective.metadata.id,
    )
    assert line.status == "PENDING"
    assert line.lag_seconds == 15.0
    text = TextFormatter().format(line)
    assert f"fired schedule {harness.schedule.metadata.id}: objective {objective.metadata.id}" in (
        text
    )
    assert f"workspace_id={harness.workspace_id}" in text
    assert _fires(harness, "created") == 1
    assert _value(harness, "sundial_fire_lag_seconds_count") == 1
    assert _value(harness, "sundial_fire_lag_seconds_sum") == 15.0
    assert _value(harness, "sundial_fire_lag_seconds_bucket", {"le": "10.0"}) == 0
    assert _value(harness, "sundial_fire_lag_seconds_bucket", {"le": "30.0"}) == 1


def test_a_second_pass_at_the_same_moment_logs_and_counts_nothing(harness, caplog):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    harness.tick()
    harness.server.engine.run_pass()
    assert len(_events(caplog, "fire")) == 1
    assert _fires(harness, "created") == 1


def test_skips_are_logged_with_their_reason_and_counted(harness, caplog):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_SKIP)
    for _ in range(3):
        harness.tick()
    skips = _events(caplog, "skip")
    assert [(r.count, r.reason) for r in skips] == [
        (1, "previous objective still in flight"),
        (1, "previous objective still in flight"),
    ]
    assert {r.schedule_id for r in skips} == {harness.schedule.metadata.id}
    assert all(r.levelno == logging.INFO and r.agent_id == harness.agent_id for r in skips)
    assert (_fires(harness, "created"), _fires(harness, "skipped")) == (1, 2)


def test_buffered_and_cancelled_fires_are_their_own_outcomes(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_BUFFER_ALL)
    for _ in range(3):
        harness.tick()
    assert (_fires(harness, "created"), _fires(harness, "buffered")) == (1, 2)


def test_misses_are_one_line_per_schedule_and_pass(harness, caplog):
    harness.create(
        schedule=_every(15 * 60),
        overlap_policy=sp.OVERLAP_POLICY_ALLOW,
        catchup_window=duration_pb2.Duration(seconds=3600),
    )
    harness.tick(timedelta(hours=3))  # 12 fires due, 7 older than the window
    [miss] = _events(caplog, "miss")
    assert (miss.count, miss.schedule_id, miss.workspace_id) == (
        7,
        harness.schedule.metadata.id,
        harness.workspace_id,
    )
    assert "missed 7 fire(s)" in miss.getMessage()
    assert len(_events(caplog, "fire")) == 5
    assert (_fires(harness, "missed"), _fires(harness, "created")) == (7, 5)


def test_retries_are_logged_and_counted_and_the_last_attempt_ends_the_fire(harness, caplog):
    harness.create(
        schedule=_every(3600),
        retry_policy=sp.RetryPolicy(
            max_attempts=2, initial_backoff=duration_pb2.Duration(seconds=10)
        ),
    )
    harness.tick(timedelta(hours=1))
    [first] = harness.claim()
    harness.clock.advance(timedelta(seconds=4))
    harness.fail(first, retryable=True)
    [retry] = _events(caplog, "retry")
    assert retry.objective_id == first.metadata.id
    assert (retry.schedule_id, retry.agent_id, retry.attempt) == (
        harness.schedule.metadata.id,
        harness.agent_id,
        1,
    )
    assert retry.retry_at == (harness.clock.now() + timedelta(seconds=10)).isoformat()
    harness.clock.advance(timedelta(seconds=10))
    [second] = harness.claim()
    harness.clock.advance(timedelta(seconds=6))
    harness.fail(second, retryable=True)  # attempts spent
    [failure] = _events(caplog, "failure")
    assert (failure.objective_id, failure.attempt, failure.reason) == (
        second.metadata.id,
        2,
        "boom",
    )
    assert len(_events(caplog, "retry")) == 1
    assert _value(harness, "sundial_objective_retries_total") == 1
    assert _value(harness, "sundial_objectives_finished_total", {"status": "FAILED"}) == 2
    failed = {"status": "FAILED"}
    assert _value(harness, "sundial_objective_duration_seconds_sum", failed) == 10.0
    assert _value(harness, "sundial_objective_attempts_count") == 1
    assert _value(harness, "sundial_objective_attempts_sum") == 2


def test_timeouts_are_logged_with_why(harness, caplog):
    harness.create(schedule=_every(3600))
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim(lease_seconds=30)
    harness.clock.advance(timedelta(seconds=31))
    harness.server.engine.run_pass()  # the reaper
    [timeout] = _events(caplog, "timeout")
    assert (timeout.objective_id, timeout.schedule_id, timeout.workspace_id) == (
        objective.metadata.id,
        harness.schedule.metadata.id,
        harness.workspace_id,
    )
    assert timeout.reason == "lease expired without a heartbeat"
    assert timeout.levelno == logging.INFO
    timed_out = {"status": "TIMED_OUT"}
    assert _value(harness, "sundial_objectives_finished_total", timed_out) == 1
    assert _value(harness, "sundial_objective_duration_seconds_sum", timed_out) == 31.0


def test_an_auto_pause_is_logged_and_counted(harness, caplog):
    harness.create(schedule=_every(3600), pause_on_failure=True)
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim()
    harness.fail(objective)
    [pause] = _events(caplog, "auto_pause")
    assert (pause.schedule_id, pause.objective_id, pause.agent_id, pause.workspace_id) == (
        harness.schedule.metadata.id,
        objective.metadata.id,
        harness.agent_id,
        harness.workspace_id,
    )
    assert "paused itself" in pause.getMessage()
    assert _value(harness, "sundial_schedules_auto_paused_total") == 1


def test_successes_are_counted_with_their_duration(harness, caplog):
    harness.create(schedule=_every(3600))
    harness.tick(timedelta(hours=1))
    [objective] = harness.claim()
    harness.clock.advance(timedelta(seconds=42))
    harness.complete(objective)
    succeeded = {"status": "SUCCEEDED"}
    assert _value(harness, "sundial_objectives_finished_total", succeeded) == 1
    assert _value(harness, "sundial_objective_duration_seconds_sum", succeeded) == 42.0
    assert _value(harness, "sundial_objective_attempts_sum") == 1
    assert not _events(caplog, "failure")


def test_passes_are_timed_and_count_the_schedules_they_examined(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    passes = _value(harness, "sundial_engine_pass_duration_seconds_count")
    harness.tick(MINUTE)
    assert _value(harness, "sundial_engine_pass_duration_seconds_count") == passes + 1
    assert _value(harness, "sundial_engine_last_pass_schedules") == 1
    assert _value(harness, "sundial_engine_schedules_examined_total") == 1
    ended = _value(harness, "sundial_engine_last_pass_timestamp_seconds")
    assert ended == harness.clock.now().timestamp()
    harness.tick(timedelta(seconds=1))  # nothing due
    assert _value(harness, "sundial_engine_last_pass_schedules") == 0


def test_pending_objectives_are_one_total_by_default(harness):
    harness.create(overlap_policy=sp.OVERLAP_POLICY_ALLOW)
    harness.tick()
    harness.tick()
    assert _value(harness, "sundial_objectives_pending") == 2
    harness.claim()
    assert _value(harness, "sundial_objectives_pending") == 1
