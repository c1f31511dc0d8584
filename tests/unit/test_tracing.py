"""The tracer's configuration (flag, standard OTEL_* variables, off by default), the W3C
trace context it reads and writes, and firing passes exported only when they did work."""

import http.server
import threading
from typing import ClassVar

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from sundial.tracing import Tracing, otlp_traces_url

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _exporter_of(tracing: Tracing) -> OTLPSpanExporter:
    assert tracing._provider is not None
    [processor] = tracing._provider._active_span_processor._span_processors
    exporter = processor._batch_processor._exporter  # type: ignore[attr-defined]
    assert isinstance(exporter, OTLPSpanExporter)
    return exporter


def test_tracing_is_off_without_an_endpoint():
    tracing = Tracing.configured(None, {})
    assert not tracing.enabled
    assert tracing.current_trace_parent() == ""
    assert tracing.fire_span({}).trace_parent == ""


def test_the_flag_endpoint_is_a_base_url_whose_traces_go_to_v1_traces():
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    tracing = Tracing.configured("http://collector:4318", {})
    try:
        assert tracing.enabled
        assert _exporter_of(tracing)._endpoint == "http://collector:4318/v1/traces"
    finally:
        tracing.shutdown()


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_the_standard_variables_turn_tracing_on(variable):
    tracing = Tracing.configured(None, {variable: "http://collector:4318"})
    try:
        assert tracing.enabled
    finally:
        tracing.shutdown()


def test_otel_sdk_disabled_wins():
    environ = {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    assert not Tracing.configured("http://collector:4318", environ).enabled


def test_an_rpc_span_continues_the_callers_traceparent_and_marks_server_errors():
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    with tracing.rpc_span("/sundial.v1.S/M", {"traceparent": TRACEPARENT}) as span:
        inner = tracing.current_trace_parent()
        span.finish("INTERNAL", 13)
    [recorded] = exporter.get_finished_spans()
    assert format(recorded.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert inner.split("-")[2] == format(recorded.context.span_id, "016x")
    assert recorded.status.status_code is StatusCode.ERROR
    assert recorded.attributes["rpc.grpc.status_code"] == 13
    assert tracing.current_trace_parent() == ""  # no longer current


def test_a_malformed_traceparent_starts_a_new_trace():
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    with tracing.rpc_span("/sundial.v1.S/M", {"traceparent": "00-zz-yy-01"}) as span:
        span.finish("OK", 0)
    [recorded] = exporter.get_finished_spans()
    assert recorded.parent is None


def test_a_firing_pass_is_exported_only_when_it_examined_schedules_or_failed():
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    with tracing.firing_pass():
        tracing.batch_fired(0, 0)
    assert exporter.get_finished_spans() == ()
    with tracing.firing_pass():
        tracing.batch_fired(3, 2)
        tracing.batch_fired(1, 0)
    [busy] = exporter.get_finished_spans()
    assert busy.attributes["sundial.schedules_examined"] == 4
    assert busy.attributes["sundial.objectives_created"] == 2
    exporter.clear()
    with pytest.raises(RuntimeError), tracing.firing_pass():
        raise RuntimeError("database gone")
    [failed] = exporter.get_finished_spans()
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events] == ["exception"]


def test_a_claim_without_a_trace_parent_records_nothing():
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    tracing.claimed("", {"sundial.objective_id": "obj_1"})
    assert exporter.get_finished_spans() == ()


def test_health_checks_are_not_traced():
    exporter = InMemorySpanExporter()
    tracing = Tracing(exporter, batch=False)
    with tracing.rpc_span("/grpc.health.v1.Health/Check", {}) as span:
        span.finish("OK", 0)
    assert exporter.get_finished_spans() == ()


class _Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_spans_are_exported_over_otlp_http_to_the_endpoint_at_shutdown():
    collector = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        tracing = Tracing.configured(f"http://127.0.0.1:{collector.server_port}", {})
        with tracing.rpc_span("/sundial.v1.S/M", {}) as span:
            span.finish("OK", 0)
        tracing.shutdown()  # flushes the batch
    finally:
        collector.shutdown()
        collector.server_close()
    [(path, content_type, body)] = _Collector.received
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    [scope_spans] = resource_spans.scope_spans
    assert [s.name for s in scope_spans.spans] == ["sundial.v1.S/M"]
