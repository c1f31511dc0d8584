"""sundial.metrics: one registry per server, the pending gauge read at scrape time, and
the names a scrape can show."""

import pytest

from sundial.metrics import DELIVERY_OUTCOMES, FINAL_STATUSES, FIRE_OUTCOMES, Metrics


def test_each_server_counts_apart():
    first, second = Metrics(), Metrics()
    first.fired("created", 2)
    assert first.registry.get_sample_value("sundial_fires_total", {"outcome": "created"}) == 2
    assert second.registry.get_sample_value("sundial_fires_total", {"outcome": "created"}) == 0


def test_fixed_label_sets_start_at_zero():
    metrics = Metrics()
    value = metrics.registry.get_sample_value
    assert [value("sundial_fires_total", {"outcome": o}) for o in FIRE_OUTCOMES] == [0.0] * 5
    finished = [value("sundial_objectives_finished_total", {"status": s}) for s in FINAL_STATUSES]
    assert finished == [0.0] * 4
    deliveries = [
        value("sundial_webhook_deliveries_total", {"outcome": o}) for o in DELIVERY_OUTCOMES
    ]
    assert deliveries == [0.0] * 4


def test_a_delivery_outcome_outside_the_fixed_set_is_refused():
    metrics = Metrics()
    with pytest.raises(KeyError):
        metrics.delivery_attempted("bounced", 0.1)
    metrics.delivery_attempted("retry", 0.25)
    value = metrics.registry.get_sample_value
    assert value("sundial_webhook_deliveries_total", {"outcome": "retry"}) == 1
    assert value("sundial_webhook_attempt_duration_seconds_sum") == 0.25


def test_the_delivery_backlog_is_read_at_each_scrape():
    metrics = Metrics()
    backlog = iter([3, 7])
    metrics.watch_delivery_backlog(lambda: next(backlog))
    value = metrics.registry.get_sample_value
    assert value("sundial_webhook_deliveries_due") == 3
    assert value("sundial_webhook_deliveries_due") == 7


@pytest.mark.parametrize(
    ("by_agent", "expected"),
    [
        (False, {(): 5.0}),
        (True, {(("agent_id", "agt_a"),): 2.0, (("agent_id", "agt_b"),): 3.0}),
    ],
    ids=["total", "per-agent"],
)
def test_pending_objectives_are_one_total_unless_per_agent(by_agent, expected):
    metrics = Metrics(pending_by_agent=by_agent)
    metrics.watch_pending(lambda: {"agt_a": 2, "agt_b": 3})
    [family] = [f for f in metrics.registry.collect() if f.name == "sundial_objectives_pending"]
    assert {tuple(sorted(s.labels.items())): s.value for s in family.samples} == expected


def test_a_scrape_while_the_database_is_down_shows_the_rest():
    metrics = Metrics()

    def down() -> dict[str, int]:
        raise ConnectionError("database is down")

    metrics.watch_pending(down)
    body, _ = metrics.exposition()
    assert b"sundial_fires_total" in body
    assert b"sundial_objectives_pending " not in body


def test_the_pending_gauge_is_not_read_when_registered():
    calls = []
    Metrics().watch_pending(lambda: calls.append(1) or {})
    assert calls == []


def test_exported_names_include_each_series_suffix():
    names = Metrics().exported_names()
    assert {
        "sundial_fires_total",
        "sundial_fire_lag_seconds_bucket",
        "sundial_fire_lag_seconds_sum",
        "sundial_fire_lag_seconds_count",
        "sundial_engine_last_pass_timestamp_seconds",
        "sundial_grpc_server_handled_total",
        "sundial_http_request_duration_seconds_bucket",
        "sundial_database_errors_total",
    } <= names
    assert "sundial_fires" not in names  # a counter is only ever scraped as _total
    assert all(name.startswith("sundial_") for name in names)


def test_a_grpc_method_path_becomes_service_and_method_labels():
    metrics = Metrics()
    metrics.grpc_call("/sundial.v1.AgentService/ListAgents", "OK", 0.01)
    labels = {
        "grpc_service": "sundial.v1.AgentService",
        "grpc_method": "ListAgents",
        "grpc_code": "OK",
    }
    assert metrics.registry.get_sample_value("sundial_grpc_server_handled_total", labels) == 1
