"""sundial.logs: text lines carry what JSON lines carry (extra fields, the request id)."""

import json
import logging

import pytest

from sundial.logs import JsonFormatter, TextFormatter, request_id_var


def _record(message="fired", **extra):
    record = logging.makeLogRecord({"name": "sundial.engine", "levelname": "INFO", "msg": message})
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_text_lines_end_with_the_extra_fields_as_key_value_pairs():
    text = TextFormatter().format(_record(schedule_id="sched_1", lag_seconds=0.25))
    assert text.endswith("sundial.engine: fired schedule_id=sched_1 lag_seconds=0.25")


def test_text_values_with_spaces_or_quotes_are_quoted():
    text = TextFormatter().format(_record(reason='previous "one" in flight', empty=""))
    assert text.endswith('reason="previous \\"one\\" in flight" empty=""')


def test_a_line_without_extras_is_the_message_alone():
    assert TextFormatter().format(_record("started")).endswith("sundial.engine: started")


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_lines_written_during_a_call_carry_its_request_id(formatter):
    token = request_id_var.set("req_42")
    try:
        line = formatter.format(_record("objective retried"))
    finally:
        request_id_var.reset(token)
    if isinstance(formatter, JsonFormatter):
        assert json.loads(line)["request_id"] == "req_42"
    else:
        assert line.endswith("objective retried request_id=req_42")


def test_a_request_id_given_as_extra_is_not_repeated():
    token = request_id_var.set("req_ctx")
    try:
        text = TextFormatter().format(_record("rpc", request_id="req_given"))
    finally:
        request_id_var.reset(token)
    assert text.endswith("rpc request_id=req_given")
