"""A failed API call as a tool error: each field violation is named by the tool argument
that filled the field (longest matching prefix), and the text says what to do next."""

import logging

import pytest

from sundial.api.call_errors import ApiError, FieldViolation
from sundial.mcp.tool_errors import api_error_result, reports_api_errors

ARGUMENTS = {
    "spec.schedule": "cadence",
    "spec.schedule.timezone": "timezone",
    "spec.data": "data",
    "text": "cadence",
}


@pytest.mark.parametrize(
    ("field", "argument"),
    [
        ("spec.schedule.cron_expressions[0]", "cadence"),
        ("spec.schedule.timezone", "timezone"),
        ("spec.schedule", "cadence"),
        ("spec.data.items[2]", "data"),
        ("spec.data[0]", "data"),
        ("spec.database", None),  # a prefix of the name is not a parent field
        ("text", "cadence"),
        ("metadata.name", None),
    ],
    ids=str,
)
def test_a_violation_names_the_argument_that_filled_its_field(field, argument):
    error = ApiError("INVALID_ARGUMENT", "bad", (FieldViolation(field, "no good"),))
    result = api_error_result(error, ARGUMENTS)
    assert result.is_error
    (violation,) = result.structured_content["error"]["field_violations"]
    assert violation == {"field": field, "argument": argument, "description": "no good"}
    assert result.content[0].text.splitlines()[1] == f"- {argument or field}: no good"


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("PERMISSION_DENIED", "Other arguments will not help"),
        ("UNAUTHENTICATED", "did not accept the API key"),
        ("NOT_FOUND", "list_scheduled_runs and list_runs show the ones that exist"),
        ("ABORTED", "read it again, then retry with its new etag"),
        ("UNAVAILABLE", "retrying later may work"),
    ],
)
def test_the_text_says_what_to_do_next(code, advice):
    result = api_error_result(ApiError(code, "the server's words"), {})
    lines = result.content[0].text.splitlines()
    assert lines[0] == f"{code}: the server's words"
    assert advice in lines[-1]
    assert result.structured_content == {
        "error": {"code": code, "message": "the server's words", "field_violations": []}
    }


def test_every_call_is_logged_with_its_tool_and_code_but_not_its_arguments(caplog):
    @reports_api_errors({})
    def get_thing(secret_argument: str) -> str:
        if secret_argument == "missing":
            raise ApiError("NOT_FOUND", "no such thing")
        return "found"

    caplog.set_level(logging.INFO, logger="sundial.mcp")
    assert get_thing("present") == "found"
    assert get_thing("missing").is_error
    assert [(r.message, r.tool, r.code) for r in caplog.records] == [
        ("tool call", "get_thing", "OK"),
        ("tool call failed", "get_thing", "NOT_FOUND"),
    ]
    assert "present" not in caplog.text
    assert "missing" not in caplog.text
