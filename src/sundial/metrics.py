"""Prometheus metrics of one server process, on prometheus-client.

Each `Metrics` owns its registry (not the library's global one), so that several servers in
one process (tests) keep their counts apart. The layers that decide an event record it here,
once, after its transaction committed: the firing service (fires, lag), the objective
service (finished objectives, retries, auto-pauses), the firing loop (passes), the gRPC
interceptor and the REST gateway (calls), the database (errors). Nothing here imports grpc
or the generated code, so every layer may use it (DESIGN.md section 7)."""

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger("sundial.metrics")

# What may happen to a due fire (engine.planner): an objective PENDING now ("created"), one
# queued behind the objective in flight ("buffered"), one superseded within the same pass
# under CANCEL_OTHER ("cancelled"), no objective under the overlap policy ("skipped"), or
# none because the fire is older than the catch-up window ("missed").
FIRE_OUTCOMES = ("created", "buffered", "cancelled", "skipped", "missed")
# How an objective ends (ObjectiveStatus's final values).
FINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED")
DATABASE_ERROR_KINDS = ("unavailable", "constraint", "other")
# How a push to a PUSH agent went (service.pusher): answered 2xx, or the sender's error kind,
# or "lease_lost" (the answer came after the attempt's lease ran out; the reaper ended it).
PUSH_OUTCOMES = (
    "succeeded",
    "http_status",
    "timeout",
    "connection",
    "refused_by_guard",
    "lease_lost",
)
# What one webhook delivery attempt led to: sent ("delivered"), to be tried again ("retry"),
# given up ("dead_letter"), or nothing written because its lease was lost ("stale").
DELIVERY_OUTCOMES = ("delivered", "retry", "dead_letter", "stale")
WAKING_LOOPS = ("pusher", "dispatcher")
# What the outbox decided for a webhook an event or result may go to (service/outbox.py): a
# delivery written ("written"), none because the condition was false ("filtered"), or a
# CONDITION_ERROR delivery because it could not be decided ("condition_error").
OUTBOX_KINDS = ("event", "result")
OUTBOX_OUTCOMES = ("written", "filtered", "condition_error")
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Lag from a fire's nominal time to its objective: milliseconds when the engine keeps up,
# seconds to minutes when it falls behind, up to the catch-up window (a day by default).
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)
# An objective runs from seconds (a quick agent) to hours (the longest lease chain).
_DURATION_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
_PASS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60)
_ATTEMPT_BUCKETS = (1, 2, 3, 4, 5, 7, 10, 20)
# A push waits up to its target's timeout: 30 s by default, 10 min at most.
_PUSH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# A webhook attempt: a few ms to a receiver nearby, up to its timeout (10 s by default).
_DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The text exposition's suffixes of each metric type (what PromQL can name).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


class Metrics:
    """The metrics of one server. `pending_by_agent`: the pending-objectives gauge gets an
    `agent_id` label (one series per agent: enable it only where agents are few)."""

    def __init__(self, *, pending_by_agent: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.pending_by_agent = pending_by_agent
        registry = self.registry
        self.fires = Counter(
            "sundial_fires",
            "Due fires decided by the engine, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.fire_lag = Histogram(
            "sundial_fire_lag_seconds",
            "Time from a fire's nominal time to the firing pass that made its objective.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.schedules_set_aside = Counter(
            "sundial_schedules_set_aside",
            "Schedules whose fires could not be computed, set aside for a while.",
            registry=registry,
        )
        self.pass_duration = Histogram(
            "sundial_engine_pass_duration_seconds",
            "Duration of one firing pass (every batch due, then housekeeping).",
            buckets=_PASS_BUCKETS,
            registry=registry,
        )
        self.schedules_examined = Counter(
            "sundial_engine_schedules_examined",
            "Due schedules locked and planned by firing passes.",
            registry=registry,
        )
        self.last_pass_schedules = Gauge(
            "sundial_engine_last_pass_schedules",
            "Due schedules examined by the latest firing pass.",
            registry=registry,
        )
        self.last_pass_time = Gauge(
            "sundial_engine_last_pass_timestamp_seconds",
            "When the latest firing pass ended (Unix time).",
            registry=registry,
        )
        self.objectives_finished = Counter(
            "sundial_objectives_finished",
            "Objectives that reached a final status (each attempt is its own objective).",
            ["status"],
            registry=registry,
        )
        self.objective_duration = Histogram(
            "sundial_objective_duration_seconds",
            "From an objective's claim to its end, by final status.",
            ["status"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "sundial_objective_retries",
            "Failed or timed-out objectives retried under their schedule's retry policy.",
            registry=registry,
        )
        self.attempts = Histogram(
            "sundial_objective_attempts",
            "Attempts a fire took, observed when its last attempt ends (no retry follows).",
            buckets=_ATTEMPT_BUCKETS,
            registry=registry,
        )
        self.auto_paused = Counter(
            "sundial_schedules_auto_paused",
            "Schedules paused by pause_on_failure.",
            registry=registry,
        )
        self.grpc_handled = Counter(
            "sundial_grpc_server_handled",
            "gRPC calls answered (REST calls included: the gateway calls gRPC), by code.",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=registry,
        )
        self.grpc_duration = Histogram(
            "sundial_grpc_server_handling_seconds",
            "Duration of gRPC calls.",
            ["grpc_service", "grpc_method"],
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "sundial_http_requests",
            "REST requests answered, by method, route template and HTTP status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "sundial_http_request_duration_seconds",
            "Duration of REST requests, by method and route template.",
            ["method", "route"],
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.database_errors = Counter(
            "sundial_database_errors",
            "Database errors met by statements: unavailable (connection lost or refused, "
            "file gone), constraint (an integrity violation, such as a duplicate key) or other.",
            ["kind"],
            registry=registry,
        )
        self.pushes = Counter(
            "sundial_pushes",
            "Objectives POSTed to PUSH agents, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.push_duration = Histogram(
            "sundial_push_duration_seconds",
            "From sending a push to its answer (or its failure), by outcome.",
            ["outcome"],
            buckets=_PUSH_BUCKETS,
            registry=registry,
        )
        self.wakeups = Counter(
            "sundial_loop_wakeups",
            "Wake-ups heard by an engine loop (pusher, dispatcher): work became due, now or "
            "at a time it was told, so it need not wait for its poll.",
            ["loop"],
            registry=registry,
        )
        self.deliveries = Counter(
            "sundial_webhook_deliveries",
            "Webhook delivery attempts, by what they led to.",
            ["outcome"],
            registry=registry,
        )
        self.delivery_duration = Histogram(
            "sundial_webhook_attempt_duration_seconds",
            "Duration of one webhook delivery attempt (the HTTP request).",
            buckets=_DELIVERY_BUCKETS,
            registry=registry,
        )
        self.webhooks_disabled = Counter(
            "sundial_webhooks_disabled",
            "Webhooks disabled because every delivery to them kept failing.",
            registry=registry,
        )
        self.outbox = Counter(
            "sundial_outbox_decisions",
            "Webhooks an event (kind=event) or an objective's result (kind=result) may go "
            "to, by what the outbox decided: written, filtered (condition false) or "
            "condition_error.",
            ["kind", "outcome"],
            registry=registry,
        )
        # Every series of a fixed label set exists from the start, at 0: rate() and
        # increase() see the first event, and dashboards show 0 rather than nothing.
        self._fires_by_outcome = {outcome: self.fires.labels(outcome) for outcome in FIRE_OUTCOMES}
        for status in FINAL_STATUSES:
            self.objectives_finished.labels(status)
        for kind in DATABASE_ERROR_KINDS:
            self.database_errors.labels(kind)
        for outcome in PUSH_OUTCOMES:
            self.pushes.labels(outcome)
        for loop in WAKING_LOOPS:
            self.wakeups.labels(loop)
        self._deliveries_by_outcome = {
            outcome: self.deliveries.labels(outcome) for outcome in DELIVERY_OUTCOMES
        }
        for kind in OUTBOX_KINDS:
            for outcome in OUTBOX_OUTCOMES:
                self.outbox.labels(kind, outcome)

    # --- recording --------------------------------------------------------------------------

    def fired(self, outcome: str, count: int = 1) -> None:
        """`outcome`: one of FIRE_OUTCOMES (KeyError otherwise: the label set is fixed)."""
        if count:
            self._fires_by_outcome[outcome].inc(count)

    def objective_finished(self, status: str, duration_seconds: float | None) -> None:
        self.objectives_finished.labels(status).inc()
        if duration_seconds is not None:
            self.objective_duration.labels(status).observe(max(duration_seconds, 0.0))

    def pushed(self, outcome: str, seconds: float) -> None:
        """`outcome`: one of PUSH_OUTCOMES."""
        self.pushes.labels(outcome).inc()
        self.push_duration.labels(outcome).observe(max(seconds, 0.0))

    def woken(self, loop: str) -> None:
        """`loop`: one of WAKING_LOOPS."""
        self.wakeups.labels(loop).inc()

    def firing_pass(self, schedules: int, seconds: float, ended_at: float) -> None:
        self.pass_duration.observe(seconds)
        self.schedules_examined.inc(schedules)
        self.last_pass_schedules.set(schedules)
        self.last_pass_time.set(ended_at)

    def grpc_call(self, method: str, code: str, seconds: float) -> None:
        """`method`: the call's path, `/package.Service/Method` (only served methods are
        counted, so the labels are bounded)."""
        service, _, name = method.lstrip("/").rpartition("/")
        self.grpc_handled.labels(service, name, code).inc()
        self.grpc_duration.labels(service, name).observe(seconds)

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """`route`: the route's template (never the path a client sent)."""
        method = method if method in _HTTP_METHODS else "other"
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def database_error(self, kind: str) -> None:
        self.database_errors.labels(kind).inc()

    def delivery_attempted(self, outcome: str, seconds: float) -> None:
        """`outcome`: one of DELIVERY_OUTCOMES (KeyError otherwise: the label set is fixed)."""
        self._deliveries_by_outcome[outcome].inc()
        self.delivery_duration.observe(max(seconds, 0.0))

    def webhook_disabled(self) -> None:
        self.webhooks_disabled.inc()

    def watch_delivery_backlog(self, count: Callable[[], int]) -> None:
        """Reports `count()` (deliveries due and not yet taken) at each scrape."""
        self.registry.register(_BacklogCollector(count))

    def watch_pending(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Reports `counts()` (pending objectives by agent id) at each scrape."""
        self.registry.register(_PendingCollector(counts, by_agent=self.pending_by_agent))

    # --- exposition -------------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The current values in the format `accept` asks for (the Prometheus text format
        unless it asks for OpenMetrics), and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def exported_names(self) -> set[str]:
        """Every sample name a scrape can show (a histogram's `_bucket`, `_sum`, ...), for
        checking what dashboards and alert rules refer to."""
        names: set[str] = set()
        for family in self.registry.collect():
            names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
        return names


class _PendingCollector(Collector):
    """`sundial_objectives_pending`, read from the database at scrape time (a count kept in
    memory would miss what other replicas and workers change)."""

    def __init__(self, counts: Callable[[], Mapping[str, int]], *, by_agent: bool) -> None:
        self._counts = counts
        self._by_agent = by_agent

    def describe(self) -> list[Metric]:
        # Described without reading the database (register() calls describe()).
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        try:
            counts = self._counts()
        except Exception as error:  # a scrape during an outage shows the rest, not a 500
            logger.debug("pending objectives not counted: %s", error)
            return
        family = self._family()
        if self._by_agent:
            for agent_id, count in sorted(counts.items()):
                family.add_metric([agent_id], count)
        else:
            family.add_metric([], sum(counts.values()))
        yield family

    def _family(self) -> GaugeMetricFamily:
        help_text = "Objectives waiting for a worker (status PENDING)."
        if self._by_agent:
            return GaugeMetricFamily("sundial_objectives_pending", help_text, labels=["agent_id"])
        return GaugeMetricFamily("sundial_objectives_pending", help_text)


class _BacklogCollector(Collector):
    """`sundial_webhook_deliveries_due`, read from the database at scrape time (every
    replica's dispatcher takes from the same outbox)."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        try:
            count = self._count()
        except Exception as error:  # a scrape during an outage shows the rest, not a 500
            logger.debug("due deliveries not counted: %s", error)
            return
        family = self._family()
        family.add_metric([], count)
        yield family

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "sundial_webhook_deliveries_due",
            "Webhook deliveries due now and not yet taken by a dispatcher.",
        )
