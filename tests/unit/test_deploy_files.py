"""deploy/prometheus/alerts.yml and deploy/grafana/sundial.json name only metrics that a
server exports (with their _total, _bucket, _sum, _count suffixes), and the dashboard
shows every one."""

import json
import re
from pathlib import Path

import pytest
import yaml

from sundial.metrics import Metrics

DEPLOY = Path(__file__).parents[2] / "deploy"
_METRIC_NAME = re.compile(r"\bsundial_[a-z0-9_]+\b")
_LABEL_MATCHER = re.compile(r"\b([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"")


def _alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "sundial.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.fixture(scope="module")
def metrics() -> Metrics:
    served = Metrics()
    served.watch_pending(dict)
    served.watch_delivery_backlog(lambda: 0)
    return served


@pytest.mark.parametrize(
    "expressions", [_alert_expressions, _dashboard_expressions], ids=["alerts", "dashboard"]
)
def test_every_metric_named_is_exported(metrics, expressions):
    found = expressions()
    assert found
    exported = metrics.exported_names()
    for expression in found:
        names = set(_METRIC_NAME.findall(expression))
        assert names, f"no sundial metric in {expression!r}"
        assert names <= exported, f"{expression!r} names {sorted(names - exported)}"


@pytest.mark.parametrize(
    "expressions", [_alert_expressions, _dashboard_expressions], ids=["alerts", "dashboard"]
)
def test_every_label_matched_is_a_label_of_some_metric(expressions):
    # One sample of each labelled metric, to learn their labels from the scrape itself.
    recorded = Metrics(pending_by_agent=True)
    recorded.watch_pending(lambda: {"agt_x": 1})
    recorded.objective_finished("SUCCEEDED", 1.0)
    recorded.grpc_call("/sundial.v1.AgentService/ListAgents", "OK", 0.01)
    recorded.http_request("GET", "/v1/agents", 200, 0.01)
    labels = {
        label
        for family in recorded.registry.collect()
        for sample in family.samples
        for label in sample.labels
    }
    for expression in expressions():
        assert set(_LABEL_MATCHER.findall(expression)) <= labels, expression


def test_the_dashboard_shows_every_metric(metrics):
    shown = {name for e in _dashboard_expressions() for name in _METRIC_NAME.findall(e)}
    for family in metrics.registry.collect():
        assert any(name.startswith(family.name) for name in shown), family.name
