"""Path templates: the google.api.http grammar, matching, decoding, OpenAPI form."""

import pytest

from sundial.gateway.templates import DEEP, LITERAL, SINGLE, PathTemplate, TemplateError


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v1/things", "/v1/things", {}),
        ("/v1/things/{id}", "/v1/things/t1", {"id": "t1"}),
        ("/v1/things/{id}", "/v1/things/a%20b%2Fc", {"id": "a b/c"}),
        ("/v1/{name=shelves/*}", "/v1/shelves/s1", {"name": "shelves/s1"}),
        (
            "/v1/{name=shelves/*/things/*}",
            "/v1/shelves/s1/things/t1",
            {"name": "shelves/s1/things/t1"},
        ),
        ("/v1/{name=shelves/*}", "/v1/shelves/a%2Fb", {"name": "shelves/a%2Fb"}),
        ("/v1/{name=shelves/*}", "/v1/shelves/a%2fb", {"name": "shelves/a%2Fb"}),
        ("/v1/{path=**}", "/v1/a/b/c", {"path": "a/b/c"}),
        ("/v1/{path=**}", "/v1", {"path": ""}),
        ("/v1/{a}/**/{b}", "/v1/x/1/2/3/y", {"a": "x", "b": "y"}),
        ("/v1/{a}/**/{b}", "/v1/x/y", {"a": "x", "b": "y"}),
        ("/v1/{a.b.c}", "/v1/deep", {"a.b.c": "deep"}),
        ("/v1/things/{id}:pause", "/v1/things/t1:pause", {"id": "t1"}),
        ("/v1/things/{id}:pause", "/v1/things/t:1:pause", {"id": "t:1"}),
        ("/v1/{name=things/*}:pause", "/v1/things/t1:pause", {"name": "things/t1"}),
        ("/v1/things/{id}:pause", "/v1/things/t1%3Apause", {"id": "t1"}),
        ("/v1/things/{id}:pause", "/v1/things/t1%3apause", {"id": "t1"}),
        ("/v1/things/{id}:pause", "/v1/things/t%3A1%3Apause", {"id": "t:1"}),
        ("/v1/things:batch", "/v1/things:batch", {}),
        ("/v1/t%20x/{id}", "/v1/t%20x/1", {"id": "1"}),
        ("/v1/*/{id}", "/v1/anything/1", {"id": "1"}),
    ],
)
def test_match(template, path, expected):
    assert PathTemplate.parse(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/v1/things", "/v1/things/"),
        ("/v1/things/{id}", "/v1/things"),
        ("/v1/things/{id}", "/v1/things/"),
        ("/v1/things/{id}", "/v1/things/a/b"),
        ("/v1/things/{id}", "/v2/things/a"),
        ("/v1/things/{id}:pause", "/v1/things/t1"),
        ("/v1/things/{id}:pause", "/v1/things/t1:resume"),
        ("/v1/things/{id}:pause", "/v1/things/t1%3Aresume"),
        ("/v1/things/{id}:pause", "/v1/things/t1%253Apause"),
        ("/v1/{a}/**/{b}", "/v1/x"),
        ("/v1/things/{id}", "v1/things/a"),
    ],
)
def test_no_match(template, path):
    assert PathTemplate.parse(template).match(path) is None


def test_parse_structure():
    template = PathTemplate.parse("/v1/{name=shelves/*/things/**}:move")
    assert template.verb == "move"
    assert [s.kind for s in template.segments] == [LITERAL, LITERAL, SINGLE, LITERAL, DEEP]
    (variable,) = template.variables
    assert (variable.field_path, variable.start, variable.end) == ("name", 1, 5)
    assert variable.multi_segment


@pytest.mark.parametrize(
    "template",
    [
        "v1/things",
        "/v1/{id",
        "/v1/{id}}",
        "/v1/{a={b}}",
        "/v1/{1d}",
        "/v1/{a..b}",
        "/v1/**/**",
        "/v1/things:",
        "/v1/{id}:a/b",
        "/v1/th{ing",
        "/v1//things",
    ],
)
def test_invalid_templates_are_rejected(template):
    with pytest.raises(TemplateError, match="invalid path template"):
        PathTemplate.parse(template)


def test_precedence_puts_verbs_then_literals_first():
    texts = ["/v1/{a}/{b}", "/v1/things/{b}", "/v1/{path=**}", "/v1/{a}/{b}:go"]
    ordered = sorted((PathTemplate.parse(t) for t in texts), key=lambda t: t.precedence)
    assert [t.text for t in ordered] == [
        "/v1/{a}/{b}:go",
        "/v1/things/{b}",
        "/v1/{a}/{b}",
        "/v1/{path=**}",
    ]


def test_openapi_path_names_variables():
    template = PathTemplate.parse("/v1/{workspace_id}/x/{name=shelves/*}:go")
    path = template.openapi_path({"workspace_id": "workspaceId", "name": "name"})
    assert path == "/v1/{workspaceId}/x/{name}:go"
