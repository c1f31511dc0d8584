"""The OpenAPI document: valid OpenAPI 3.0, built from the descriptors, committed and current,
described by the proto comments, with every error response, open response schemas, update
bodies that require nothing and the README's examples (which the server accepts)."""

import json
from pathlib import Path

import jsonschema
import pytest
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from schemathesis.specs.openapi.definitions import OPENAPI_30

from sundial.api.grpc_server import SERVICE_NAMES
from sundial.gateway import Gateway
from sundial.gateway.http_errors import HTTP_STATUS_OF_CODE
from sundial.gateway.openapi import encode_document, openapi_document, summary_of
from sundial.gateway.openapi_examples import REQUEST_EXAMPLES, SCHEMA_EXAMPLES
from sundial.gateway.openapi_schemas import Components
from sundial.gateway.proto_comments import ProtoComments
from sundial.gateway.routes import discover_services, routes_of
from tests.gateway import feature_service

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "openapi" / "sundial.openapi.json"
STATUS_REF = {"$ref": "#/components/schemas/google.rpc.Status"}


@pytest.fixture(scope="module")
def document():
    return openapi_document(routes_of(discover_services()))


@pytest.fixture(scope="module")
def feature_document():
    # feature.proto's descriptors come with no comments: names stand in for descriptions.
    return openapi_document(routes_of([feature_service.service()]), comments=ProtoComments())


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
    # A request body takes no unknown field; a message schema, shared with responses, is open.
    assert body["additionalProperties"] is False
    spec = document["components"]["schemas"]["sundial.v1.AgentScheduleSpec"]
    assert {"initialMessage", "overlapPolicy", "variationId"} <= set(spec["properties"])
    assert "additionalProperties" not in spec


def test_output_only_fields_are_read_only(document):
    schemas = document["components"]["schemas"]
    metadata = schemas["sundial.v1.ResourceMetadata"]["properties"]
    assert metadata["id"]["readOnly"] is True
    assert "readOnly" not in metadata["name"]
    info = schemas["sundial.v1.AgentSchedule"]["properties"]["info"]
    assert info == {
        "allOf": [{"$ref": "#/components/schemas/sundial.v1.AgentScheduleInfo"}],
        "readOnly": True,
        "description": "Read-only runtime facts computed by the server.",
    }


def test_enums_are_listed_by_name(document):
    overlap = document["components"]["schemas"]["sundial.v1.OverlapPolicy"]
    assert overlap["type"] == "string"
    assert "OVERLAP_POLICY_SKIP" in overlap["enum"]
    # Each value with its comment, after the enum's own.
    assert overlap["description"].startswith("What to do when a fire comes while")
    assert (
        "\n- `OVERLAP_POLICY_SKIP`: Drop the new fire and count it in skipped_fires.\n"
        in (overlap["description"])
    )


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
        "description": "tags",  # feature.proto has no comments: the name stands in
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
    assert "shelves/[^/]+" in create["parameters"][0]["description"]
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


def _rpc_operations(document):
    """(path, method, operation) of every RPC's operation (the health endpoints are not)."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation["tags"] != ["Health"]:
                yield path, method, operation


def _resolve(document, item):
    while "$ref" in item:
        *_, section, name = item["$ref"].split("/")
        item = document["components"][section][name]
    return item


def _reachable(document, schema):
    """Every schema object in `schema`, through $refs, each once."""
    seen, stack = set(), [schema]
    while stack:
        item = stack.pop()
        if "$ref" in item:
            if item["$ref"] in seen:
                continue
            seen.add(item["$ref"])
            item = _resolve(document, item)
        yield item
        stack += item.get("properties", {}).values()
        stack += item.get("allOf", [])
        stack += [
            item[k] for k in ("items", "additionalProperties") if isinstance(item.get(k), dict)
        ]


def test_every_operation_parameter_schema_and_field_is_described(document):
    missing = []
    for name, schema in document["components"]["schemas"].items():
        if not schema.get("description"):
            missing.append(name)
        missing += [
            f"{name}.{field}"
            for field, property_schema in schema.get("properties", {}).items()
            if not property_schema.get("description")
        ]
    for path, method, operation in _rpc_operations(document):
        where = f"{method} {path}"
        if not operation.get("description") or not operation.get("summary"):
            missing.append(where)
        missing += [
            f"{where} {p['name']}"
            for p in operation.get("parameters", [])
            if p.get("description", p["name"]) == p["name"]
        ]
        body = operation.get("requestBody", {"description": "none"})
        if not body.get("description"):
            missing.append(f"{where} body")
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        missing += [
            f"{where} body.{field}"
            for field, property_schema in schema.get("properties", {}).items()
            if not property_schema.get("description")
        ]
    assert missing == []
    # A proto element without a comment falls back to its name; every ours has one.


def test_descriptions_are_the_proto_comments_without_markers(document):
    create = document["paths"]["/v1/workspaces/{workspaceId}/agents"]["post"]
    assert create["summary"] == "Creates an agent"
    assert create["description"] == "Creates an agent."
    body = create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["requestId"]["description"] == (
        "Idempotency key: a retry with the same key within 24 hours returns the\n"
        "agent the first call created."
    )
    # As written in the proto, after `// `.
    proto = (ROOT / "proto/sundial/v1/agent_service.proto").read_text()
    assert "  // Idempotency key: a retry with the same key within 24 hours returns the\n" in proto
    workspace_id = create["parameters"][0]
    assert workspace_id["description"] == "Workspace to create the agent in."
    status = document["components"]["schemas"]["google.rpc.Status"]
    assert status["description"].startswith("The `Status` type defines a logical error model")
    text = encode_document(document).decode()
    assert "//" not in text.replace("://", "")


@pytest.mark.parametrize(
    ("comment", "summary"),
    [
        ("Creates an agent.", "Creates an agent"),
        ("Updates a schedule. Never fires it.", "Updates a schedule"),
        ("Lists keys, e.g. revoked ones.\nMore.", "Lists keys, e.g. revoked ones"),
        ("Two\nlines. Then.", "Two lines"),
        ("No period", "No period"),
    ],
)
def test_summary_is_the_first_sentence(comment, summary):
    assert summary_of(comment) == summary


def test_tags_describe_each_service(document):
    tags = {t["name"]: t["description"] for t in document["tags"]}
    assert tags["AgentService"] == "Manages agents, the targets of schedules."
    used = {
        operation["tags"][0] for ops in document["paths"].values() for operation in ops.values()
    }
    assert used == set(tags)


def test_servers_start_with_the_one_serving_the_document(document):
    # Relative: the document is right wherever it is fetched from (any --http-address,
    # behind a proxy); then the default local address, for a document read from a file.
    assert [s["url"] for s in document["servers"]] == ["/", "http://127.0.0.1:8080"]


def test_every_rpc_operation_answers_errors_with_status(document):
    responses = document["components"]["responses"]
    for name, response in responses.items():
        assert response["content"]["application/json"]["schema"] == STATUS_REF, name
        assert response["description"], name
    explicit = {"400", "401", "403", "404", "429", "500", "503", "504"}
    for path, method, operation in _rpc_operations(document):
        codes = set(operation["responses"])
        assert explicit | {"200", "default"} <= codes, (method, path)
        assert ("409" in codes) == (method != "get"), (method, path)
        assert ("413" in codes) == ("requestBody" in operation), (method, path)
        for code, response in operation["responses"].items():
            if code not in ("200", "413"):
                assert _resolve(document, response) in responses.values()
    # Every HTTP status the gateway maps a gRPC code to is explicit or named by `default`.
    mapped = {str(s) for s in HTTP_STATUS_OF_CODE.values()} - {"200"}
    named_by_default = mapped - explicit - {"409"}
    assert named_by_default == {"499", "501"}
    for status in [*named_by_default, "405"]:
        assert status in responses["OtherError"]["description"]
    headers = {name: set(r.get("headers", {})) for name, r in responses.items()}
    assert headers["Unauthenticated"] == {"WWW-Authenticate"}
    assert headers["TooManyRequests"] == headers["Unavailable"] == {"Retry-After"}


def test_status_schema_is_the_gateway_error_body(document):
    status = document["components"]["schemas"]["google.rpc.Status"]
    assert set(status["properties"]) == {"code", "message", "details"}
    detail = status["properties"]["details"]["items"]
    assert detail["properties"]["@type"]["type"] == "string"
    assert detail["additionalProperties"] is True


def test_if_match_and_etag_where_the_gateway_applies_them(document):
    agent = document["paths"]["/v1/workspaces/{workspaceId}/agents/{agentId}"]
    for method in ("patch", "delete"):
        names = [p["name"] for p in agent[method]["parameters"] if p["in"] == "header"]
        assert names == ["If-Match"], method
        assert "412" in agent[method]["responses"]
    assert "412" not in agent["get"]["responses"]
    assert agent["get"]["responses"]["200"]["headers"] == {
        "ETag": {"$ref": "#/components/headers/ETag"}
    }
    listing = document["paths"]["/v1/workspaces/{workspaceId}/agents"]["get"]
    assert "headers" not in listing["responses"]["200"]


def test_update_bodies_require_nothing(document):
    patches = [op for _, method, op in _rpc_operations(document) if method == "patch"]
    assert len(patches) == 5  # agents, schedules, profiles, webhooks, chains
    for operation in patches:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        for item in _reachable(document, schema):
            assert "required" not in item, operation["operationId"]
    schemas = document["components"]["schemas"]
    spec, partial = (
        schemas["sundial.v1.AgentScheduleSpec"],
        schemas["sundial.v1.AgentScheduleSpec.Partial"],
    )
    assert spec["required"] == ["initialMessage", "schedule"]
    # The same properties, but a nested message with required fields (`deliveries`'
    # ResultDelivery) is its Partial variant too.
    unpartial = json.loads(json.dumps(partial["properties"]).replace('.Partial"', '"'))
    assert unpartial == spec["properties"]
    assert partial["properties"]["deliveries"]["items"]["$ref"].endswith("ResultDelivery.Partial")


def test_response_schemas_are_open(document):
    # A client must tolerate fields a later version adds: nothing closed in a response.
    checked = 0
    for _, _, operation in _rpc_operations(document):
        for response in operation["responses"].values():
            for media in _resolve(document, response).get("content", {}).values():
                for item in _reachable(document, media["schema"]):
                    assert item.get("additionalProperties") is not False, operation["operationId"]
                    checked += 1
    assert checked > 100


def test_readme_examples_are_on_the_schedule_spec_and_request_bodies(document):
    schemas = document["components"]["schemas"]
    for name, example in SCHEMA_EXAMPLES.items():
        assert schemas[name]["example"] == example
    readme = (ROOT / "README.md").read_text()
    spec = schemas["sundial.v1.AgentScheduleSpec"]["example"]
    assert f'"initialMessage": "{spec["initialMessage"]}"' in readme
    assert json.dumps(spec["schedule"]) in readme
    operations = {
        op["operationId"]: op for ops in document["paths"].values() for op in ops.values()
    }
    for operation_id, examples in REQUEST_EXAMPLES.items():
        media = operations[operation_id]["requestBody"]["content"]["application/json"]
        assert media["examples"] == examples


def test_request_examples_are_accepted_by_the_server(rest):
    def value(operation_id, name):
        return REQUEST_EXAMPLES[operation_id][name]["value"]

    reply = rest("POST", rest.agents(), value("AgentService_CreateAgent", "digest"))
    assert reply.status == 200, reply.body
    schedules = rest.schedules(reply.json()["metadata"]["id"])
    created = []
    for name in REQUEST_EXAMPLES["AgentScheduleService_CreateAgentSchedule"]:
        reply = rest("POST", schedules, value("AgentScheduleService_CreateAgentSchedule", name))
        assert reply.status == 200, (name, reply.body)
        created.append(reply.json()["metadata"]["id"])
    schedule = f"{schedules}/{created[0]}"
    reply = rest("PATCH", schedule, value("AgentScheduleService_UpdateAgentSchedule", "notes"))
    assert reply.status == 200, reply.body
    assert reply.json()["spec"]["notes"] == "on call"
    reply = rest(
        "POST", f"{schedule}:pause", value("AgentScheduleService_PauseAgentSchedule", "holiday")
    )
    assert reply.status == 200, reply.body
    assert reply.json()["spec"]["notes"] == "holiday"
    reply = rest(
        "POST", "/v1/schedules:parse", value("AgentScheduleService_ParseSchedule", "words")
    )
    assert reply.status == 200, reply.body
    assert reply.json()["schedule"]["timezone"] == "America/Los_Angeles"


def _message_with_partial_named_nested():
    """`collide.v1.Thing` (with a REQUIRED field) and a nested message `Thing.Partial`."""
    file = descriptor_pb2.FileDescriptorProto(
        name="collide/v1/collide.proto",
        package="collide.v1",
        syntax="proto3",
        dependency=["google/api/field_behavior.proto"],
    )
    thing = file.message_type.add(name="Thing")
    thing.nested_type.add(name="Partial")
    proto = descriptor_pb2.FieldDescriptorProto
    label = proto.LABEL_OPTIONAL
    name = thing.field.add(name="name", number=1, label=label, type=proto.TYPE_STRING)
    name.options.Extensions[field_behavior_pb2.field_behavior].append(field_behavior_pb2.REQUIRED)
    nested = thing.field.add(name="partial", number=2, label=label, type=proto.TYPE_MESSAGE)
    nested.type_name = ".collide.v1.Thing.Partial"
    pool = descriptor_pool.Default()  # where field_behavior is, as for the real protos
    pool.Add(file)
    return pool.FindMessageTypeByName("collide.v1.Thing")


def test_a_message_named_like_a_partial_schema_is_refused():
    thing = _message_with_partial_named_nested()
    components = Components(ProtoComments(), {})
    components.ref(thing)  # Thing, and its nested Thing.Partial
    with pytest.raises(ValueError, match=r"would share schema collide\.v1\.Thing\.Partial"):
        components.ref(thing, partial=True)
