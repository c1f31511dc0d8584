"""The server interceptor on a fake call context: handlers built once per method, request
ids, logging, error mapping, and authentication for all but the open methods."""

import logging
import re
from datetime import UTC, datetime

import grpc
import pytest

from sundial.api.call_guard import CallGuard, method_access
from sundial.api.grpc_server import OPEN_PREFIXES, SERVICES
from sundial.api.interceptors import REQUEST_ID_HEADER, CallInterceptor, request_id_var
from sundial.api.principal import principal_var
from sundial.domain.clock import FakeClock
from sundial.domain.errors import UnauthenticatedError
from sundial.domain.principals import Principal, Role
from sundial.logs import TextFormatter
from sundial.metrics import Metrics
from sundial.service.authorization import Authorizer
from sundial.service.failure_limiter import FailureLimiter
from sundial.v1 import agent_service_pb2

LIST_AGENTS = "/sundial.v1.AgentService/ListAgents"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
ADMIN = Principal("acct_1", "prof_1", Role.ADMIN, workspace_ids=None)
AUTHORIZATION = "Bearer sdl_good"


class AbortedError(Exception):
    """What grpc's ServicerContext.abort_with_status raises."""


class FakeContext:
    def __init__(self, metadata=None):
        self.metadata = tuple((metadata or {}).items())
        self.sent = None
        self.status = None

    def invocation_metadata(self):
        return self.metadata

    def send_initial_metadata(self, metadata):
        self.sent = dict(metadata)

    def peer(self):
        return "ipv4:127.0.0.1:5000"

    def code(self):
        return None if self.status is None else self.status.code

    def abort_with_status(self, status):
        self.status = status
        raise AbortedError


class FakeAuthenticator:
    def __init__(self):
        self.calls = 0

    def authenticate(self, authorization):
        self.calls += 1
        if authorization != AUTHORIZATION:
            raise UnauthenticatedError("bad credentials")
        return ADMIN


class OneAccountDirectory:
    def account_of(self, workspace_id):
        return ADMIN.account_id


class Details:
    def __init__(self, method):
        self.method = method
        self.invocation_metadata = ()


@pytest.fixture
def authenticator():
    return FakeAuthenticator()


@pytest.fixture
def interceptor(authenticator):
    return CallInterceptor(_guard(authenticator))


def _guard(authenticator):
    return CallGuard(
        method_access(SERVICES),
        open_prefixes=OPEN_PREFIXES,
        authenticator=authenticator,
        authorizer=Authorizer(OneAccountDirectory()),
        limiter=FailureLimiter(FakeClock(datetime(2026, 1, 1, tzinfo=UTC)), burst=5, per_minute=5),
        gateway_token="",
    )


def recording(seen):
    """A unary behavior that notes the request id and principal it ran with."""

    def behavior(request, context):
        seen.append((request_id_var.get(), principal_var.get()))
        return "reply"

    return behavior


class Continuation:
    """The server's handler lookup, counting how often it is asked."""

    def __init__(self, handler):
        self.handler = handler
        self.calls = 0

    def __call__(self, details):
        self.calls += 1
        return self.handler


def test_each_method_handler_is_built_once(interceptor):
    seen = []
    continuation = Continuation(grpc.unary_unary_rpc_method_handler(recording(seen)))
    first = interceptor.intercept_service(continuation, Details(LIST_AGENTS))
    second = interceptor.intercept_service(continuation, Details(LIST_AGENTS))
    assert continuation.calls == 1
    assert second is first
    request = agent_service_pb2.ListAgentsRequest(workspace_id="ws_1")
    for _ in range(2):
        assert first.unary_unary(request, FakeContext({"authorization": AUTHORIZATION})) == "reply"
    assert [principal for _, principal in seen] == [ADMIN, ADMIN]
    assert principal_var.get() is None
    assert request_id_var.get() == ""


def test_unknown_methods_are_none_and_not_kept(interceptor):
    continuation = Continuation(None)
    for _ in range(2):
        assert interceptor.intercept_service(continuation, Details("/no.Such/Method")) is None
    assert continuation.calls == 2


def test_streaming_handlers_pass_through_untouched(interceptor):
    handler = grpc.unary_stream_rpc_method_handler(lambda request, context: iter(()))
    watch = interceptor.intercept_service(
        Continuation(handler), Details("/grpc.health.v1.Health/Watch")
    )
    assert watch is handler


def test_open_method_gets_a_request_id_without_authentication(interceptor, authenticator):
    seen = []
    handler = interceptor.intercept_service(
        Continuation(grpc.unary_unary_rpc_method_handler(recording(seen))), Details(HEALTH_CHECK)
    )
    context = FakeContext()
    assert handler.unary_unary(object(), context) == "reply"
    assert authenticator.calls == 0
    request_id = context.sent[REQUEST_ID_HEADER]
    assert request_id.startswith("req_")
    assert seen == [(request_id, None)]


def test_the_callers_request_id_is_echoed_and_logged(interceptor, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")
    handler = interceptor.intercept_service(
        Continuation(grpc.unary_unary_rpc_method_handler(recording([]))), Details(LIST_AGENTS)
    )
    context = FakeContext({"authorization": AUTHORIZATION, REQUEST_ID_HEADER: "trace-1"})
    handler.unary_unary(agent_service_pb2.ListAgentsRequest(workspace_id="ws_1"), context)
    assert context.sent == {REQUEST_ID_HEADER: "trace-1"}
    [record] = caplog.records
    assert (record.method, record.code, record.request_id) == (LIST_AGENTS, "OK", "trace-1")


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({}, grpc.StatusCode.UNAUTHENTICATED),
        ({"authorization": "Bearer sdl_bad"}, grpc.StatusCode.UNAUTHENTICATED),
        ({"authorization": AUTHORIZATION}, grpc.StatusCode.INTERNAL),
    ],
    ids=["no-credentials", "bad-credentials", "behavior-raises"],
)
def test_errors_become_statuses_that_carry_the_request_id(interceptor, metadata, code, caplog):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")

    def explode(request, context):
        raise RuntimeError("boom")

    handler = interceptor.intercept_service(
        Continuation(grpc.unary_unary_rpc_method_handler(explode)), Details(LIST_AGENTS)
    )
    context = FakeContext({**metadata, REQUEST_ID_HEADER: "trace-2"})
    with pytest.raises(AbortedError):
        handler.unary_unary(agent_service_pb2.ListAgentsRequest(workspace_id="ws_1"), context)
    assert context.status.code == code
    assert context.sent == {REQUEST_ID_HEADER: "trace-2"}
    [line] = [r for r in caplog.records if r.name == "sundial.rpc" and r.msg.startswith("rpc ")]
    assert (line.code, line.request_id) == (code.name, "trace-2")
    # The text line too: method, code, duration and request id.
    text = TextFormatter().format(line)
    assert f"rpc {LIST_AGENTS} {code.name} method={LIST_AGENTS} code={code.name}" in text
    assert re.search(r" duration_ms=[0-9.]+ request_id=trace-2$", text)
    if code is grpc.StatusCode.INTERNAL:
        assert "trace-2" in context.status.details


@pytest.mark.parametrize(
    ("access_log", "level"),
    [(False, logging.DEBUG), (True, logging.INFO)],
    ids=["default-debug", "access-log-info"],
)
def test_access_lines_are_debug_unless_the_access_log_is_on(
    authenticator, caplog, access_log, level
):
    caplog.set_level(logging.DEBUG, logger="sundial.rpc")
    interceptor = CallInterceptor(_guard(authenticator), access_log=access_log)
    handler = interceptor.intercept_service(
        Continuation(grpc.unary_unary_rpc_method_handler(recording([]))), Details(LIST_AGENTS)
    )
    context = FakeContext({"authorization": AUTHORIZATION})
    handler.unary_unary(agent_service_pb2.ListAgentsRequest(workspace_id="ws_1"), context)
    [record] = [r for r in caplog.records if r.name == "sundial.rpc"]
    assert record.levelno == level


def test_calls_are_counted_by_service_method_and_code(authenticator):
    metrics = Metrics()
    interceptor = CallInterceptor(_guard(authenticator), metrics=metrics)
    handler = interceptor.intercept_service(
        Continuation(grpc.unary_unary_rpc_method_handler(recording([]))), Details(LIST_AGENTS)
    )
    request = agent_service_pb2.ListAgentsRequest(workspace_id="ws_1")
    handler.unary_unary(request, FakeContext({"authorization": AUTHORIZATION}))
    with pytest.raises(AbortedError):
        handler.unary_unary(request, FakeContext({}))
    labels = {"grpc_service": "sundial.v1.AgentService", "grpc_method": "ListAgents"}
    value = metrics.registry.get_sample_value
    assert value("sundial_grpc_server_handled_total", {**labels, "grpc_code": "OK"}) == 1
    unauthenticated = {**labels, "grpc_code": "UNAUTHENTICATED"}
    assert value("sundial_grpc_server_handled_total", unauthenticated) == 1
    assert value("sundial_grpc_server_handling_seconds_count", labels) == 2
