"""OpenTelemetry tracing of one server process, on opentelemetry-api and -sdk.

Off by default (`Tracing()`): nothing is recorded, every call here returns at once and
objectives carry no trace context. On (`Tracing.otlp(...)`, or a test's exporter): spans for
every RPC (`api.interceptors`, continuing the caller's W3C `traceparent`, which the REST
gateway forwards from the HTTP request), firing passes and each fire (`service.firing`),
manual triggers (`service.triggers`) and each claim of an objective (`service.objectives`).
The traceparent of the span that made an objective is stored with it and handed to the
worker that claims it, so the worker's own work continues that trace.

Each `Tracing` owns its TracerProvider (not the global one), so that several servers in one
process (tests) keep their spans apart; and it uses the W3C propagator itself rather than the
global one, so that nothing else in the process changes what Sundial reads and stores.
Nothing here imports grpc or the generated code, so every layer may use it (DESIGN.md
section 7)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_PROPAGATOR = TraceContextTextMapPropagator()
# gRPC codes a server span marks as errors (OpenTelemetry's RPC semantic conventions): the
# server's fault, not the caller's (NOT_FOUND, INVALID_ARGUMENT, ... are not).
_SERVER_ERROR_CODES = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)
_TRACES_PATH = "/v1/traces"
# gRPC's own services (health checking, which load balancers poll every few seconds, and
# reflection) are not traced: their spans would drown the rest.
_UNTRACED_PREFIX = "/grpc."
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def otlp_traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL, as OpenTelemetry derives it from
    OTEL_EXPORTER_OTLP_ENDPOINT (`http://collector:4318` -> `http://collector:4318/v1/traces`)."""
    return endpoint.rstrip("/") + _TRACES_PATH


class Tracing:
    """The tracer of one server. `exporter`: where finished spans go (None: tracing off).
    `batch`: export in the background, in batches (else each span as it ends: tests)."""

    def __init__(
        self,
        exporter: SpanExporter | None = None,
        *,
        batch: bool = True,
        service_name: str = "sundial",
    ) -> None:
        self.enabled = exporter is not None
        self._provider: TracerProvider | None = None
        self._tracer: trace.Tracer = trace.NoOpTracer()
        if exporter is not None:
            # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the name.
            resource = Resource.create({"service.name": service_name})
            self._provider = TracerProvider(resource=resource)
            processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
            self._provider.add_span_processor(processor)
            self._tracer = self._provider.get_tracer("sundial")

    @classmethod
    def configured(cls, endpoint: str | None, environ: Mapping[str, str]) -> Tracing:
        """What a server traces with: OTLP export to `endpoint` when given, else to the
        collector the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables of `environ`
        name; off when neither is set, or OTEL_SDK_DISABLED is true."""
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls()
        if endpoint is not None:
            return cls.otlp(endpoint)
        if any(environ.get(name) for name in _ENDPOINT_VARIABLES):
            return cls.otlp(None)
        return cls()

    @classmethod
    def otlp(cls, endpoint: str | None) -> Tracing:
        """Exports over OTLP/HTTP to `endpoint` (a base URL, see otlp_traces_url), or, when
        None, to where the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables say."""
        # Imported only when used: it (and its HTTP client) take 60 ms to import.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        if endpoint is None:
            return cls(OTLPSpanExporter())
        return cls(OTLPSpanExporter(endpoint=otlp_traces_url(endpoint)))

    def shutdown(self) -> None:
        """Exports what is left and stops the exporter."""
        if self._provider is not None:
            self._provider.shutdown()

    # --- RPCs -------------------------------------------------------------------------------

    def rpc_span(self, method: str, metadata: Mapping[str, Any]) -> RpcSpan:
        """The server span of one call of `method` (`/package.Service/Method`), child of the
        caller's `traceparent` when its metadata has one; current while the call runs. Use as
        a context manager; `finish` it with the call's code before it exits. None (a span
        that records nothing) for gRPC's own health and reflection services."""
        if not self.enabled or method.startswith(_UNTRACED_PREFIX):
            return _NO_RPC_SPAN
        service, _, name = method.lstrip("/").rpartition("/")
        span = self._tracer.start_span(
            method.lstrip("/"),
            context=_PROPAGATOR.extract(metadata),
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
            record_exception=False,
            set_status_on_exception=False,
        )
        return RpcSpan(span)

    # --- firing -----------------------------------------------------------------------------

    @contextmanager
    def firing_pass(self) -> Iterator[None]:
        """The span of one firing pass (current while it runs). Exported only when the pass
        examined a schedule (`batch_fired`) or failed: an idle engine passes every few
        seconds, and those passes would drown the rest."""
        if not self.enabled:
            yield
            return
        span = self._tracer.start_span("sundial.firing_pass", kind=SpanKind.INTERNAL)
        state = _PassState()
        pass_token = _pass_var.set(state)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        except BaseException as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            state.failed = True  # a failed pass is worth seeing
            raise
        finally:
            otel_context.detach(token)
            _pass_var.reset(pass_token)
            if state.examined or state.failed:
                span.set_attribute("sundial.schedules_examined", state.examined)
                span.set_attribute("sundial.objectives_created", state.created)
                span.end()

    def batch_fired(self, schedules: int, created: int) -> None:
        """Counts a firing batch's work on the pass's span."""
        state = _pass_var.get()
        if state is not None:
            state.examined += schedules
            state.created += created

    def fire_span(self, attributes: Mapping[str, str]) -> FireSpan:
        """The span of one fire (a scheduled fire, a manual trigger), child of the current
        span; its `trace_parent` is what the fire's objective keeps. `end` it once the
        objective is committed."""
        if not self.enabled:
            return _NO_FIRE_SPAN
        span = self._tracer.start_span(
            "sundial.fire", kind=SpanKind.INTERNAL, attributes=dict(attributes)
        )
        return FireSpan(span, _trace_parent_of(trace.set_span_in_context(span)))

    def current_trace_parent(self) -> str:
        """The traceparent of the current span ("" when there is none, or tracing is off)."""
        if not self.enabled:
            return ""
        return _trace_parent_of(otel_context.get_current())

    # --- claims -----------------------------------------------------------------------------

    def claimed(self, trace_parent: str, attributes: Mapping[str, str | int]) -> None:
        """Records the claim of an objective in the objective's trace (`trace_parent`, its
        fire's), linked to the current span (the claim call's, in the worker's trace)."""
        if not self.enabled or not trace_parent:
            return
        parent = _PROPAGATOR.extract({TRACEPARENT: trace_parent})
        current = trace.get_current_span().get_span_context()
        links = [Link(current)] if current.is_valid else []
        span = self._tracer.start_span(
            "sundial.claim",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=dict(attributes),
            links=links,
        )
        span.end()


class RpcSpan:
    """An RPC's server span, current between enter and exit."""

    def __init__(self, span: trace.Span | None) -> None:
        self._span = span
        self._token: object = None

    def __enter__(self) -> RpcSpan:
        if self._span is not None:
            self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._span is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._span.end()

    def finish(self, code_name: str, code_number: int) -> None:
        """Sets the call's gRPC status code (and an error status for server errors)."""
        if self._span is None:
            return
        self._span.set_attribute("rpc.grpc.status_code", code_number)
        if code_name in _SERVER_ERROR_CODES:
            self._span.set_status(Status(StatusCode.ERROR, code_name))


@dataclass(slots=True)
class FireSpan:
    """A fire's span: `trace_parent` is its W3C traceparent ("" when tracing is off)."""

    span: trace.Span | None
    trace_parent: str

    def end(self, attributes: Mapping[str, str | float] | None = None) -> None:
        if self.span is not None:
            if attributes:
                self.span.set_attributes(dict(attributes))
            self.span.end()


@dataclass(slots=True)
class _PassState:
    examined: int = 0
    created: int = 0
    failed: bool = False


_pass_var: contextvars.ContextVar[_PassState | None] = contextvars.ContextVar(
    "sundial_firing_pass", default=None
)
_NO_RPC_SPAN = RpcSpan(None)
_NO_FIRE_SPAN = FireSpan(None, "")


def _trace_parent_of(context: otel_context.Context) -> str:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier.get(TRACEPARENT, "")
