"""The OpenAPI document: valid OpenAPI 3.0, built from the descriptors, committed and current."""

import json
from pathlib import Path

import jsonschema
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30

from sundial.api.grpc_server import SERVICE_NAMES
from sundial.gateway import Gateway
from sundial.gateway.openapi import encode_document, openapi_document
from sundial.gateway.routes import discover_services, routes_of
from tests.gateway import feature_service

COMMITTED = Path(__file__).parents[2] / "openapi" / "sundial.openapi.json"


@pytest.fixture(scope="module")
def document():
    return openapi_document(routes_of(discover_services()))


@pytest.fixture(scope="module")
def feature_document():
    return openapi_document(routes_of([feature_service.service()]))


def test_committed_document_is_current(document):
    # What `make check-openapi` checks in CI; `make openapi` rewrites the file.
    assert COMMITTED.read_bytes() == encode_document(document), "run `make openapi`"


def test_the_served_document_is_the_committed_one():
    gateway = Gateway(services=SERVICE_NAMES, readiness=lambda: True)
    assert gateway.openapi == COMMITTED.read_bytes()


@pytest.mark.parametrize("name", ["document", "feature_document"])
def test_is_valid_openapi_3_0(name, request):
    jsonschema.Draft4Validator(OPENAPI_30).validate(request.getfixturevalue(name))


def test_seed_001_path_and_camel_case_schemas(document):
    create = document["paths"]["/v1/workspaces/{workspaceId}/agents/{agentId}/schedules"]["post"]
    assert [p["name"] for p in create["parameters"]] == ["workspaceId", "agentId"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"metadata", "spec", "requestId", "validateOnly"}
    assert body["required"] == ["metadata", "spec"]
    spec = document["components"]["schemas"]["sundial.v1.AgentScheduleSpec"]
    assert {"initialMessage", "overlapPolicy", "variationId"} <= set(spec["properties"])
    assert spec["additionalProperties"] is False


def test_output_only_fields_are_read_only(document):
    schemas = document["components"]["schemas"]
    metadata = schemas["sundial.v1.ResourceMetadata"]["properties"]
    assert metadata["id"]["readOnly"] is True
    assert "readOnly" not in metadata["name"]
    info = schemas["sundial.v1.AgentSchedule"]["properties"]["info"]
    assert info == {
        "allOf": [{"$ref": "#/components/schemas/sundial.v1.AgentScheduleInfo"}],
        "readOnly": True,
    }


def test_enums_are_listed_by_name(document):
    overlap = document["components"]["schemas"]["sundial.v1.OverlapPolicy"]
    assert overlap["type"] == "string"
    assert "OVERLAP_POLICY_SKIP" in overlap["enum"]


def test_every_operation_answers_errors_with_status(document):
    error = document["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/google.rpc.Status"}
    status = document["components"]["schemas"]["google.rpc.Status"]["properties"]
    assert set(status) == {"code", "message", "details"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            # The health endpoints answer their own small document, never a Status.
            if "operationId" in operation and operation["tags"] != ["Health"]:
                assert operation["responses"]["default"] == {
                    "$ref": "#/components/responses/Error"
                }, (method, path)


def test_every_operation_has_its_own_operation_id(document):
    ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))
    assert {"Health_Liveness", "Health_LivenessHead", "Health_Readiness"} <= set(ids)


def test_query_parameters_by_kind(feature_document):
    get = feature_document["paths"]["/v1/things/{id}"]["get"]
    parameters = {p["name"]: p for p in get["parameters"]}
    assert parameters["id"]["in"] == "path"
    assert parameters["tags"] == {
        "name": "tags",
        "in": "query",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    }
    assert parameters["when"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["big"]["schema"] == {"type": "string", "format": "int64"}
    assert parameters["nested.child.label"]["in"] == "query"
    assert parameters["color"]["schema"] == {"$ref": "#/components/schemas/gatewaytest.v1.Color"}
    # Maps, Struct and repeated messages cannot be query parameters.
    assert not {"labels", "extra", "children", "byNumber"} & set(parameters)


def test_body_field_and_response_body(feature_document):
    create = feature_document["paths"]["/v1/{parent}/things"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/gatewaytest.v1.Thing"}
    assert [p["name"] for p in create["parameters"]] == ["parent", "requestId"]
    assert "shelves/[^/]+" in create["parameters"][0]["schema"]["description"]
    tags = feature_document["paths"]["/v1/things/{id}/tags"]["get"]["responses"]["200"]
    assert tags["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_document_is_deterministic():
    first = encode_document(openapi_document(routes_of(discover_services())))
    second = encode_document(openapi_document(list(reversed(routes_of(discover_services())))))
    assert first == second
    assert json.loads(first)["info"]["title"] == "Sundial"
