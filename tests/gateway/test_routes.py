"""Routes come from the descriptors alone: every RPC of every registered service is served."""

import itertools

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from sundial.api.grpc_server import SERVICE_NAMES
from sundial.gateway.http_errors import GatewayError
from sundial.gateway.routes import RouteError, Router, discover_services, find_services, routes_of
from tests.gateway import feature_service


def test_the_generated_services_are_the_registered_ones():
    # The server registers SERVICE_NAMES; `make openapi` documents what it discovers.
    assert {s.full_name for s in discover_services()} == set(SERVICE_NAMES)


def test_every_rpc_of_every_registered_service_has_a_route():
    services = find_services(SERVICE_NAMES)
    routed = {route.method.full_name for route in routes_of(services)}
    assert routed == {method.full_name for s in services for method in s.methods}


def test_routes_follow_the_annotation():
    routes = routes_of([feature_service.service()])
    by_operation = {route.operation_id: route for route in routes}
    create = by_operation["FeatureService_CreateThing"]
    assert (create.http_method, create.template.text, create.body) == (
        "POST",
        "/v1/{parent=shelves/*}/things",
        "thing",
    )
    assert create.grpc_method == "/gatewaytest.v1.FeatureService/CreateThing"
    assert by_operation["FeatureService_ListTags2"].response_body == "labels"
    assert by_operation["FeatureService_UpdateThing2"].http_method == "PUT"
    assert by_operation["FeatureService_Whoami"].http_method == "SEARCH"
    unbound = by_operation["FeatureService_Unbound"]
    assert (unbound.http_method, unbound.template.text, unbound.body) == (
        "POST",
        "/gatewaytest.v1.FeatureService/Unbound",
        "*",
    )
    assert [
        f.name for f in by_operation["FeatureService_GetThing3"].path_fields["nested.label"]
    ] == [
        "nested",
        "label",
    ]


def test_router_prefers_the_most_specific_template():
    router = Router(routes_of([feature_service.service()]))
    route, values = router.find("GET", "/v1/files/x/a/b:stat")
    assert (route.operation_id, values) == ("FeatureService_GetThing5", {"id": "x"})
    route, values = router.find("GET", "/v1/files/x/a/b")
    assert (route.operation_id, values) == ("FeatureService_GetThing4", {"path": "x/a/b"})


def test_router_reports_404_and_405():
    router = Router(routes_of([feature_service.service()]))
    with pytest.raises(GatewayError) as missing:
        router.find("GET", "/v2/nothing")
    assert missing.value.http_status == 404
    with pytest.raises(GatewayError) as wrong_method:
        router.find("POST", "/v1/things/t1")
    assert wrong_method.value.http_status == 405
    assert wrong_method.value.headers == {"Allow": "GET, PATCH, PUT"}


_packages = itertools.count()


def _service_with_rule(rule: http_pb2.HttpRule, *, streaming: bool = False):
    """A one-method service on FeatureService's messages, annotated with `rule`."""
    feature_service.service()  # loads feature.proto, whose Thing is the request and response
    package = f"routetest{next(_packages)}"
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{package}.proto",
        package=package,
        dependency=["feature.proto", "google/api/annotations.proto"],
        syntax="proto3",
    )
    method = file.service.add(name="Svc").method.add(
        name="Call", input_type=".gatewaytest.v1.Thing", output_type=".gatewaytest.v1.Thing"
    )
    method.server_streaming = streaming
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    pool = descriptor_pool.Default()
    pool.AddSerializedFile(file.SerializeToString())
    return pool.FindServiceByName(f"{package}.Svc")


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (http_pb2.HttpRule(get="/v1/{nope}"), "'nope' is not a singular request field"),
        (http_pb2.HttpRule(get="/v1/{tags}"), "'tags' is not a singular request field"),
        (http_pb2.HttpRule(get="/v1/{nested}"), "'nested' is not a singular request field"),
        (http_pb2.HttpRule(post="/v1/x", body="nope"), "body 'nope' is not a top-level field"),
        (http_pb2.HttpRule(post="/v1/{id}", body="id"), "body 'id' is also bound by the path"),
        (http_pb2.HttpRule(get="/v1/x", response_body="nope"), "response_body 'nope'"),
        (http_pb2.HttpRule(body="*"), "no HTTP method and path"),
        (
            http_pb2.HttpRule(
                get="/v1/x",
                additional_bindings=[
                    http_pb2.HttpRule(
                        get="/v1/y", additional_bindings=[http_pb2.HttpRule(get="/z")]
                    )
                ],
            ),
            "may not nest",
        ),
    ],
    ids=[
        "unknown-variable",
        "repeated-variable",
        "message-variable",
        "unknown-body",
        "body-in-path",
        "unknown-response-body",
        "no-pattern",
        "nested-bindings",
    ],
)
def test_annotations_the_gateway_cannot_serve_fail_at_startup(rule, problem):
    service = _service_with_rule(rule)
    with pytest.raises(RouteError, match=problem):
        routes_of([service])


def test_streaming_methods_stay_grpc_only():
    service = _service_with_rule(http_pb2.HttpRule(get="/v1/x"), streaming=True)
    assert routes_of([service]) == []
